// The replication engine fed by an authenticated but hostile peer: the input is a byte stream of
// framed messages arriving after a valid handshake. The first input byte picks the engine's
// situation (Primary or Secondary, which generation the peer claims, protocol); local I/O
// completes at once against a small in-memory disk; every 16th message the clock moves and the
// engine ticks. Whatever arrives, the engine must not crash, must stay within the disk and must
// keep its own bookkeeping consistent.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "core/clock.h"
#include "replica/replica_engine.h"

using namespace hapbx::replica;

namespace {

constexpr std::uint64_t kSize = 8u << 20;

void drain(ReplicaEngine& e, std::vector<std::uint8_t>& disk, hapbx::core::ManualClock& clock) {
  for (int round = 0; round < 64; ++round) {
    auto actions = e.take_actions();
    if (actions.empty()) return;
    for (auto& a : actions) {
      auto* io = std::get_if<action::LocalIo>(&a);
      if (!io) continue;
      if (io->offset > kSize || io->length > kSize - io->offset) std::abort();  // never outside the disk
      Payload data;
      using K = action::LocalIo::Kind;
      if (io->kind == K::Read) {
        data = std::make_shared<const std::vector<std::uint8_t>>(disk.begin() + io->offset,
                                                                 disk.begin() + io->offset + io->length);
      } else if (io->kind == K::Write && io->data) {
        if (io->data->size() != io->length) std::abort();
        std::copy(io->data->begin(), io->data->end(), disk.begin() + io->offset);
      }
      e.local_io_done(io->tag, 0, std::move(data), clock.now());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = bytes[0];
  hapbx::core::ManualClock clock;
  EngineConfig c;
  c.node = "asterisk1";
  c.peer = "asterisk2";
  c.protocol = static_cast<Protocol>(mode % 3);
  c.csums_alg = (mode & 0x20) ? "crc32c" : "";
  c.verify_alg = "crc32c";
  EngineDisk d;
  d.superblock.resource = "r0";
  d.superblock.data_size = kSize;
  d.superblock.uuids.current = 0x1111;
  d.superblock.flags.consistent = d.superblock.flags.was_up_to_date = true;
  d.bitmap = Bitmap(kSize / kBlockSize);
  d.activity_log = ActivityLog(7);
  ReplicaEngine e(c, std::move(d), clock.now());
  std::vector<std::uint8_t> disk(kSize, 0);

  (void)e.connect(false, clock.now());
  e.transport_up(clock.now());
  e.message(Hello{kWireVersion, kWireVersion, "r0", "asterisk2", {}}, clock.now());
  Params p;
  p.protocol = c.protocol;
  p.data_size = kSize;
  p.view.uuids.current = (mode & 0x08) ? 0x2222 : 0x1111;  // same generation, or the peer moved on
  p.view.uuids.bitmap = (mode & 0x08) ? 0x1111 : 0;
  p.view.flags.consistent = p.view.flags.was_up_to_date = true;
  p.view.bitmap_bits = (mode & 0x08) ? 16 : 0;
  p.disk = DiskState::UpToDate;
  p.csums_alg = c.csums_alg;
  p.verify_alg = c.verify_alg;
  e.message(std::move(p), clock.now());
  drain(e, disk, clock);
  if (mode & 0x10) {
    (void)e.promote(false, clock.now());
    drain(e, disk, clock);
  }

  MessageDecoder decoder;
  decoder.feed(std::span<const std::uint8_t>(bytes + 1, size - 1));
  int count = 0;
  std::uint64_t next_id = 1;
  while (auto next = decoder.next()) {
    if (!next->ok()) break;
    e.message(std::move(next->value()), clock.now());
    drain(e, disk, clock);
    if (e.role() == Role::Primary && (count % 4) == 0) {
      DeviceRequest r;
      r.kind = DeviceRequest::Kind::Write;
      r.id = next_id++;
      r.offset = (static_cast<std::uint64_t>(count) * 4096 * 37) % kSize;
      r.length = 4096;
      r.data.assign(4096, static_cast<std::uint8_t>(count));
      e.device_request(std::move(r), clock.now());
      drain(e, disk, clock);
    }
    if (++count % 16 == 0) {
      clock.advance(std::chrono::milliseconds(700));
      e.tick(clock.now());
      drain(e, disk, clock);
    }
  }
  const EngineStatus s = e.status(clock.now());
  if (s.out_of_sync_bytes > kSize || s.data_size > kSize) std::abort();
  return 0;
}
