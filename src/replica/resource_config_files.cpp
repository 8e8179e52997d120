// The file sources of the resource-config parser (real filesystem, memory) and its glob matcher.
#include "replica/resource_config_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace hapbx::replica {

namespace {

std::string normal(const std::string& path) {
  return std::filesystem::path(path).lexically_normal().string();
}

std::string too_big(const std::string& path, std::size_t max_bytes) {
  return path + ": larger than " + std::to_string(max_bytes) + " bytes; is this really a config file?";
}

// One element of a pattern (a literal, '?', or a bracket class) at `p` against `c`. Sets `next`
// to the position after the element.
bool match_one(std::string_view pattern, std::size_t p, char c, std::size_t& next) {
  const char pc = pattern[p];
  if (pc == '?') {
    next = p + 1;
    return true;
  }
  if (pc == '[') {
    std::size_t i = p + 1;
    bool negate = false;
    if (i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^')) {
      negate = true;
      ++i;
    }
    const std::size_t first = i;
    bool matched = false;
    while (i < pattern.size() && (pattern[i] != ']' || i == first)) {
      char lo = pattern[i];
      char hi = lo;
      if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
        hi = pattern[i + 2];
        i += 3;
      } else {
        ++i;
      }
      if (c >= lo && c <= hi) matched = true;
    }
    if (i < pattern.size()) {  // found the closing ']'
      next = i + 1;
      return matched != negate;
    }
    // No closing ']': a literal '['.
  }
  next = p + 1;
  return pc == c;
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view name) {
  if (!name.empty() && name[0] == '.' && (pattern.empty() || pattern[0] != '.')) return false;
  std::size_t p = 0;
  std::size_t n = 0;
  std::size_t star_p = std::string_view::npos;
  std::size_t star_n = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star_p = ++p;
      star_n = n;
      continue;
    }
    std::size_t next = 0;
    if (p < pattern.size() && match_one(pattern, p, name[n], next)) {
      p = next;
      ++n;
      continue;
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p;
    n = ++star_n;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

Result<std::optional<std::string>> RealReplicaConfigFiles::read(const std::string& path,
                                                                std::size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::optional<std::string>();
    return make_error(path + ": cannot open: " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error(path + ": not a regular file");
  }
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return make_error(too_big(path, max_bytes));
  }
  std::string content;
  char buffer[65536];
  for (;;) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0) {
      if (errno == EINTR) continue;
      const int saved = errno;
      ::close(fd);
      return make_error(path + ": cannot read: " + std::strerror(saved));
    }
    if (got == 0) break;
    content.append(buffer, static_cast<std::size_t>(got));
    if (content.size() > max_bytes) {  // grew while we read
      ::close(fd);
      return make_error(too_big(path, max_bytes));
    }
  }
  ::close(fd);
  return std::optional<std::string>(std::move(content));
}

std::optional<std::vector<std::string>> RealReplicaConfigFiles::list(const std::string& dir,
                                                                     std::size_t max_entries) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return std::nullopt;
  std::vector<std::string> names;
  while (names.size() < max_entries) {
    const dirent* entry = ::readdir(d);
    if (entry == nullptr) break;
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    names.push_back(name);
  }
  ::closedir(d);
  return names;
}

void MemoryReplicaConfigFiles::add(const std::string& path, std::string content) {
  files_[normal(path)] = std::move(content);
}

Result<std::optional<std::string>> MemoryReplicaConfigFiles::read(const std::string& path,
                                                                  std::size_t max_bytes) {
  auto it = files_.find(normal(path));
  if (it == files_.end()) return std::optional<std::string>();
  if (it->second.size() > max_bytes) return make_error(too_big(path, max_bytes));
  return std::optional<std::string>(it->second);
}

std::optional<std::vector<std::string>> MemoryReplicaConfigFiles::list(const std::string& dir,
                                                                       std::size_t max_entries) {
  std::string prefix = normal(dir);
  if (prefix.empty() || prefix.back() != '/') prefix += '/';
  std::vector<std::string> names;
  bool exists = false;
  for (auto it = files_.lower_bound(prefix); it != files_.end(); ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) break;
    exists = true;
    const std::string rest = it->first.substr(prefix.size());
    const std::size_t slash = rest.find('/');
    std::string name = rest.substr(0, slash);
    if (name.empty() || (!names.empty() && names.back() == name)) continue;
    if (names.size() >= max_entries) break;
    names.push_back(std::move(name));
  }
  if (!exists) return std::nullopt;
  return names;
}

}  // namespace hapbx::replica
