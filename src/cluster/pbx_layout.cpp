// The PBX's files on the replicated disk (see pbx_layout.h).
#include "cluster/pbx_layout.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace hapbx::cluster {
namespace fs = std::filesystem;

namespace {

// Durable before pbxd starts: a power cut seconds after the first start must not leave empty
// files on the disk the peer takes over (ext4 allocates data late; the names alone reach the
// journal first).
Status sync_path(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error(fmt::format("pbx layout: cannot open {} to sync it: {}", path, std::strerror(errno)));
  const int r = fsync(fd);
  const int saved = errno;
  close(fd);
  if (r != 0) return make_error(fmt::format("pbx layout: fsync {}: {}", path, std::strerror(saved)));
  return {};
}

Status ensure_dir(const std::string& path, PbxLayoutReport& report) {
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(path, ec);
  if (fs::is_directory(st)) return {};
  if (fs::exists(st)) return make_error(fmt::format("pbx layout: {} exists but is not a directory", path));
  if (!fs::create_directories(path, ec) && ec)
    return make_error(fmt::format("pbx layout: cannot create {}: {}", path, ec.message()));
  report.created.push_back(path);
  return sync_path(fs::path(path).parent_path().string());
}

}  // namespace

Result<PbxLayoutReport> prepare_pbx_layout(const PbxLayout& layout) {
  PbxLayoutReport report;
  std::error_code ec;
  if (!fs::is_directory(layout.root, ec))
    return make_error(fmt::format("pbx layout: {} is not a directory (is the replicated disk mounted?)", layout.root));
  const fs::path sip = fs::path(layout.config_dir()) / "sip.conf";
  const bool seeded_before = fs::exists(sip, ec);
  if (!seeded_before && !fs::is_regular_file(fs::path(layout.seed_dir) / "sip.conf", ec))
    return make_error(fmt::format("pbx layout: no {} and no seed configuration in {} (put sip.conf and "
                                  "extensions.conf in one of them)",
                                  sip.string(), layout.seed_dir));
  for (const std::string& d : {layout.config_dir(), layout.state_dir(), layout.spool_dir(), layout.log_dir()}) {
    if (Status s = ensure_dir(d, report); !s) return s.error();
  }
  if (seeded_before) return report;
  for (const fs::directory_entry& e : fs::directory_iterator(layout.seed_dir, ec)) {
    if (!e.is_regular_file()) continue;
    const fs::path to = fs::path(layout.config_dir()) / e.path().filename();
    if (!fs::copy_file(e.path(), to, fs::copy_options::skip_existing, ec) && ec)
      return make_error(fmt::format("pbx layout: cannot copy {} to {}: {}", e.path().string(), to.string(), ec.message()));
    if (Status st = sync_path(to.string()); !st) return st.error();
    report.seeded.push_back(to.string());
  }
  if (ec) return make_error(fmt::format("pbx layout: cannot read {}: {}", layout.seed_dir, ec.message()));
  if (Status st = sync_path(layout.config_dir()); !st) return st.error();
  return report;
}

}  // namespace hapbx::cluster
