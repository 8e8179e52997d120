// The nonce key file. See state_files.h.
#include "pbx/state_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace hapbx::pbx {

Result<sip::NonceKey> load_or_create_nonce_key(const std::filesystem::path& state_dir) {
  const auto path = state_dir / "nonce.key";
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) return make_error(fmt::format("cannot read {}", path.string()));
    std::string hex = text.str();
    while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r' || hex.back() == ' ')) {
      hex.pop_back();
    }
    auto key = sip::nonce_key_from_hex(hex);
    if (!key) {
      return make_error(fmt::format("{}: {} (delete the file to make a new key; phones then "
                                    "re-authenticate once)",
                                    path.string(), key.error().message));
    }
    return key;
  }
  auto key = sip::make_nonce_key();
  if (!key) return key;
  const auto tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return make_error(fmt::format("cannot create {}: {}", tmp, std::strerror(errno)));
  }
  const std::string hex = sip::nonce_key_to_hex(*key) + "\n";
  const bool written = ::write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  if (!written || ::rename(tmp.c_str(), path.c_str()) != 0) {
    return make_error(fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
  }
  return key;
}

}  // namespace hapbx::pbx
