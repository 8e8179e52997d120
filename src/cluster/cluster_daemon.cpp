// clusterd's driver (see cluster_daemon.h).
#include "cluster/cluster_daemon.h"

#include <dirent.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <arpa/inet.h>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "cluster/authkeys.h"
#include "cluster/ha_config.h"
#include "cluster/haresources.h"
#include "cluster/heartbeat_message.h"
#include "cluster/membership.h"
#include "cluster/resource_agent.h"
#include "cluster/resource_guard.h"
#include "cluster/resource_manager.h"
#include "cluster/respawn.h"
#include "core/clock.h"
#include "core/control_server.h"
#include "core/json_writer.h"

namespace hapbx::cluster {

std::string guard_file(const ClusterDaemonOptions& o) {
  if (!o.guard_file.empty()) return o.guard_file;
  std::string base = o.socket;
  if (base.size() > 5 && base.compare(base.size() - 5, 5, ".sock") == 0) base.resize(base.size() - 5);
  return base + ".guard";
}

namespace {

using asio::ip::udp;
using core::CommandResult;

// Runs blocking agent calls one at a time on its own thread, in order, and posts each result
// back to the loop. The group's resources are sequenced by the resource manager anyway.
class AgentRunner {
 public:
  explicit AgentRunner(asio::io_context& io) : io_(io), thread_([this] { run(); }) {}
  ~AgentRunner() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  void post(std::function<AgentResult()> job, std::function<void(AgentResult)> done) {
    {
      std::lock_guard lock(mutex_);
      jobs_.push_back({std::move(job), std::move(done)});
    }
    wake_.notify_all();
  }
  bool idle() {
    std::lock_guard lock(mutex_);
    return jobs_.empty() && !busy_;
  }

 private:
  struct Job {
    std::function<AgentResult()> run;
    std::function<void(AgentResult)> done;
  };
  void run() {
    while (true) {
      Job job;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
        if (stop_ && jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
        busy_ = true;
      }
      AgentResult r = job.run();
      asio::post(io_, [done = std::move(job.done), r = std::move(r)]() mutable { done(std::move(r)); });
      std::lock_guard lock(mutex_);
      busy_ = false;
    }
  }

  asio::io_context& io_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  bool busy_ = false, stop_ = false;
  std::thread thread_;
};

// This machine's IPv4 addresses and each interface's broadcast address.
struct LocalAddresses {
  std::vector<std::string> mine;
  std::map<std::string, std::string> broadcast;  // interface -> address
  std::map<std::string, in_addr> first;          // interface -> its first IPv4 address
};
LocalAddresses local_addresses() {
  LocalAddresses out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, buf, sizeof buf);
    out.mine.emplace_back(buf);
    if (!out.first.count(i->ifa_name)) out.first[i->ifa_name] = reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr;
    if ((i->ifa_flags & IFF_BROADCAST) && i->ifa_netmask && !out.broadcast.count(i->ifa_name)) {
      // The configured broadcast address, or (none configured: `ip addr add` without brd) the
      // one the address and its mask imply.
      in_addr b{};
      if (i->ifa_broadaddr) b = reinterpret_cast<sockaddr_in*>(i->ifa_broadaddr)->sin_addr;
      if (b.s_addr == 0) {
        const in_addr a = reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr;
        const in_addr m = reinterpret_cast<sockaddr_in*>(i->ifa_netmask)->sin_addr;
        b.s_addr = a.s_addr | ~m.s_addr;
      }
      inet_ntop(AF_INET, &b, buf, sizeof buf);
      out.broadcast[i->ifa_name] = buf;
    }
  }
  freeifaddrs(list);
  return out;
}

struct UsedMedium {
  Medium config;
  std::string text;  // "ucast eth1 198.18.1.12"
  udp::endpoint destination;
  std::unique_ptr<udp::socket> socket;
  std::array<std::uint8_t, 2048> buffer{};
  udp::endpoint sender;
};

// Ping nodes (ha.cf `ping`, `ping_group`): an ICMP echo to every address each keepalive from a
// raw socket; a group is reachable while one of its addresses answered within deadping, and
// this node reaches its ping nodes while every group is reachable. IPv4 only so far.
class PingProber {
 public:
  PingProber(asio::io_context& io, std::vector<PingGroup> groups, core::Duration deadping, core::TimePoint now)
      : socket_(io), groups_(std::move(groups)), deadping_(deadping), started_(now) {}

  Status open() {
    std::error_code ec;
    socket_.open(asio::ip::icmp::v4(), ec);
    if (ec) return make_error(std::string("ping nodes: cannot open an ICMP socket: ") + ec.message());
    for (const auto& g : groups_)
      for (const auto& a : g.addresses) {
        auto ip = asio::ip::make_address(a, ec);
        if (ec || !ip.is_v4()) return make_error(fmt::format("ha.cf:{}: ping node {}: only IPv4 ping nodes are supported", g.line, a));
        last_reply_[ip.to_v4().to_uint()] = {};
      }
    receive();
    return {};
  }

  void send_round() {
    for (const auto& [addr, last] : last_reply_) {
      std::array<std::uint8_t, 16> echo{};
      echo[0] = 8;  // echo request
      echo[4] = static_cast<std::uint8_t>(id_ >> 8), echo[5] = static_cast<std::uint8_t>(id_);
      ++seq_;
      echo[6] = static_cast<std::uint8_t>(seq_ >> 8), echo[7] = static_cast<std::uint8_t>(seq_);
      std::uint32_t sum = 0;
      for (std::size_t i = 0; i < echo.size(); i += 2) sum += (echo[i] << 8) | echo[i + 1];
      while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
      const std::uint16_t c = static_cast<std::uint16_t>(~sum);
      echo[2] = static_cast<std::uint8_t>(c >> 8), echo[3] = static_cast<std::uint8_t>(c);
      std::error_code ec;
      socket_.send_to(asio::buffer(echo), asio::ip::icmp::endpoint(asio::ip::address_v4(addr), 0), 0, ec);
    }
  }

  // Every group has an address that answered within deadping (or deadping has not passed yet).
  bool reachable(core::TimePoint now) const {
    if (now - started_ < deadping_) return true;
    for (const auto& g : groups_) {
      bool any = false;
      for (const auto& a : g.addresses) {
        std::error_code ec;
        auto it = last_reply_.find(asio::ip::make_address_v4(a, ec).to_uint());
        if (it != last_reply_.end() && it->second && now - *it->second < deadping_) any = true;
      }
      if (!any) return false;
    }
    return true;
  }
  std::size_t configured() const { return groups_.size(); }

 private:
  void receive() {
    socket_.async_receive_from(asio::buffer(buffer_), from_, [this](const std::error_code& ec, std::size_t n) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec && n >= 20) {
        const std::size_t ihl = static_cast<std::size_t>(buffer_[0] & 0x0F) * 4;  // raw IPv4 sockets get the IP header
        if (n >= ihl + 8 && buffer_[ihl] == 0 && ((buffer_[ihl + 4] << 8) | buffer_[ihl + 5]) == id_) {
          auto it = last_reply_.find(from_.address().to_v4().to_uint());
          if (it != last_reply_.end()) it->second = std::chrono::steady_clock::now();
        }
      }
      receive();
    });
  }

  asio::ip::icmp::socket socket_;
  std::vector<PingGroup> groups_;
  core::Duration deadping_;
  core::TimePoint started_;
  std::map<std::uint32_t, std::optional<core::TimePoint>> last_reply_;
  std::array<std::uint8_t, 1500> buffer_{};
  asio::ip::icmp::endpoint from_;
  std::uint16_t id_ = static_cast<std::uint16_t>(getpid());
  std::uint16_t seq_ = 0;
};

class ClusterDaemon {
 public:
  ClusterDaemon(ClusterDaemonOptions o, HaConfig cfg, AuthKeys keys, HaResources res, std::string node, std::string peer,
                int guard_lock_fd)
      : options_(std::move(o)),
        cfg_(std::move(cfg)),
        keys_(std::move(keys)),
        res_(std::move(res)),
        node_(std::move(node)),
        peer_(std::move(peer)),
        signals_(io_, SIGTERM, SIGINT),
        timer_(io_),
        ping_timer_(io_),
        control_(io_, options_.socket, core::ControlServerOptions{"clusterd", "hapbx cluster"}),
        guard_timer_(io_),
        respawner_(io_, cfg_.respawn) {
    agent_options_.resource_dir = options_.resource_dir.empty() ? options_.config_dir + "/resource.d" : options_.resource_dir;
    agent_options_.takeover_checks = true;
    agent_options_.vip_probe = options_.vip_probe;
    agent_options_.bin_dir = options_.bin_dir;
    agent_options_.peer_fenced = [f = peer_fenced_] { return f->load(); };
    guard_ = std::make_unique<ResourceGuard>(guard_file(options_), guard_lock_fd, res_.groups.front(), agent_options_);
  }

  // After the loop: tell the guard we end cleanly (whatever is left here was left on purpose).
  ~ClusterDaemon() { guard_->clean_exit(); }

  Status init() {
    // The guard first: nothing is started before a SIGKILL of ours is covered.
    if (Status s = guard_->spawn(); !s) return s;
    watch_guard();
    if (Status s = open_media(); !s) return s;
    if (!cfg_.ping_groups.empty()) {
      prober_ = std::make_unique<PingProber>(io_, cfg_.ping_groups, cfg_.deadping, now());
      if (Status s = prober_->open(); !s) return s;
    }
    // Membership.
    MembershipConfig mc;
    mc.node = node_;
    mc.peers = {peer_};
    mc.keepalive = cfg_.keepalive;
    mc.deadtime = cfg_.deadtime;
    mc.warntime = cfg_.warntime;
    mc.initdead = cfg_.initdead;
    mc.media = media_.size();
    if (Status s = validate(mc); !s) return s;
    std::random_device rd;
    const auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
    membership_ = std::make_unique<Membership>(mc, make_generation(static_cast<std::uint64_t>(wall), rd()), now());
    // The resource group and its agents.
    const ResourceGroup& g = res_.groups.front();
    ResourceManagerConfig rc;
    rc.node = node_;
    rc.peer = peer_;
    rc.group.preferred_node = g.preferred_node;
    rc.auto_failback = cfg_.auto_failback;
    rc.fencing = !cfg_.stonith_command.empty();
    rc.ping_nodes = prober_ != nullptr;
    for (const ResourceSpec& r : g.resources) {
      rc.group.resources.push_back(ManagedResource{r.text, r.type});
      agents_.push_back(make_resource_agent(r, agent_options_));
    }
    rm_ = std::make_unique<ResourceManager>(rc, now());
    register_commands();
    if (Status s = control_.start(); !s) return s;
    signals_.async_wait([this](const std::error_code& ec, int sig) {
      if (!ec) begin_shutdown(sig);
    });
    for (std::size_t i = 0; i < media_.size(); ++i) receive(i);
    ping_tick();
    ready_tick();
    // asio opens its sockets without close-on-exec: a heartbeat socket or the control socket
    // inherited by pbxd or a script's daemon would outlive us (a restarted clusterd would find
    // the control socket "in use"). Everything we hold is close-on-exec before an agent runs.
    close_on_exec_all();
    respawner_.on_started = [this](pid_t p) { guard_->child(p); };
    respawner_.on_reaped = [this](pid_t p) { guard_->reaped(p); };
    if (Status s = respawner_.start(); !s) return s;
    spdlog::info("clusterd {} up (pid {}, resource guard pid {}): peer {}, {} media, group of {} resource(s) preferring {}", node_,
                 getpid(), guard_->pid(), peer_, media_.size(), agents_.size(), g.preferred_node);
    pump();
    return {};
  }

  int run() {
    io_.run();
    return exit_code_;
  }

 private:
  core::TimePoint now() const { return clock_.now(); }

  static void close_on_exec_all() {
    std::vector<int> fds;
    if (DIR* d = opendir("/proc/self/fd")) {
      const int own = dirfd(d);
      while (dirent* e = readdir(d)) {
        const int fd = std::atoi(e->d_name);
        if (fd > 2 && fd != own) fds.push_back(fd);
      }
      closedir(d);
    }
    for (int fd : fds)
      if (const int f = fcntl(fd, F_GETFD); f >= 0 && !(f & FD_CLOEXEC)) fcntl(fd, F_SETFD, f | FD_CLOEXEC);
  }

  // The guard's channel is readable only when the guard has ended (it never writes after
  // "ready"): spawn a new one, with a back-off so a guard that cannot run does not spin.
  void watch_guard() {
    if (guard_->channel() < 0) return;
    // Close-on-exec like the original: an agent's child (pbxd, a script's daemon) holding a copy
    // would keep the channel open after our death, and the guard would never notice it.
    const int watch = fcntl(guard_->channel(), F_DUPFD_CLOEXEC, 3);
    if (watch < 0) {
      spdlog::error("resource guard: cannot watch its channel: {}", std::strerror(errno));
      return;
    }
    guard_watch_ = std::make_unique<asio::posix::stream_descriptor>(io_, watch);
    guard_watch_->async_wait(asio::posix::stream_descriptor::wait_read, [this](const std::error_code& ec) {
      if (ec || leaving_) return;
      guard_watch_.reset();
      const auto delay = guard_backoff_.after_exit(now() - guard_since_);
      guard_timer_.expires_after(delay);
      guard_timer_.async_wait([this](const std::error_code& e) {
        if (e || leaving_) return;
        guard_->respawn_after_death();
        guard_since_ = now();
        watch_guard();
      });
    });
  }

  Status open_media() {
    const LocalAddresses local = local_addresses();
    for (const Medium& m : cfg_.media) {
      UsedMedium u;
      u.config = m;
      std::string address;
      if (m.kind == MediumKind::Ucast) {
        if (std::find(local.mine.begin(), local.mine.end(), m.address) != local.mine.end()) continue;  // ourselves
        address = m.address;
        u.text = fmt::format("ucast {} {}", m.interface, m.address);
      } else if (m.kind == MediumKind::Bcast) {
        auto b = local.broadcast.find(m.interface);
        if (b == local.broadcast.end())
          return make_error(fmt::format("ha.cf:{}: bcast {}: the interface has no IPv4 broadcast address", m.line, m.interface));
        address = b->second;
        u.text = fmt::format("bcast {}", m.interface);
      } else {
        address = m.address;
        u.text = fmt::format("mcast {} {}", m.interface, m.address);
      }
      std::error_code ec;
      const auto ip = asio::ip::make_address_v4(address, ec);
      if (ec) return make_error(fmt::format("ha.cf:{}: bad address {}", m.line, address));
      u.destination = udp::endpoint(ip, m.port);
      u.socket = std::make_unique<udp::socket>(io_);
      u.socket->open(udp::v4(), ec);
      if (ec) return make_error(fmt::format("{}: socket: {}", u.text, ec.message()));
      const int one = 1;
      const int fd = u.socket->native_handle();
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
      setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one);
      if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, m.interface.c_str(), static_cast<socklen_t>(m.interface.size())) != 0)
        return make_error(fmt::format("ha.cf:{}: {}: cannot use interface {}: {}", m.line, u.text, m.interface, std::strerror(errno)));
      u.socket->bind(udp::endpoint(asio::ip::address_v4::any(), m.port), ec);
      if (ec) return make_error(fmt::format("ha.cf:{}: {}: bind port {}: {}", m.line, u.text, m.port, ec.message()));
      if (m.kind == MediumKind::Mcast)
        if (Status s = join_group(fd, m, ip, local, u.text); !s) return s;
      media_.push_back(std::move(u));
    }
    if (media_.empty()) return make_error("ha.cf: no medium left to reach the peer (every ucast address is this node's own?)");
    return {};
  }

  // mcast IF GROUP PORT TTL LOOP: join GROUP on IF (by its index and first IPv4 address), send
  // to it out of IF with TTL, looping our own datagrams back only if LOOP (membership drops
  // them anyway).
  static Status join_group(int fd, const Medium& m, const asio::ip::address_v4& group, const LocalAddresses& local,
                           const std::string& text) {
    if (!group.is_multicast())
      return make_error(fmt::format("ha.cf:{}: {}: {} is not an IPv4 multicast group (224.0.0.0/4)", m.line, text, m.address));
    const unsigned index = if_nametoindex(m.interface.c_str());
    auto a = local.first.find(m.interface);
    if (index == 0 || a == local.first.end())
      return make_error(fmt::format("ha.cf:{}: {}: the interface has no IPv4 address", m.line, text));
    ip_mreqn req{};
    req.imr_multiaddr.s_addr = htonl(group.to_uint());
    req.imr_address = a->second;
    req.imr_ifindex = static_cast<int>(index);
    auto fail = [&](const char* what) {
      return make_error(fmt::format("ha.cf:{}: {}: {}: {}", m.line, text, what, std::strerror(errno)));
    };
    if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &req, sizeof req) != 0) return fail("cannot join the group");
    if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &req, sizeof req) != 0) return fail("IP_MULTICAST_IF");
    const int ttl = m.ttl;
    if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) != 0) return fail("IP_MULTICAST_TTL");
    const unsigned char loop = m.loop ? 1 : 0;
    if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) != 0) return fail("IP_MULTICAST_LOOP");
    return {};
  }

  void receive(std::size_t i) {
    UsedMedium& u = media_[i];
    u.socket->async_receive_from(asio::buffer(u.buffer), u.sender, [this, i](const std::error_code& ec, std::size_t n) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) on_datagram(i, n);
      receive(i);
    });
  }

  void on_datagram(std::size_t i, std::size_t n) {
    UsedMedium& u = media_[i];
    DecodeFailure why = DecodeFailure::None;
    auto m = decode(std::span<const std::uint8_t>(u.buffer.data(), n), keys_.keys, &why);
    if (!m) {
      ++rejected_;
      if (rejected_ < 10 || rejected_ % 1000 == 0)
        spdlog::warn("{}: datagram from {} rejected ({}): {}", u.text, u.sender.address().to_string(), to_string(why),
                     m.error().message);
      return;
    }
    if (m->node == node_) return;  // our own broadcast
    const auto accepted_before = membership_->counters().accepted;
    membership_->on_heartbeat(*m, i, now());
    // Only while the peer is a member: the heartbeat that says it leaves (or any that made it
    // dead) must not make the resource manager see it up again.
    if (membership_->counters().accepted != accepted_before && m->node == peer_ && m->claim &&
        membership_->state(peer_) == NodeState::Up) {
      Announcement a;
      a.claim = static_cast<GroupClaim>(m->claim->claim);
      a.ping_ok = m->claim->ping_ok;
      a.wants_group = m->claim->wants_group;
      a.ready = m->claim->ready;
      pump_membership();  // NodeUp before the announcement
      const GroupClaim before = rm_->status(now()).peers.claim;
      rm_->peer_announcement(a, now());
      const auto held = [](GroupClaim c) {
        return c == GroupClaim::Acquiring || c == GroupClaim::Holds || c == GroupClaim::Releasing;
      };
      if (rm_->running() && held(before) && !held(a.claim)) reannounce_vips();
    }
    pump();
  }

  void pump_membership() {
    for (auto& a : membership_->take_actions()) {
      std::visit(
          [this](auto& act) {
            using T = std::decay_t<decltype(act)>;
            if constexpr (std::is_same_v<T, membership_action::SendHeartbeat>) {
              if (act.medium >= media_.size()) return;
              auto bytes = encode(act.message, keys_.active);
              if (!bytes) {
                spdlog::error("heartbeat not sent: {}", bytes.error().message);
                return;
              }
              std::error_code ec;
              UsedMedium& u = media_[act.medium];
              u.socket->send_to(asio::buffer(*bytes), u.destination, 0, ec);
              if (ec && (++send_errors_ < 10 || send_errors_ % 1000 == 0))
                spdlog::warn("{}: heartbeat not sent to {}: {}", u.text, u.destination.address().to_string(), ec.message());
            } else if constexpr (std::is_same_v<T, membership_action::NodeUp>) {
              *peer_fenced_ = false;
              rm_->peer_up(now());
              start_once();
            } else if constexpr (std::is_same_v<T, membership_action::NodeDead>) {
              rm_->peer_dead(now());
              start_once();
            } else if constexpr (std::is_same_v<T, membership_action::NodeRestarted>) {
              spdlog::warn("node {} restarted", act.node);
              rm_->peer_dead(now());
              rm_->peer_up(now());
            } else if constexpr (std::is_same_v<T, membership_action::LateHeartbeat>) {
              spdlog::warn("late heartbeat from {}: {} ms", act.node, act.ms);
            } else if constexpr (std::is_same_v<T, membership_action::Log>) {
              log(static_cast<int>(act.level), act.text);
            }
          },
          a);
    }
  }

  void start_once() {
    if (started_) return;
    started_ = true;
    ping_ok_ = !prober_ || prober_->reachable(now());
    rm_->ping_reachability(ping_ok_, now());
    // Before the first announcement: a node booting with a stale disk must not say "ready" even
    // once, or its peer fails the group back to it (no agent job runs yet: safe on this thread).
    bool ready = true;
    for (auto& a : agents_) ready = ready && a->ready();
    rm_->local_ready(ready, now());
    rm_->startup(now());
  }

  // Every keepalive: the ping round, and the reachability the resource manager sees.
  void ping_tick() {
    if (!prober_) return;
    prober_->send_round();
    const bool ok = prober_->reachable(now());
    if (ok != ping_ok_) {
      ping_ok_ = ok;
      spdlog::warn("ping nodes {}", ok ? "reachable again" : "unreachable");
      membership_->set_ping(PingReport{static_cast<std::uint8_t>(ok ? prober_->configured() : 0),
                                       static_cast<std::uint8_t>(prober_->configured())});
      if (started_) rm_->ping_reachability(ok, now());
      pump();
    }
    ping_timer_.expires_after(cfg_.keepalive);
    ping_timer_.async_wait([this](const std::error_code& ec) {
      if (!ec) ping_tick();
    });
  }

  // Both nodes held the group (a healed partition) and the peer yielded: the LAN may still send
  // to its MAC. The VIP agents' start is idempotent and sends the gratuitous ARP again.
  void reannounce_vips() {
    spdlog::info("{} let go of the group while we hold it: announcing the VIPs again", peer_);
    const ResourceGroup& g = res_.groups.front();
    for (std::size_t k = 0; k < agents_.size(); ++k) {
      if (g.resources[k].kind() != ResourceKind::Vip) continue;
      runner_->post(
          [agent = agents_[k].get()] {
            Status st = agent->start();
            return st ? AgentResult::ok() : AgentResult::failed(st.error().message);
          },
          [](AgentResult) {});
    }
  }

  // While the group is elsewhere, asks the agents (on the agent thread, after whatever it is
  // doing) whether they could start here, so the peer never hands the group to a node whose disk
  // is still resyncing (resource_manager.h, "Readiness").
  void ready_tick() {
    if (started_ && !ready_check_running_ && !rm_->any_resource_active()) {
      ready_check_running_ = true;
      runner_->post(
          [this] {
            bool ready = true;
            for (auto& a : agents_) ready = ready && a->ready();
            return ready ? AgentResult::ok() : AgentResult::failed("not ready");
          },
          [this](AgentResult r) {
            ready_check_running_ = false;
            rm_->local_ready(r.outcome == AgentOutcome::Ok, now());
            pump();
          });
    }
    ready_timer_.expires_after(std::chrono::milliseconds(200));
    ready_timer_.async_wait([this](const std::error_code& ec) {
      if (!ec) ready_tick();
    });
  }

  static void log(int level, const std::string& text) {
    if (level == 0) spdlog::info("{}", text);
    else if (level == 1) spdlog::warn("{}", text);
    else spdlog::error("{}", text);
  }

  void pump_rm() {
    for (auto& a : rm_->take_actions()) {
      std::visit(
          [this](auto& act) {
            using T = std::decay_t<decltype(act)>;
            if constexpr (std::is_same_v<T, rm_action::StartResource>) {
              guard_->started(act.index);
              run_agent(act.op, [agent = agents_[act.index].get()] {
                Status s = agent->start();
                return s ? AgentResult::ok() : AgentResult::failed(s.error().message);
              });
            } else if constexpr (std::is_same_v<T, rm_action::StopResource>) {
              run_agent(act.op, [agent = agents_[act.index].get()] {
                Status s = agent->stop();
                return s ? AgentResult::ok() : AgentResult::failed(s.error().message);
              }, act.index);
            } else if constexpr (std::is_same_v<T, rm_action::MonitorResource>) {
              run_agent(act.op, [agent = agents_[act.index].get()] {
                auto st = agent->status();
                if (!st) return AgentResult::failed(st.error().message);
                if (*st == AgentState::Running) return AgentResult::ok();
                return AgentResult::failed(std::string("status: ") + std::string(to_string(*st)));
              });
            } else if constexpr (std::is_same_v<T, rm_action::Fence>) {
              const std::uint64_t op = act.op;
              std::vector<std::string> argv = cfg_.stonith_command;
              argv.push_back(act.peer);
              runner_->post(
                  [argv] {
                    ProgramResult r = run_program(argv, std::chrono::seconds(60));
                    if (r.exit_status == 0) return AgentResult::ok();
                    if (r.timed_out) return AgentResult::timed_out();
                    return AgentResult::failed(fmt::format("stonith exit {}: {}", r.exit_status, r.output));
                  },
                  [this, op](AgentResult r) {
                    if (r.outcome == AgentOutcome::Ok) *peer_fenced_ = true;
                    rm_->fence_result(op, r, now());
                    pump();
                  });
            } else if constexpr (std::is_same_v<T, rm_action::Announce>) {
              membership_->set_claim(ClaimReport{static_cast<std::uint8_t>(act.announcement.claim),
                                                 act.announcement.ping_ok, act.announcement.wants_group,
                                                 act.announcement.ready});
            } else if constexpr (std::is_same_v<T, rm_action::GroupStateChanged>) {
              // The resource manager logs the change itself.
            } else if constexpr (std::is_same_v<T, rm_action::Log>) {
              log(static_cast<int>(act.level), act.text);
            }
          },
          a);
    }
  }

  // `stopped`: the job is resource i's stop; when it succeeds the guard forgets resource i.
  void run_agent(std::uint64_t op, std::function<AgentResult()> job, std::optional<std::size_t> stopped = std::nullopt) {
    runner_->post(std::move(job), [this, op, stopped](AgentResult r) {
      if (stopped && r.outcome == AgentOutcome::Ok) guard_->stopped(*stopped);
      rm_->agent_result(op, r, now());
      pump();
    });
  }

  void pump() {
    for (int round = 0; round < 32; ++round) {
      pump_membership();
      pump_rm();
      // Both may have produced work for each other (announcements, peer events).
      if (membership_->next_timer() && *membership_->next_timer() <= now()) membership_->tick(now());
      if (rm_->next_timer() && *rm_->next_timer() <= now()) rm_->tick(now());
      if (!has_pending()) break;
    }
    arm_timer();
  }
  bool has_pending() {
    // take_actions() is the only way to see pending actions; the loop above drains them. A
    // second round is needed only when a tick ran.
    return (membership_->next_timer() && *membership_->next_timer() <= now()) ||
           (rm_->next_timer() && *rm_->next_timer() <= now());
  }

  void arm_timer() {
    std::optional<core::TimePoint> at = membership_->next_timer();
    if (auto r = rm_->next_timer(); r && (!at || *r < *at)) at = r;
    if (!at) return;
    timer_.expires_at(*at);
    timer_.async_wait([this](const std::error_code& ec) {
      if (ec) return;
      membership_->tick(now());
      rm_->tick(now());
      pump();
    });
  }

  // --- shutdown -----------------------------------------------------------------------------

  void begin_shutdown(int sig) {
    spdlog::info("signal {}: shutting down", sig);
    const bool peer_up = membership_->state(peer_) == NodeState::Up;
    if (rm_->any_resource_active() && peer_up && rm_->standby(now())) {
      spdlog::info("handing the group to {}", peer_);
      pump();
    } else if (rm_->any_resource_active()) {
      // Nobody to hand it to: stop everything here, in reverse.
      for (std::size_t i = agents_.size(); i-- > 0;) {
        runner_->post([agent = agents_[i].get()] {
          Status s = agent->stop();
          if (!s) return AgentResult::failed(s.error().message);
          return AgentResult::ok();
        }, [this, i](AgentResult r) {
          if (r.outcome == AgentOutcome::Ok) guard_->stopped(i);
          else spdlog::error("{}", r.reason);
        });
      }
      forced_stop_ = true;
    }
    shutdown_deadline_ = now() + std::chrono::seconds(60);
    respawner_.stop([this] { respawn_stopped_ = true; });
    wait_idle();
  }

  void wait_idle() {
    const bool done = (forced_stop_ ? runner_->idle() : !rm_->any_resource_active()) && respawn_stopped_;
    if (done || now() >= shutdown_deadline_) {
      if (!done) spdlog::error("resources still active after 60 s: leaving anyway");
      leaving_ = true;
      guard_timer_.cancel();
      if (guard_watch_) guard_watch_->cancel();
      membership_->leave(now());
      pump_membership();
      timer_.cancel();
      ping_timer_.cancel();
      auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(50));
      t->async_wait([this, t](const std::error_code&) { io_.stop(); });
      return;
    }
    auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(20));
    t->async_wait([this, t](const std::error_code&) { wait_idle(); });
  }

  // --- control socket -------------------------------------------------------------------------

  void register_commands() {
    (void)control_.add_command({"status"}, "Nodes, links and who holds the group",
                               [this](const std::vector<std::string>&, bool json) { return status(json); });
    (void)control_.add_command({"resources"}, "The resource group and each resource's state",
                               [this](const std::vector<std::string>&, bool json) { return resources(json); });
    (void)control_.add_command({"standby"}, "Give the group to the peer (hb_standby)", [this](const std::vector<std::string>&, bool) {
      Status s = rm_->standby(now());
      pump();
      return s ? CommandResult::success("standby: handing the group to " + peer_ + "\n") : CommandResult::failure(s.error().message);
    });
    (void)control_.add_command({"takeover"}, "Take the group from the peer (hb_takeover)", [this](const std::vector<std::string>&, bool) {
      Status s = rm_->takeover(now());
      pump();
      return s ? CommandResult::success("takeover: asking " + peer_ + " for the group\n") : CommandResult::failure(s.error().message);
    });
  }

  static std::string age(const std::optional<core::Duration>& d) {
    if (!d) return "never";
    return fmt::format("{} ms ago", std::chrono::duration_cast<std::chrono::milliseconds>(*d).count());
  }

  CommandResult status(bool json) {
    const auto nodes = membership_->status(now());
    const auto rs = rm_->status(now());
    if (json) {
      core::JsonWriter w;
      w.begin_object().field("node", node_).field("pid", static_cast<std::int64_t>(getpid()))
          .field("guard_pid", static_cast<std::int64_t>(guard_->pid()))
          .field("state", std::string(rs.state)).field("reason", std::string(to_string(rs.reason)));
      w.field("holder", std::string(to_string(rs.holder))).field("claim", std::string(to_string(rs.mine.claim)));
      w.key("peers").begin_array();
      for (const auto& n : nodes) {
        w.begin_object().field("name", n.name).field("state", std::string(to_string(n.state)));
        if (n.last_heard_age) w.field("last_heard_ms", static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(*n.last_heard_age).count()));
        w.field("claim", std::string(to_string(rs.peers.claim)));
        if (n.last && n.last->claim) w.field("heard_claim", static_cast<int>(n.last->claim->claim));
        w.key("links").begin_array();
        for (std::size_t i = 0; i < n.media.size() && i < media_.size(); ++i) {
          w.begin_object().field("medium", media_[i].text).field("up", n.media[i].up);
          if (n.media[i].last_heard_age)
            w.field("last_heard_ms", static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(*n.media[i].last_heard_age).count()));
          w.end_object();
        }
        w.end_array().end_object();
      }
      w.end_array().field("rejected_datagrams", static_cast<std::uint64_t>(rejected_));
      if (prober_) w.field("ping_ok", ping_ok_);
      resource_fields(w, rs);
      w.key("respawn").begin_array();
      for (const auto& p : respawner_.status()) {
        w.begin_object().field("command", p.command).field("user", p.user).field("pid", static_cast<std::int64_t>(p.pid))
            .field("starts", p.starts);
        if (p.last_exit) w.field("last_exit", *p.last_exit);
        w.end_object();
      }
      w.end_array();
      w.end_object();
      return CommandResult::success(w.take() + "\n");
    }
    std::string out = fmt::format("{} (this node; clusterd pid {}, resource guard pid {}): group {} ({}), holder {}, announcing {}\n",
                                  node_, getpid(), guard_->pid(), rs.state, to_string(rs.reason), to_string(rs.holder),
                                  to_string(rs.mine.claim));
    for (const auto& n : nodes) {
      out += fmt::format("{}: {}, last heartbeat {}, announcing {}\n", n.name, to_string(n.state), age(n.last_heard_age),
                         to_string(rs.peers.claim));
      for (std::size_t i = 0; i < n.media.size() && i < media_.size(); ++i)
        out += fmt::format("  link {}: {}, {}\n", media_[i].text, n.media[i].up ? "up" : "down", age(n.media[i].last_heard_age));
    }
    if (prober_) out += fmt::format("ping nodes: {}\n", ping_ok_ ? "reachable" : "UNREACHABLE");
    out += "resources:\n" + resource_lines(rs);
    for (const auto& p : respawner_.status())
      out += fmt::format("respawn {} (as {}): {}, started {} time(s){}\n", p.command, p.user,
                         p.pid > 0 ? fmt::format("pid {}", p.pid) : std::string("not running"), p.starts,
                         p.last_exit ? fmt::format(", last exit {}", *p.last_exit) : "");
    if (rejected_) out += fmt::format("rejected datagrams: {}\n", rejected_);
    return CommandResult::success(out);
  }

  // Who holds a resource, as this node sees it, and since when: this node while the resource is
  // not Stopped here (since it entered that state), else the peer while it announces the group
  // (since we learnt it), else nobody (since it stopped here).
  struct HeldBy {
    std::string who;
    core::TimePoint since;
  };
  HeldBy held_by(const ResourceStatus& r, const ResourceManagerStatus& rs) const {
    const bool here = r.state != ManagedState::Stopped;
    const bool peer = rs.holder == Holder::Peer || rs.holder == Holder::Both;
    if (here && peer) return {node_ + " and " + peer_, std::max(r.since, rs.holder_since)};
    if (here) return {node_, r.since};
    if (peer) return {peer_, rs.holder_since};
    return {"nobody", r.since};
  }
  // A steady-clock moment as UTC wall-clock time: "2026-12-01T12:05:03.120Z".
  std::string wall(core::TimePoint t) const {
    const auto sys = std::chrono::system_clock::now() - std::chrono::duration_cast<std::chrono::system_clock::duration>(now() - t);
    const auto ms_total = std::chrono::duration_cast<std::chrono::milliseconds>(sys.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(ms_total / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                       tm.tm_sec, ms_total % 1000);
  }
  std::int64_t ms_ago(core::TimePoint t) const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(now() - t).count();
  }
  void resource_fields(core::JsonWriter& w, const ResourceManagerStatus& rs) const {
    w.key("resources").begin_array();
    for (const auto& r : rs.resources) {
      const HeldBy h = held_by(r, rs);
      w.begin_object().field("name", r.name).field("state", std::string(to_string(r.state))).field("holder", h.who)
          .field("since", wall(h.since)).field("held_for_ms", ms_ago(h.since)).field("last_error", r.last_error)
          .field("failures", r.failures).end_object();
    }
    w.end_array();
  }
  std::string resource_lines(const ResourceManagerStatus& rs) const {
    std::string out;
    for (const auto& r : rs.resources) {
      const HeldBy h = held_by(r, rs);
      out += fmt::format("  {:<40} {:<8} held by {} since {} ({:.1f} s){}\n", r.name, to_string(r.state), h.who, wall(h.since),
                         static_cast<double>(ms_ago(h.since)) / 1000.0, r.last_error.empty() ? "" : "  (" + r.last_error + ")");
    }
    return out;
  }

  CommandResult resources(bool json) {
    const auto rs = rm_->status(now());
    if (json) {
      core::JsonWriter w;
      w.begin_object().field("state", std::string(rs.state)).field("holder", std::string(to_string(rs.holder)));
      resource_fields(w, rs);
      w.end_object();
      return CommandResult::success(w.take() + "\n");
    }
    std::string out = fmt::format("group (preferred {}): {}, holder {}\n", rs.preferred_node, rs.state, to_string(rs.holder));
    return CommandResult::success(out + resource_lines(rs));
  }

  ClusterDaemonOptions options_;
  HaConfig cfg_;
  AuthKeys keys_;
  HaResources res_;
  std::string node_, peer_;
  asio::io_context io_;
  asio::signal_set signals_;
  asio::steady_timer timer_;
  asio::steady_timer ping_timer_;
  asio::steady_timer ready_timer_{io_};
  bool ready_check_running_ = false;
  core::ControlServer control_;
  core::SteadyClock clock_;
  std::vector<UsedMedium> media_;
  std::unique_ptr<Membership> membership_;
  std::unique_ptr<ResourceManager> rm_;
  std::unique_ptr<PingProber> prober_;
  bool ping_ok_ = true;
  std::vector<ResourceAgentPtr> agents_;
  GroupAgentOptions agent_options_;
  std::shared_ptr<std::atomic<bool>> peer_fenced_ = std::make_shared<std::atomic<bool>>(false);
  std::unique_ptr<ResourceGuard> guard_;
  asio::steady_timer guard_timer_;
  std::unique_ptr<asio::posix::stream_descriptor> guard_watch_;
  RespawnBackoff guard_backoff_;
  core::TimePoint guard_since_ = std::chrono::steady_clock::now();
  bool leaving_ = false;
  Respawner respawner_;
  bool respawn_stopped_ = false;
  std::unique_ptr<AgentRunner> runner_ = std::make_unique<AgentRunner>(io_);
  bool started_ = false, forced_stop_ = false;
  core::TimePoint shutdown_deadline_{};
  std::uint64_t rejected_ = 0, send_errors_ = 0;
  int exit_code_ = 0;
};

}  // namespace

// The heartbeat loop must not starve behind a busy machine (a missed deadtime is a false
// failover): this thread runs SCHED_RR at a low realtime priority, as Heartbeat's does by
// default (ha.cf `realtime off` to opt out). SCHED_RESET_ON_FORK: the threads and processes
// started from now on (agents, e2fsck, pbxd, LSB scripts) run at the normal policy.
static void enter_realtime() {
  sched_param p{};
  p.sched_priority = 10;
  if (sched_setscheduler(0, SCHED_RR | SCHED_RESET_ON_FORK, &p) == 0) {
    spdlog::info("heartbeat loop at realtime priority {} (SCHED_RR; ha.cf realtime off to disable)", p.sched_priority);
  } else {
    spdlog::warn("heartbeat loop not at a realtime priority ({}): a busy machine may delay heartbeats", std::strerror(errno));
  }
}

int run_cluster_daemon(const ClusterDaemonOptions& o) {
  const std::string dir = o.config_dir;
  auto cfg = load_ha_cf(dir + "/ha.cf");
  if (!cfg) {
    spdlog::error("{}", cfg.error().message);
    return 1;
  }
  for (const auto& w : cfg->warnings) spdlog::warn("{}", w.message);  // names file:line
  // Where Heartbeat wrote its messages: clusterd writes them to stderr (the journal under
  // systemd), so that both nodes of the lab and one journal never interleave files.
  for (const std::string& f : {cfg->logfile, cfg->debugfile})
    if (!f.empty()) spdlog::info("ha.cf: {}: not written; clusterd logs to stderr (the journal under systemd)", f);
  if (!cfg->logfacility.empty() || cfg->use_logd)
    spdlog::info("ha.cf: logfacility/use_logd: not used; clusterd logs to stderr (the journal under systemd)");
  auto keys = load_authkeys(dir + "/authkeys");
  if (!keys) {
    spdlog::error("{}", keys.error().message);
    return 1;
  }
  for (const auto& w : keys->warnings) spdlog::warn("{}", w.message);  // names file:line
  auto res = load_haresources(dir + "/haresources");
  if (!res) {
    spdlog::error("{}", res.error().message);
    return 1;
  }
  for (const auto& w : res->warnings) spdlog::warn("{}", w.message);  // names file:line
  if (Status s = check_haresources_nodes(*res, *cfg); !s) {
    spdlog::error("{}", s.error().message);
    return 1;
  }
  if (res->groups.size() != 1) {
    spdlog::error("{}/haresources: {} resource groups; clusterd supports exactly one for now", dir, res->groups.size());
    return 1;
  }
  std::string node = o.node;
  if (node.empty()) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    node = host;
  }
  if (!cfg->has_node(node)) {
    spdlog::error("{}/ha.cf: this node '{}' is not a `node` there (use --node or fix ha.cf)", dir, node);
    return 1;
  }
  std::string peer;
  for (const auto& n : cfg->nodes)
    if (n != node) peer = n;
  if (cfg->nodes.size() != 2 || peer.empty()) {
    spdlog::error("{}/ha.cf: clusterd supports exactly two nodes for now ({} listed)", dir, cfg->nodes.size());
    return 1;
  }
  // The node's guard lock: refuses a second clusterd, waits for the guard of a killed one.
  auto lock = acquire_guard_lock(guard_file(o), std::chrono::seconds(120));
  if (!lock) {
    spdlog::error("{}", lock.error().message);
    return 1;
  }
  const bool realtime = cfg->realtime;
  ClusterDaemon d(o, std::move(*cfg), std::move(*keys), std::move(*res), node, peer, *lock);
  if (Status s = d.init(); !s) {
    spdlog::error("{}", s.error().message);
    return 1;
  }
  if (realtime) enter_realtime();
  return d.run();
}

}  // namespace hapbx::cluster
