// One resource's driver: the engine's actions carried out on the disk, the link and the device
// (see resource_driver.h).
#include "replica/resource_driver.h"

#include <asio.hpp>
#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "replica/backing_disk.h"
#include "replica/device_stack.h"
#include "replica/local_io_worker.h"
#include "replica/metadata_store.h"
#include "replica/peer_link.h"
#include "replica/replica_engine.h"

namespace hapbx::replica {

struct ResourceDriver::TimerBox {
  explicit TimerBox(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;
  std::optional<core::TimePoint> armed;
};

struct ResourceDriver::Waiter {
  enum class Kind { Connect, Sync } kind;
  Reply reply;
  std::unique_ptr<asio::steady_timer> timer;
  bool done = false;
};

namespace {


std::string host_port(const HostConfig& h) { return fmt::format("{}:{}", h.address, h.port); }

EngineConfig engine_config(const ResourceConfig& c, const std::string& node, const std::string& peer) {
  EngineConfig e;
  e.resource = c.name;
  e.node = node;
  e.peer = peer;
  e.protocol = c.protocol;
  e.policies.after_sb_0pri = c.after_sb_0pri_on(node);
  e.policies.after_sb_1pri = c.after_sb_1pri;
  e.policies.after_sb_2pri = c.after_sb_2pri;
  e.resync_rate = c.resync_rate_bytes_per_s;
  e.csums_alg = c.csums_alg;
  e.verify_alg = c.verify_alg;
  e.integrity_alg = c.data_integrity_alg;
  e.auth_alg = c.cram_hmac_alg;
  e.shared_secret = c.shared_secret;
  e.ping_int = c.ping_int;
  e.ping_timeout = c.ping_timeout;
  e.ack_timeout = c.timeout;
  e.connect_int = c.connect_int;
  auto rng = std::make_shared<std::mt19937_64>(std::random_device{}() ^
                                               static_cast<std::uint64_t>(
                                                   std::chrono::steady_clock::now().time_since_epoch().count()));
  e.random64 = [rng] { return (*rng)(); };
  e.wall_ms = [] {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
  };
  return e;
}

}  // namespace

ResourceDriver::ResourceDriver(asio::io_context& io, ResourceConfig config, DriverOptions options)
    : io_(io), config_(std::move(config)), options_(std::move(options)),
      timer_(std::make_unique<TimerBox>(io)) {
  host_ = config_.host(options_.node);
  peer_ = config_.peer_of(options_.node);
}

ResourceDriver::~ResourceDriver() {
  if (device_thread_.joinable()) device_thread_.join();
  if (link_) link_->shutdown();
  for (auto& w : waiters_) {
    if (w->timer) w->timer->cancel();
  }
  if (worker_) worker_->stop();
}

core::TimePoint ResourceDriver::now() const { return std::chrono::steady_clock::now(); }

std::string ResourceDriver::no_disk_message() const {
  return fmt::format("{}: no disk attached (run 'hapbx replica attach {}'{})", config_.name,
                     config_.name, note_.empty() ? std::string() : "; " + note_);
}

Status ResourceDriver::start() {
  if (!host_ || !peer_) {
    return make_error(fmt::format("node '{}' is not in {} of {}", options_.node, config_.name,
                                  config_.file));
  }
  PeerLinkOptions lo;
  lo.resource = config_.name;
  lo.local_address = host_->address;
  lo.local_port = host_->port;
  lo.peer_address = peer_->address;
  lo.peer_port = peer_->port;
  lo.connect_interval = config_.connect_int;
  PeerLinkCallbacks cb;
  cb.wants_connection = [this] { return engine_ && !stopping_ && engine_->wants_connection(); };
  cb.on_up = [this] { on_link_up(); };
  cb.on_message = [this](PeerMessage&& m) { on_link_message(std::move(m)); };
  cb.on_lost = [this](std::string reason) { on_link_lost(std::move(reason)); };
  link_ = std::make_unique<PeerLink>(io_, lo, std::move(cb));
  if (Status s = link_->listen(); !s) return s;

  if (Status s = attach(); !s) {
    note_ = s.error().message;
    spdlog::warn("{}: stays Diskless: {}", config_.name, s.error().message);
    return {};
  }
  if (Status s = connect(false); !s) spdlog::warn("{}", s.error().message);
  return {};
}

// ---- metadata ----

Result<std::string> ResourceDriver::create_md(bool force) {
  if (engine_) {
    return make_error(fmt::format("{}: create-md only while detached (run 'hapbx replica down {}' first)",
                                  config_.name, config_.name));
  }
  const std::string meta_path = host_->meta_internal ? std::string() : host_->meta_disk;
  if (Status s = MetadataStore::create(host_->disk, meta_path, config_.name,
                                       static_cast<std::size_t>(config_.al_extents), force);
      !s) {
    return make_error(fmt::format("{}: create-md refused: {}", config_.name, s.error().message));
  }
  auto check = MetadataStore::open(host_->disk, meta_path, config_.name);
  if (!check) return make_error(fmt::format("{}: metadata written but unreadable: {}", config_.name, check.error().message));
  note_.clear();
  return fmt::format("{}: new metadata on {}: {} bytes of data ({} blocks of 4 KiB), {} activity log slots\n",
                     config_.name, host_->meta_internal ? host_->disk : host_->meta_disk,
                     check->layout().data_size, check->layout().data_blocks(), config_.al_extents);
}

Status ResourceDriver::attach() {
  if (engine_) return make_error(fmt::format("{}: already attached", config_.name));
  if (stopping_) return make_error(fmt::format("{}: replicad is stopping", config_.name));
  const std::string meta_path = host_->meta_internal ? std::string() : host_->meta_disk;
  auto store = MetadataStore::open(host_->disk, meta_path, config_.name);
  if (!store) {
    return make_error(fmt::format("{}: cannot attach: {}", config_.name, store.error().message));
  }
  auto disk = BackingDisk::open(host_->disk);
  if (!disk) return make_error(fmt::format("{}: cannot attach: {}", config_.name, disk.error().message));
  disk_ = std::move(disk).value();
  EngineDisk ed{store->superblock(), store->bitmap(), store->activity_log()};
  store_ = std::make_unique<MetadataStore>(std::move(store).value());
  const std::uint64_t gen = ++attach_gen_;
  worker_ = std::make_unique<LocalIoWorker>(
      config_.name, *disk_, [this, gen](std::function<void()> f) {
        // Runs on the worker thread: hand the completion to the loop. The driver outlives the
        // loop's handlers (it is destroyed after io.run() returns).
        asio::post(io_, [this, gen, f = std::move(f)] {
          if (gen == attach_gen_ && engine_) f();
        });
      });
  engine_ = std::make_unique<ReplicaEngine>(engine_config(config_, host_->name, peer_->name),
                                            std::move(ed), now());
  note_.clear();
  spdlog::info("{}: attached {} ({} bytes of data), disk {}", config_.name, host_->disk,
               engine_->data_size(), to_string(engine_->disk_state()));
  run_actions();
  return {};
}

Status ResourceDriver::detach_now(const char* why) {
  if (!engine_) return {};
  if (engine_->role() == Role::Primary) {
    return make_error(fmt::format("{}: cannot detach while Primary (run 'hapbx replica secondary {}')",
                                  config_.name, config_.name));
  }
  if (engine_->wants_connection() || link_->up()) {
    (void)engine_->disconnect(now());
    run_actions();
    link_->close("detaching");
  }
  // Every queued write and metadata update reaches the disk before it is closed.
  worker_->drain();
  worker_->stop();
  ++attach_gen_;
  engine_.reset();
  worker_.reset();
  store_.reset();
  disk_.reset();
  arm_timer();
  spdlog::info("{}: detached ({})", config_.name, why);
  check_waiters();
  return {};
}

Status ResourceDriver::detach() {
  if (!engine_) return make_error(fmt::format("{}: not attached", config_.name));
  if (device_busy_) return make_error(fmt::format("{}: busy (the device is being changed)", config_.name));
  return detach_now("admin");
}

// ---- connection ----

Status ResourceDriver::connect(bool discard_my_data) {
  if (!engine_) return make_error(no_disk_message());
  Status s = engine_->connect(discard_my_data, now());
  run_actions();
  if (s) link_->retry_now();
  return s;
}

Status ResourceDriver::disconnect() {
  if (!engine_) return make_error(no_disk_message());
  Status s = engine_->disconnect(now());
  run_actions();
  if (link_->up()) link_->close("admin disconnect");
  return s;
}

void ResourceDriver::on_link_up() {
  if (!engine_) {
    link_->close("no disk attached");
    return;
  }
  engine_->transport_up(now());
  run_actions();
}

void ResourceDriver::on_link_message(PeerMessage&& m) {
  if (!engine_) return;
  engine_->message(std::move(m), now());
  run_actions();
}

void ResourceDriver::on_link_lost(std::string reason) {
  if (!engine_) return;
  engine_->transport_down(std::move(reason), now());
  run_actions();
}

// ---- roles and the device ----

void ResourceDriver::primary(bool force, Reply reply) {
  if (!engine_) return reply(core::CommandResult::failure(no_disk_message()));
  if (device_busy_) return reply(core::CommandResult::failure(config_.name + ": busy (the device is being changed)"));
  if (engine_->role() == Role::Primary && stack_) {
    return reply(core::CommandResult::success(config_.name + " is already Primary\n"));
  }
  if (engine_->role() != Role::Primary) {
    Status s = engine_->promote(force, now());
    run_actions();  // a refusal may have pinged the peer (replica_engine.cpp, promote)
    if (!s) return reply(core::CommandResult::failure(fmt::format("{}: cannot become Primary: {}", config_.name, s.error().message)));
  }
  device_up_async([this, reply](Status s) {
    if (!s) {
      spdlog::error("{}: the device could not be brought up: {}", config_.name, s.error().message);
      if (engine_) {
        (void)engine_->demote(now());
        run_actions();
      }
      return reply(core::CommandResult::failure(fmt::format(
          "{}: the device could not be brought up, demoted again: {}", config_.name, s.error().message)));
    }
    reply(core::CommandResult::success(fmt::format("{} is Primary; device {}\n", config_.name,
                                                   host_->device)));
  });
}

void ResourceDriver::secondary(Reply reply) {
  if (!engine_) return reply(core::CommandResult::failure(no_disk_message()));
  if (device_busy_) return reply(core::CommandResult::failure(config_.name + ": busy (the device is being changed)"));
  auto demote = [this, reply] { demote_when_idle(reply, now() + std::chrono::seconds(10)); };
  if (!stack_) return demote();
  device_down_async([this, reply, demote](Status s) {
    if (!s) {
      return reply(core::CommandResult::failure(fmt::format("{} is in use: {}", config_.name,
                                                            s.error().message)));
    }
    demote();
  });
}

// With the device down no new request comes, but writes already answered (protocol A) may still
// wait for the peer's acknowledgement: the engine refuses to demote until they have it, so try
// again for a while before giving up.
void ResourceDriver::demote_when_idle(Reply reply, core::TimePoint deadline) {
  if (!engine_) return reply(core::CommandResult::failure(no_disk_message()));
  if (engine_->role() != Role::Primary) {
    return reply(core::CommandResult::success(config_.name + " is Secondary\n"));
  }
  Status s = engine_->demote(now());
  run_actions();
  if (s) return reply(core::CommandResult::success(config_.name + " is Secondary\n"));
  if (engine_->status(now()).pending_requests == 0 || now() >= deadline) {
    return reply(core::CommandResult::failure(s.error().message));
  }
  auto retry = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(20));
  retry->async_wait([this, retry, reply, deadline](const std::error_code& ec) {
    if (ec) return reply(core::CommandResult::failure(config_.name + ": demote cancelled"));
    demote_when_idle(reply, deadline);
  });
}

void ResourceDriver::device_up_async(std::function<void(Status)> done) {
  device_busy_ = true;
  if (device_thread_.joinable()) device_thread_.join();
  DeviceStackOptions o;
  o.runtime_dir = options_.run_dir;
  o.resource = config_.name;
  o.size_bytes = engine_->data_size();
  o.handler = this;
  o.device_path = host_->device;
  // Requests arrive while the stack comes up (LOOP_CONFIGURE fsyncs the FUSE file): they are
  // answered through rising_ meanwhile, so bring_up() runs on its own thread.
  rising_ = DeviceStack::prepare(o);
  DeviceStack* stack = rising_.get();
  device_thread_ = std::thread([this, stack, done = std::move(done)]() mutable {
    Status s = stack->bring_up();
    asio::post(io_, [this, s, done = std::move(done)]() mutable {
      finish_device_thread();
      device_busy_ = false;
      std::unique_ptr<DeviceStack> built = std::move(rising_);
      if (!s) return done(s);
      stack_ = std::move(built);
      spdlog::info("{}: device {} up ({} -> {})", config_.name, stack_->device_path(),
                   stack_->loop_path(), stack_->fuse_file_path());
      done({});
    });
  });
}

void ResourceDriver::device_down_async(std::function<void(Status)> done) {
  device_busy_ = true;
  if (device_thread_.joinable()) device_thread_.join();
  DeviceStack* stack = stack_.get();
  device_thread_ = std::thread([this, stack, done = std::move(done)]() mutable {
    Status s = stack->down();
    asio::post(io_, [this, s, done = std::move(done)]() mutable {
      finish_device_thread();
      device_busy_ = false;
      if (s) {
        stack_.reset();
        spdlog::info("{}: device {} down", config_.name, host_->device);
      }
      done(s);
    });
  });
}

void ResourceDriver::finish_device_thread() {
  if (device_thread_.joinable()) device_thread_.join();
}

void ResourceDriver::on_device_request(DeviceRequest&& r) {
  // FUSE thread: hand it to the loop and return at once.
  asio::post(io_, [this, r = std::move(r)]() mutable {
    if (!engine_) {
      complete_device_request(r.id, EIO, nullptr);
      return;
    }
    engine_->device_request(std::move(r), now());
    run_actions();
  });
}

void ResourceDriver::complete_device_request(std::uint64_t id, int error, const Payload& data) {
  DeviceStack* stack = stack_ ? stack_.get() : rising_.get();
  if (stack) {
    stack->complete(id, error,
                    data ? std::span<const std::uint8_t>(*data) : std::span<const std::uint8_t>());
  }
  // Otherwise the device is gone and its pending requests were failed by it.
}

void ResourceDriver::up(Reply reply) {
  if (!engine_) {
    if (Status s = attach(); !s) return reply(core::CommandResult::failure(s.error().message));
  }
  if (!engine_->wants_connection()) {
    if (Status s = connect(false); !s) return reply(core::CommandResult::failure(s.error().message));
  }
  reply(core::CommandResult::success(fmt::format("{} is up: {}, {}\n", config_.name,
                                                 to_string(engine_->disk_state()),
                                                 to_string(engine_->connection()))));
}

void ResourceDriver::down(Reply reply) {
  if (!engine_) return reply(core::CommandResult::success(config_.name + " is down\n"));
  secondary([this, reply](core::CommandResult r) {
    if (!r.ok) return reply(r);
    if (Status s = detach_now("down"); !s) return reply(core::CommandResult::failure(s.error().message));
    reply(core::CommandResult::success(config_.name + " is down\n"));
  });
}

// ---- verify, invalidate ----

Status ResourceDriver::verify() {
  if (!engine_) return make_error(no_disk_message());
  Status s = engine_->start_verify(now());
  run_actions();
  return s;
}

Status ResourceDriver::invalidate() {
  if (!engine_) return make_error(no_disk_message());
  Status s = engine_->invalidate(now());
  run_actions();
  return s;
}

Status ResourceDriver::invalidate_remote() {
  if (!engine_) return make_error(no_disk_message());
  Status s = engine_->invalidate_remote(now());
  run_actions();
  return s;
}

// ---- waiters ----

void ResourceDriver::wait_connect(core::Duration timeout, Reply reply) {
  auto w = std::make_shared<Waiter>();
  w->kind = Waiter::Kind::Connect;
  w->reply = std::move(reply);
  w->timer = std::make_unique<asio::steady_timer>(io_, timeout);
  std::weak_ptr<Waiter> weak = w;
  w->timer->async_wait([this, weak, timeout](const std::error_code& ec) {
    auto w2 = weak.lock();
    if (ec || !w2 || w2->done) return;
    w2->done = true;
    w2->reply(core::CommandResult::failure(fmt::format(
        "{}: not connected after {} s ({})", config_.name,
        std::chrono::duration_cast<std::chrono::seconds>(timeout).count(),
        engine_ ? std::string(to_string(engine_->connection())) : std::string("Diskless"))));
    check_waiters();
  });
  waiters_.push_back(std::move(w));
  check_waiters();
}

void ResourceDriver::wait_sync(core::Duration timeout, Reply reply) {
  auto w = std::make_shared<Waiter>();
  w->kind = Waiter::Kind::Sync;
  w->reply = std::move(reply);
  w->timer = std::make_unique<asio::steady_timer>(io_, timeout);
  std::weak_ptr<Waiter> weak = w;
  w->timer->async_wait([this, weak, timeout](const std::error_code& ec) {
    auto w2 = weak.lock();
    if (ec || !w2 || w2->done) return;
    w2->done = true;
    std::string state = "Diskless";
    if (engine_) {
      const EngineStatus s = engine_->status(now());
      state = fmt::format("{} {}/{}, {} KiB out of sync", to_string(s.connection),
                          to_string(s.disk), to_string(s.peer_disk), s.out_of_sync_bytes / 1024);
    }
    w2->reply(core::CommandResult::failure(fmt::format(
        "{}: not in sync after {} s ({})", config_.name,
        std::chrono::duration_cast<std::chrono::seconds>(timeout).count(), state)));
    check_waiters();
  });
  waiters_.push_back(std::move(w));
  check_waiters();
}

void ResourceDriver::check_waiters() {
  for (auto& w : waiters_) {
    if (w->done) continue;
    std::optional<core::CommandResult> answer;
    if (!engine_) {
      answer = core::CommandResult::failure(no_disk_message());
    } else {
      const ConnectionState cs = engine_->connection();
      const bool gave_up = cs == ConnectionState::StandAlone && !engine_->wants_connection();
      if (w->kind == Waiter::Kind::Connect) {
        if (is_connected(cs)) {
          answer = core::CommandResult::success(fmt::format("{}: {}\n", config_.name, to_string(cs)));
        }
      } else if (cs == ConnectionState::Connected && engine_->disk_state() == DiskState::UpToDate &&
                 engine_->peer_disk_state() == DiskState::UpToDate) {
        const EngineStatus s = engine_->status(now());
        answer = core::CommandResult::success(fmt::format(
            "{}: in sync (Connected UpToDate/UpToDate); resync sent {} received {} bytes\n",
            config_.name, s.counters.resync_bytes_sent, s.counters.resync_bytes_received));
      }
      if (!answer && gave_up) {
        const EngineStatus s = engine_->status(now());
        answer = core::CommandResult::failure(fmt::format(
            "{}: StandAlone{}{}", config_.name, s.split_brain ? " (split brain)" : "",
            s.last_event.empty() ? std::string() : ": " + s.last_event));
      }
    }
    if (answer) {
      w->done = true;
      if (w->timer) w->timer->cancel();
      auto reply = w->reply;
      reply(std::move(*answer));
    }
  }
  std::erase_if(waiters_, [](const auto& w) { return w->done; });
}

// ---- the action loop ----

void ResourceDriver::run_actions() {
  if (!engine_ || in_batch_) return;
  in_batch_ = true;
  for (int round = 0; round < 1000; ++round) {
    std::vector<Action> actions = engine_->take_actions();
    if (actions.empty()) break;
    for (auto& a : actions) {
      if (auto* io = std::get_if<action::LocalIo>(&a)) {
        LocalIoJob job;
        static_assert(static_cast<int>(LocalIoJob::Kind::Barrier) == static_cast<int>(action::LocalIo::Kind::Barrier));
        job.kind = static_cast<LocalIoJob::Kind>(io->kind);
        job.tag = io->tag;
        job.offset = io->offset;
        job.length = io->length;
        job.data = std::move(io->data);
        const std::uint64_t tag = io->tag;
        bool ok = worker_->submit_io(std::move(job), [this](std::uint64_t t, int error, Payload data) {
          engine_->local_io_done(t, error, std::move(data), now());
          run_actions();
        });
        if (!ok) {
          ++local_refused_;
          spdlog::error("{}: local I/O queue full ({} jobs, {} bytes): request failed with EIO",
                        config_.name, worker_->queued(), worker_->queued_bytes());
          const std::uint64_t gen = attach_gen_;
          asio::post(io_, [this, gen, tag] {
            if (gen != attach_gen_ || !engine_) return;
            engine_->local_io_done(tag, EIO, nullptr, now());
            run_actions();
          });
        }
      } else if (auto* send = std::get_if<action::Send>(&a)) {
        link_->send(send->message);
      } else if (auto* done = std::get_if<action::Complete>(&a)) {
        complete_device_request(done->id, done->error, done->data);
      } else if (std::holds_alternative<action::PersistSuperblock>(a)) {
        Superblock sb = engine_->superblock();
        MetadataStore* store = store_.get();
        std::string name = config_.name;
        worker_->submit_task([store, sb = std::move(sb), name]() mutable {
          if (Status s = store->write_superblock(sb); !s) {
            spdlog::error("{}: writing the superblock failed: {}", name, s.error().message);
          }
        });
      } else if (std::holds_alternative<action::PersistBitmap>(a)) {
        Bitmap& bm = engine_->bitmap_for_persist();
        std::vector<std::uint64_t> pages = bm.take_dirty_pages();
        if (pages.empty()) continue;
        // A snapshot: the engine keeps changing its bitmap while the worker writes this one.
        auto snapshot = std::make_shared<const Bitmap>(bm);
        MetadataStore* store = store_.get();
        std::string name = config_.name;
        worker_->submit_task([store, snapshot, pages = std::move(pages), name] {
          if (Status s = store->write_bitmap_pages(*snapshot, pages); !s) {
            spdlog::error("{}: writing the bitmap failed: {}", name, s.error().message);
          }
        });
      } else if (std::holds_alternative<action::PersistActivityLog>(a)) {
        ActivityLog al = engine_->activity_log();
        MetadataStore* store = store_.get();
        std::string name = config_.name;
        worker_->submit_task([store, al = std::move(al), name] {
          if (Status s = store->write_activity_log(al); !s) {
            spdlog::error("{}: writing the activity log failed: {}", name, s.error().message);
          }
        });
      } else if (auto* close = std::get_if<action::CloseConnection>(&a)) {
        link_->close(close->reason);
      } else if (auto* log = std::get_if<action::Log>(&a)) {
        switch (log->level) {
          case action::Log::Level::Info: spdlog::info("{}: {}", config_.name, log->text); break;
          case action::Log::Level::Warning: spdlog::warn("{}: {}", config_.name, log->text); break;
          case action::Log::Level::Error: spdlog::error("{}: {}", config_.name, log->text); break;
        }
      }
    }
  }
  in_batch_ = false;
  after_batch();
}

void ResourceDriver::after_batch() {
  // The engine left Primary by itself (e.g. its disk failed): the device goes too.
  if (engine_ && stack_ && !device_busy_ && !stopping_ && engine_->role() != Role::Primary) {
    spdlog::warn("{}: no longer Primary: removing the device {}", config_.name, host_->device);
    device_down_async([this](Status s) {
      if (!s) spdlog::error("{}: the device stays although not Primary: {}", config_.name, s.error().message);
    });
  }
  arm_timer();
  if (link_) link_->poll();
  check_waiters();
}

void ResourceDriver::arm_timer() {
  std::optional<core::TimePoint> next;
  if (engine_) next = engine_->next_timer();
  if (next == timer_->armed) return;
  timer_->armed = next;
  timer_->timer.cancel();
  if (!next) return;
  timer_->timer.expires_at(*next);
  const std::uint64_t gen = attach_gen_;
  timer_->timer.async_wait([this, gen](const std::error_code& ec) {
    if (ec || gen != attach_gen_ || !engine_) return;
    timer_->armed.reset();
    engine_->tick(now());
    run_actions();
    arm_timer();
  });
}

// ---- status ----

ResourceView ResourceDriver::view() const {
  ResourceView v;
  v.resource = config_.name;
  v.minor = options_.minor;
  v.now = now();
  v.attached = engine_ != nullptr;
  if (engine_) {
    v.engine = engine_->status(v.now);
    v.wants_connection = engine_->wants_connection();
  } else {
    v.engine.resource = config_.name;
    v.engine.node = host_ ? host_->name : options_.node;
    v.engine.peer = peer_ ? peer_->name : "";
    v.engine.protocol = config_.protocol;
    v.engine.role = Role::Secondary;
    v.engine.disk = DiskState::Diskless;
    v.engine.peer_disk = DiskState::DUnknown;
    v.engine.connection = ConnectionState::StandAlone;
  }
  if (host_) {
    v.disk_path = host_->disk;
    v.device_path = host_->device;
    v.local_address = host_port(*host_);
  }
  if (peer_) v.peer_address = host_port(*peer_);
  if (stack_) v.loop_path = stack_->loop_path();
  if (link_) {
    v.link_up = link_->up();
    v.link_bytes_in = link_->counters().bytes_in;
    v.link_bytes_out = link_->counters().bytes_out;
    v.link_refused = link_->counters().refused_extra;
    v.connect_failures = link_->counters().connect_failures;
  }
  if (worker_) v.local_queue = worker_->queued();
  v.local_queue_refused = local_refused_;
  v.note = note_;
  return v;
}

// ---- shutdown ----

void ResourceDriver::shutdown(std::function<void()> done) {
  stopping_ = true;
  for (auto& w : waiters_) {
    if (w->done) continue;
    w->done = true;
    if (w->timer) w->timer->cancel();
    w->reply(core::CommandResult::failure(config_.name + ": replicad is stopping"));
  }
  waiters_.clear();
  auto finish = [this, done = std::move(done)](bool demote) {
    if (engine_) {
      if (demote && engine_->role() == Role::Primary) {
        if (Status s = engine_->demote(now()); !s) {
          spdlog::warn("{}: demote at shutdown: {}", config_.name, s.error().message);
        }
      }
      (void)engine_->disconnect(now());
      run_actions();
      worker_->drain();
    }
    if (link_) link_->shutdown();
    done();
  };
  if (device_busy_) {
    // A bring-up or tear-down is running: wait for it, then decide.
    auto retry = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(50));
    retry->async_wait([this, retry, done = std::move(done)](const std::error_code&) mutable {
      stopping_ = false;
      shutdown(std::move(done));
    });
    return;
  }
  if (!stack_) return finish(true);
  device_down_async([this, finish](Status s) {
    if (!s) {
      spdlog::error("{}: {} is in use ({}): left as it is, the filesystem above it will see I/O "
                    "errors once replicad has gone; the metadata keeps the Primary flag",
                    config_.name, host_->device, s.error().message);
      return finish(false);
    }
    finish(true);
  });
}

}  // namespace hapbx::replica
