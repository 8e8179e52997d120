// /proc/<pid>/mountinfo, parsed: which filesystems are mounted where, with their device numbers.
// The replicated disk uses it to find a stale FUSE mount of its own, to learn the FUSE connection's
// device, and to name where a loop device is mounted when it refuses to tear it down; the
// cluster's Filesystem agent uses it to tell its device's mount from whatever else is there.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace hapbx::core {

struct MountEntry {
  int mount_id = 0;
  unsigned major = 0;
  unsigned minor = 0;
  std::string root;         // path inside the filesystem that is mounted
  std::string mount_point;  // unescaped (\040 -> ' ')
  std::string fstype;       // e.g. "ext4", "fuse.hapbx"
  std::string source;
};

// Lines that do not have the documented shape are skipped (the file is the kernel's, but a
// parser must not trust it blindly).
std::vector<MountEntry> parse_mount_info(std::string_view text);

// Reads and parses a mountinfo file; the error names the file.
Result<std::vector<MountEntry>> read_mount_info(const std::string& path = "/proc/self/mountinfo");

// Where the block device major:minor is mounted, as seen from any mount namespace on the host:
// "/replica" when visible in ours, else "/x (in the mount namespace of pid 1234)". Empty when it
// is mounted nowhere we can see.
std::vector<std::string> find_mounts_of_device(unsigned major, unsigned minor);

}  // namespace hapbx::core
