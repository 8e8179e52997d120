// Status text and JSON of the replicated resources (see replica_status_views.h).
#include "replica/replica_status_views.h"

#include <chrono>

#include <fmt/format.h>

#include "core/json_writer.h"

namespace hapbx::replica {
namespace {


bool syncing(ConnectionState c) {
  return c == ConnectionState::SyncSource || c == ConnectionState::SyncTarget ||
         c == ConnectionState::StartingSyncS || c == ConnectionState::StartingSyncT;
}

double seconds_since(core::TimePoint then, core::TimePoint now) {
  if (then == core::TimePoint{} || now <= then) return 0;
  return std::chrono::duration<double>(now - then).count();
}

struct Progress {
  double percent = 0;
  double bytes_per_s = 0;
  std::uint64_t eta_s = 0;
  bool have_eta = false;
};

Progress sync_progress(const EngineStatus& s, core::TimePoint now) {
  Progress p;
  const auto& r = s.resync;
  if (r.total_bytes > 0) p.percent = 100.0 * static_cast<double>(r.done_bytes) / static_cast<double>(r.total_bytes);
  if (p.percent > 100) p.percent = 100;
  const double elapsed = seconds_since(r.started, now);
  if (elapsed > 0) p.bytes_per_s = static_cast<double>(r.done_bytes) / elapsed;
  if (p.bytes_per_s > 0 && r.total_bytes >= r.done_bytes) {
    p.eta_s = static_cast<std::uint64_t>(static_cast<double>(r.total_bytes - r.done_bytes) / p.bytes_per_s);
    p.have_eta = true;
  }
  return p;
}

std::string progress_bar(double percent) {
  const int width = 20;
  int filled = static_cast<int>(percent / 100.0 * width);
  if (filled > width) filled = width;
  std::string bar(static_cast<std::size_t>(filled), '=');
  if (filled < width) bar += '>';
  while (static_cast<int>(bar.size()) < width) bar += '.';
  return "[" + bar + "]";
}

std::string_view role_name(Role r) { return to_string(r); }

}  // namespace

std::string format_duration_hms(std::uint64_t seconds) {
  return fmt::format("{}:{:02}:{:02}", seconds / 3600, seconds / 60 % 60, seconds % 60);
}

std::string format_thousands(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  const std::size_t lead = digits.size() % 3;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (i + 3 - lead) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string format_dstate(const ResourceView& v) {
  return fmt::format("{}/{}", to_string(v.engine.disk), to_string(v.engine.peer_disk));
}

std::string format_cstate(const ResourceView& v) {
  return std::string(to_string(v.engine.connection));
}

std::string format_role(const ResourceView& v) {
  return fmt::format("{}/{}", role_name(v.engine.role), role_name(v.engine.peer_role));
}

std::string format_status_text(const std::vector<ResourceView>& views) {
  std::string out;
  for (const auto& v : views) {
    const EngineStatus& s = v.engine;
    const bool conn = is_connected(s.connection);
    // drbdadm status
    out += fmt::format("{} role:{}\n", v.resource, to_string(s.role));
    out += fmt::format("  disk:{}\n", to_string(s.disk));
    const std::string peer = s.peer.empty() ? std::string("peer") : s.peer;
    if (conn) {
      out += fmt::format("  {} role:{}\n", peer, to_string(s.peer_role));
      std::string line = fmt::format("    replication:{} peer-disk:{}", to_string(s.connection),
                                     to_string(s.peer_disk));
      if (syncing(s.connection) && s.resync.active) {
        line += fmt::format(" done:{:.2f}", sync_progress(s, v.now).percent);
      }
      if (s.connection == ConnectionState::VerifyS || s.connection == ConnectionState::VerifyT) {
        const double pct = s.verify_total_bytes
                               ? 100.0 * static_cast<double>(s.verify_done_bytes) /
                                     static_cast<double>(s.verify_total_bytes)
                               : 0.0;
        line += fmt::format(" done:{:.2f}", pct);
      }
      out += line + "\n";
    } else {
      std::string cs(to_string(s.connection));
      if (s.connection == ConnectionState::WFConnection ||
          s.connection == ConnectionState::Unconnected ||
          s.connection == ConnectionState::WFReportParams) {
        cs = "Connecting";
      }
      out += fmt::format("  {} connection:{}\n", peer, cs);
    }
    if (s.split_brain) out += "  split brain: resolve with 'hapbx replica connect --discard-my-data " + v.resource + "' on the victim\n";
    if (!s.last_event.empty()) out += fmt::format("  last event: {}\n", s.last_event);
    if (!v.note.empty()) out += fmt::format("  note: {}\n", v.note);
    // /proc/drbd
    const char proto = s.protocol == Protocol::A ? 'A' : s.protocol == Protocol::B ? 'B' : 'C';
    out += fmt::format(" {}: cs:{} ro:{} ds:{} {} r-----\n", v.minor, to_string(s.connection),
                       format_role(v), format_dstate(v), proto);
    const auto& c = s.counters;
    out += fmt::format(
        "    ns:{} nr:{} dw:{} dr:{} al:{} bm:0 lo:{} pe:{} ua:0 ap:{} ep:1 wo:f oos:{}\n",
        c.peer_bytes_sent / 1024, c.peer_bytes_received / 1024, c.bytes_written / 1024,
        c.bytes_read / 1024, c.activity_log_writes, v.local_queue, s.pending_requests,
        s.pending_requests, s.out_of_sync_bytes / 1024);
    if (syncing(s.connection) && s.resync.active) {
      const Progress p = sync_progress(s, v.now);
      const std::uint64_t left = s.resync.total_bytes > s.resync.done_bytes
                                     ? s.resync.total_bytes - s.resync.done_bytes
                                     : 0;
      out += fmt::format("\t{} sync'ed: {:.1f}% ({}/{})K\n", progress_bar(p.percent), p.percent,
                         left / 1024, s.resync.total_bytes / 1024);
      out += fmt::format("\tfinish: {} speed: {} K/sec\n",
                         p.have_eta ? format_duration_hms(p.eta_s) : std::string("?:??:??"),
                         format_thousands(static_cast<std::uint64_t>(p.bytes_per_s / 1024)));
      out += fmt::format("\tresync: sent {} KiB, skipped (csums) {} KiB\n",
                         s.resync.sent_bytes / 1024, s.resync.skipped_bytes / 1024);
    }
    if (s.connection == ConnectionState::VerifyS || s.connection == ConnectionState::VerifyT) {
      out += fmt::format("\tverify: {}/{} KiB\n", s.verify_done_bytes / 1024,
                         s.verify_total_bytes / 1024);
    }
    out += fmt::format(
        "    peer bytes: sent {} received {}, resync sent {} received {}; link {} in {} out {}\n",
        c.peer_bytes_sent, c.peer_bytes_received, c.resync_bytes_sent, c.resync_bytes_received,
        v.link_up ? "up" : "down", v.link_bytes_in, v.link_bytes_out);
    out += fmt::format("    device {}{}; disk {}; uuids {}\n", v.device_path,
                       v.loop_path.empty() ? std::string() : " -> " + v.loop_path, v.disk_path,
                       format_uuids(s.uuids));
  }
  if (views.empty()) out += "no resources configured for this node\n";
  return out;
}

std::string format_status_json(const std::vector<ResourceView>& views) {
  core::JsonWriter w;
  w.begin_object().key("resources").begin_array();
  for (const auto& v : views) {
    const EngineStatus& s = v.engine;
    const auto& c = s.counters;
    const Progress p = sync_progress(s, v.now);
    w.begin_object()
        .field("name", v.resource)
        .field("minor", v.minor)
        .field("attached", v.attached)
        .field("node", s.node)
        .field("peer", s.peer)
        .field("role", to_string(s.role))
        .field("peer_role", to_string(s.peer_role))
        .field("connection", to_string(s.connection))
        .field("disk", to_string(s.disk))
        .field("peer_disk", to_string(s.peer_disk))
        .field("protocol", to_string(s.protocol))
        .field("data_size", s.data_size)
        .field("out_of_sync_bytes", s.out_of_sync_bytes)
        .field("split_brain", s.split_brain)
        .field("last_event", s.last_event)
        .field("pending_requests", static_cast<std::uint64_t>(s.pending_requests))
        .field("wants_connection", v.wants_connection)
        .field("uuids", format_uuids(s.uuids))
        .field("device", v.device_path)
        .field("loop", v.loop_path)
        .field("disk_path", v.disk_path)
        .field("address", v.local_address)
        .field("peer_address", v.peer_address)
        .field("note", v.note);
    w.key("resync").begin_object()
        .field("active", s.resync.active)
        .field("total_bytes", s.resync.total_bytes)
        .field("done_bytes", s.resync.done_bytes)
        .field("sent_bytes", s.resync.sent_bytes)
        .field("skipped_bytes", s.resync.skipped_bytes)
        .field("percent", p.percent)
        .field("bytes_per_second", p.bytes_per_s)
        .field("eta_seconds", p.have_eta ? static_cast<std::int64_t>(p.eta_s) : std::int64_t{-1})
        .end_object();
    w.key("verify").begin_object()
        .field("done_bytes", s.verify_done_bytes)
        .field("total_bytes", s.verify_total_bytes)
        .end_object();
    w.key("counters").begin_object()
        .field("app_writes", c.app_writes)
        .field("app_reads", c.app_reads)
        .field("app_flushes", c.app_flushes)
        .field("bytes_written", c.bytes_written)
        .field("bytes_read", c.bytes_read)
        .field("peer_bytes_sent", c.peer_bytes_sent)
        .field("peer_bytes_received", c.peer_bytes_received)
        .field("resync_bytes_sent", c.resync_bytes_sent)
        .field("resync_bytes_received", c.resync_bytes_received)
        .field("activity_log_writes", c.activity_log_writes)
        .field("auth_failures", c.auth_failures)
        .field("integrity_failures", c.integrity_failures)
        .field("protocol_errors", c.protocol_errors)
        .field("split_brains", c.split_brains)
        .field("connects", c.connects)
        .field("verify_out_of_sync_bytes", c.verify_out_of_sync_bytes)
        .end_object();
    w.key("link").begin_object()
        .field("up", v.link_up)
        .field("bytes_in", v.link_bytes_in)
        .field("bytes_out", v.link_bytes_out)
        .field("refused_connections", v.link_refused)
        .field("connect_failures", v.connect_failures)
        .end_object();
    w.key("local").begin_object()
        .field("queued", static_cast<std::uint64_t>(v.local_queue))
        .field("refused", v.local_queue_refused)
        .end_object();
    w.end_object();
  }
  w.end_array().end_object();
  return w.take() + "\n";
}

}  // namespace hapbx::replica
