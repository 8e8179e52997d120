// Byte-level helpers shared by replicad's on-disk formats (superblock, activity log): fixed
// little-endian integers and the CRC32C that seals every record. Internal to the metadata code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace hapbx::replica {

// Standard CRC-32C (Castagnoli; reflected, polynomial 0x82F63B78, initial and final xor
// 0xFFFFFFFF): crc32c("123456789") == 0xE3069283. Table-driven: the records are a few KiB.
std::uint32_t crc32c(std::span<const std::uint8_t> bytes);

inline void put_le32(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
inline void put_le64(std::uint8_t* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
inline std::uint32_t get_le32(const std::uint8_t* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::uint32_t{p[i]} << (8 * i);
  return v;
}
inline std::uint64_t get_le64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t{p[i]} << (8 * i);
  return v;
}
inline std::uint32_t get_be32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 |
         std::uint32_t{p[3]};
}

}  // namespace hapbx::replica
