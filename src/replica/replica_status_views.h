// What `hapbx replica status|dstate|cstate|role` print: `drbdadm status`-like text plus the
// /proc/drbd-style lines (cs: ro: ds: protocol, ns: nr: dw: dr: al: oos:, sync progress with
// done %, speed and ETA), or JSON with every field of EngineStatus. Pure: a snapshot in, text out.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.h"
#include "replica/replica_engine.h"

namespace hapbx::replica {

// One resource as the daemon sees it: the engine's status when a disk is attached, else the
// Diskless defaults; plus what the driver knows (device, link, local queue).
struct ResourceView {
  std::string resource;
  int minor = 0;                 // position in the config, like DRBD's minor number
  bool attached = false;
  EngineStatus engine;           // defaults (Diskless, StandAlone) when !attached
  bool wants_connection = false;
  std::string disk_path;
  std::string device_path;       // configured `device`
  std::string loop_path;         // "/dev/loop3" while Primary, else empty
  std::string local_address;     // "127.0.0.1:7788"
  std::string peer_address;
  bool link_up = false;
  std::uint64_t link_bytes_in = 0, link_bytes_out = 0;
  std::uint64_t link_refused = 0, connect_failures = 0;
  std::size_t local_queue = 0;   // jobs waiting for the local disk
  std::uint64_t local_queue_refused = 0;
  std::string note;              // "no metadata: run 'hapbx replica create-md r0'", ...
  core::TimePoint now{};
};

std::string format_status_text(const std::vector<ResourceView>& views);
std::string format_status_json(const std::vector<ResourceView>& views);

// drbdadm-style one-liners: "UpToDate/DUnknown", "Connected", "Primary/Unknown".
std::string format_dstate(const ResourceView& v);
std::string format_cstate(const ResourceView& v);
std::string format_role(const ResourceView& v);

// "1:05:03" from seconds; "12.3" percent with one decimal; "10,240" thousands separators.
std::string format_duration_hms(std::uint64_t seconds);
std::string format_thousands(std::uint64_t n);

}  // namespace hapbx::replica
