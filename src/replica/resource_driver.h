// The driver of one replicated resource on this node: it owns the pure ReplicaEngine and carries
// out its actions against the real world:
//   engine <-> LocalIoWorker (BackingDisk + MetadataStore, one FIFO thread)
//          <-> PeerLink (TCP to the peer)
//          <-> DeviceStack (FUSE file + loop device + symlink, while Primary)
//          <-  one steady_timer armed at engine.next_timer()
//          <-  the admin commands (hapbx replica ...)
//
// Contracts:
//  - Everything runs on the daemon loop's thread (the io_context), except on_device_request
//    (the FUSE thread: it only posts to the loop), the worker's jobs and the device bring-up /
//    tear-down (a helper thread, because DeviceStack::down waits for the kernel to drain the loop
//    device, whose requests the loop thread must keep answering meanwhile).
//  - Attached = an engine exists (built from the metadata read at attach); detached = Diskless,
//    no engine. Completions of an earlier attachment are dropped (attach generation).
//  - Actions of the engine are executed in order after every event (the "batch"); after each
//    batch the timer is re-armed, the link polled and the waiters (wait-connect, wait-sync)
//    checked.
//  - Never crashes on what the peer, the kernel or a user sends: errors are logged or answered.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/control_server.h"
#include "core/result.h"
#include "replica/device_request.h"
#include "replica/replica_status_views.h"
#include "replica/resource_config.h"

namespace asio {
class io_context;
}

namespace hapbx::replica {

class BackingDisk;
class DeviceStack;
class LocalIoWorker;
class MetadataStore;
class PeerLink;
class ReplicaEngine;

struct DriverOptions {
  std::string node;
  std::string run_dir = "/run/hapbx";
  int minor = 0;
};

class ResourceDriver final : public DeviceRequestHandler {
 public:
  using Reply = core::CommandReply;

  ResourceDriver(asio::io_context& io, ResourceConfig config, DriverOptions options);
  ~ResourceDriver() override;
  ResourceDriver(const ResourceDriver&) = delete;
  ResourceDriver& operator=(const ResourceDriver&) = delete;

  const std::string& name() const { return config_.name; }

  // Listens on the peer port; attaches and connects when the disk holds valid metadata (like
  // DRBD's init script), else stays Diskless and logs how to create it.
  Status start();

  // --- admin commands (messages are what the user sees) ---
  Result<std::string> create_md(bool force);
  Status attach();
  Status detach();
  Status connect(bool discard_my_data);
  Status disconnect();
  void primary(bool force, Reply reply);
  void secondary(Reply reply);
  void up(Reply reply);
  void down(Reply reply);
  Status verify();
  Status invalidate();
  Status invalidate_remote();
  void wait_connect(core::Duration timeout, Reply reply);
  void wait_sync(core::Duration timeout, Reply reply);

  ResourceView view() const;

  // Clean stop: device down if not in use (a mounted device is reported and left), secondary,
  // disconnect, local queue drained, metadata persisted. `done` runs on the loop when finished.
  void shutdown(std::function<void()> done);

  // FUSE thread.
  void on_device_request(DeviceRequest&& r) override;

 private:
  struct Waiter;
  core::TimePoint now() const;
  void run_actions();
  void after_batch();
  void arm_timer();
  void check_waiters();
  void on_link_up();
  void on_link_message(PeerMessage&& m);
  void on_link_lost(std::string reason);
  void demote_when_idle(Reply reply, core::TimePoint deadline);
  void device_up_async(std::function<void(Status)> done);
  void device_down_async(std::function<void(Status)> done);
  void finish_device_thread();
  void complete_device_request(std::uint64_t id, int error, const Payload& data);
  std::string no_disk_message() const;
  Status detach_now(const char* why);

  asio::io_context& io_;
  ResourceConfig config_;
  DriverOptions options_;
  const HostConfig* host_ = nullptr;
  const HostConfig* peer_ = nullptr;

  std::unique_ptr<BackingDisk> disk_;
  std::unique_ptr<MetadataStore> store_;
  std::unique_ptr<LocalIoWorker> worker_;
  std::unique_ptr<ReplicaEngine> engine_;
  std::unique_ptr<PeerLink> link_;
  std::unique_ptr<DeviceStack> stack_;
  struct TimerBox;
  std::unique_ptr<TimerBox> timer_;
  std::uint64_t attach_gen_ = 0;
  std::uint64_t local_refused_ = 0;
  std::string note_;
  bool in_batch_ = false;
  bool stopping_ = false;

  // The device thread (DeviceStack::bring_up/down) and the stack while it comes up.
  std::thread device_thread_;
  bool device_busy_ = false;
  std::unique_ptr<DeviceStack> rising_;

  std::vector<std::shared_ptr<Waiter>> waiters_;
};

}  // namespace hapbx::replica
