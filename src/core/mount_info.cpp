// Parsing /proc/<pid>/mountinfo. See mount_info.h.
#include "core/mount_info.h"

#include <sys/stat.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

namespace hapbx::core {
namespace {

std::vector<std::string_view> split_spaces(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    std::size_t j = i;
    while (j < line.size() && line[j] != ' ') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto is_oct = [](char c) { return c >= '0' && c <= '7'; };
    if (s[i] == '\\' && i + 3 < s.size() && is_oct(s[i + 1]) && is_oct(s[i + 2]) &&
        is_oct(s[i + 3])) {
      out.push_back(static_cast<char>(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) |
                                      (s[i + 3] - '0')));
      i += 3;
      continue;
    }
    out.push_back(s[i]);
  }
  return out;
}

template <typename T>
bool parse_number(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::string read_whole(const std::string& path, bool& ok) {
  std::ifstream in(path);
  ok = static_cast<bool>(in);
  if (!ok) return {};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::vector<MountEntry> parse_mount_info(std::string_view text) {
  std::vector<MountEntry> out;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    auto f = split_spaces(line);
    // id parent major:minor root mount_point options [optional...] - fstype source superopts
    if (f.size() < 9) continue;
    std::size_t dash = 6;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (dash + 2 >= f.size()) continue;
    MountEntry e;
    std::size_t colon = f[2].find(':');
    if (colon == std::string_view::npos || !parse_number(f[0], e.mount_id) ||
        !parse_number(f[2].substr(0, colon), e.major) ||
        !parse_number(f[2].substr(colon + 1), e.minor)) {
      continue;
    }
    e.root = unescape(f[3]);
    e.mount_point = unescape(f[4]);
    e.fstype = unescape(f[dash + 1]);
    e.source = unescape(f[dash + 2]);
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<MountEntry>> read_mount_info(const std::string& path) {
  bool ok = false;
  std::string text = read_whole(path, ok);
  if (!ok) return make_error(path + ": cannot read the mount table");
  return parse_mount_info(text);
}

std::vector<std::string> find_mounts_of_device(unsigned major, unsigned minor) {
  std::vector<std::string> found;
  auto match = [&](const std::vector<MountEntry>& entries, const std::string& suffix) {
    for (const auto& e : entries) {
      if (e.major == major && e.minor == minor) found.push_back(e.mount_point + suffix);
    }
  };
  struct stat self_ns {};
  bool have_self = ::stat("/proc/self/ns/mnt", &self_ns) == 0;
  if (auto own = read_mount_info(); own.ok()) match(*own, "");
  // Other mount namespaces (the lab gives each node its own; a test mounts in a private one).
  std::set<ino_t> seen;
  if (have_self) seen.insert(self_ns.st_ino);
  std::error_code ec;
  for (const auto& dir : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string pid = dir.path().filename().string();
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    struct stat ns {};
    if (::stat((dir.path() / "ns/mnt").c_str(), &ns) != 0) continue;
    if (!seen.insert(ns.st_ino).second) continue;
    auto entries = read_mount_info((dir.path() / "mountinfo").string());
    if (entries.ok()) match(*entries, " (in the mount namespace of pid " + pid + ")");
  }
  return found;
}

}  // namespace hapbx::core
