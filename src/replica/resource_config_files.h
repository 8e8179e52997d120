// Where the resource-config parser reads included files from, and the limits that bound its work.
// The real filesystem for replicad and `hapbx`; files held in memory for tests and the fuzzer, so
// `include "drbd.d/*.res";` (relative, globbed, nested, looping) is reachable without a disk.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "replica/resource_config.h"

namespace hapbx::replica {

// Implementations never throw.
class ReplicaConfigFiles {
 public:
  virtual ~ReplicaConfigFiles() = default;
  // The whole content of `path`. std::nullopt: no such file. Error: it exists but cannot be read
  // (a directory, permissions) or is larger than `max_bytes`.
  virtual Result<std::optional<std::string>> read(const std::string& path,
                                                   std::size_t max_bytes) = 0;
  // The names (not paths) of the entries of directory `dir`, in any order, at most `max_entries`
  // of them; std::nullopt when `dir` does not exist or cannot be listed.
  virtual std::optional<std::vector<std::string>> list(const std::string& dir,
                                                       std::size_t max_entries) = 0;
};

class RealReplicaConfigFiles final : public ReplicaConfigFiles {
 public:
  Result<std::optional<std::string>> read(const std::string& path,
                                          std::size_t max_bytes) override;
  std::optional<std::vector<std::string>> list(const std::string& dir,
                                               std::size_t max_entries) override;
};

// Files keyed by their lexically normalised path ("/cfg/./a.res" is "/cfg/a.res").
class MemoryReplicaConfigFiles final : public ReplicaConfigFiles {
 public:
  void add(const std::string& path, std::string content);
  Result<std::optional<std::string>> read(const std::string& path,
                                          std::size_t max_bytes) override;
  std::optional<std::vector<std::string>> list(const std::string& dir,
                                               std::size_t max_entries) override;

 private:
  std::map<std::string, std::string> files_;
};

// Bounds against hostile or runaway input. Exceeding one is an error naming file:line.
struct ReplicaConfigLimits {
  std::size_t max_file_bytes = 1u << 20;    // one file
  std::size_t max_total_bytes = 8u << 20;   // all files of one parse
  std::size_t max_files = 256;              // files read, the top one included
  int max_include_depth = 8;
  int max_nesting = 8;                      // `{` inside `{`
  std::size_t max_word_length = 4096;
  std::size_t max_statements = 200000;      // all files together
  std::size_t max_resources = 1024;
  std::size_t max_glob_entries = 4096;      // directory entries looked at per glob
};

Result<ReplicaConfig> parse_replica_config(std::string_view text, const std::string& file,
                                           ReplicaConfigFiles& files,
                                           const ReplicaConfigLimits& limits = {});

// `name` matched against a shell wildcard pattern: `*`, `?`, `[abc]`, `[a-z]`, `[!x]`; a leading
// '.' is matched only by a literal '.'. Linear in |pattern| * |name| (no backtracking blow-up).
bool glob_match(std::string_view pattern, std::string_view name);

}  // namespace hapbx::replica
