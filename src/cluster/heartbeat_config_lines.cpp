// The line tokenizer and value helpers of the Heartbeat-syntax config parsers.
#include "cluster/heartbeat_config_lines.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hapbx::cluster::hb_config {

namespace {

constexpr std::size_t kMaxErrorsShown = 20;

bool is_blank(char c) { return c == ' ' || c == '\t'; }

bool is_bad_control(unsigned char c) {
  return (c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

std::string shown(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 60)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? '?' : c;
  }
  if (text.size() > 60) out += "...";
  return out;
}

std::string place(const std::string& file, int line) {
  return line > 0 ? file + ":" + std::to_string(line) : file;
}

void Diagnostics::error(int line, const std::string& message) {
  errors_.push_back(place(file_, line) + ": " + message);
}

void Diagnostics::warn(int line, const std::string& message) {
  warnings_.push_back({file_, line, place(file_, line) + ": " + message});
}

Error Diagnostics::take_error() const {
  std::string out;
  for (std::size_t i = 0; i < errors_.size() && i < kMaxErrorsShown; ++i) {
    if (i > 0) out += '\n';
    out += errors_[i];
  }
  if (errors_.size() > kMaxErrorsShown) {
    const std::size_t more = errors_.size() - kMaxErrorsShown;
    out += "\n" + file_ + ": " + std::to_string(more) + " more error" + (more == 1 ? "" : "s") +
           " not shown; fix the ones above first";
  }
  return make_error(out);
}

Result<std::vector<Line>> split_lines(std::string_view text, const std::string& file,
                                      bool continuations, const HeartbeatConfigLimits& limits) {
  if (text.size() > limits.max_file_bytes) {
    return make_error(file + ": larger than " + std::to_string(limits.max_file_bytes) +
                      " bytes; is this the right file?");
  }
  std::vector<Line> lines;
  Line current;
  std::size_t logical_bytes = 0;
  bool continuing = false;
  std::size_t physical = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view raw = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++physical;
    if (physical > limits.max_lines) {
      return make_error(place(file, static_cast<int>(physical)) + ": more than " +
                        std::to_string(limits.max_lines) + " lines");
    }
    const int number = static_cast<int>(physical);
    for (char c : raw) {
      if (is_bad_control(static_cast<unsigned char>(c))) {
        return make_error(place(file, number) + ": control byte 0x" +
                          [](unsigned char u) {
                            const char* hex = "0123456789abcdef";
                            return std::string{hex[u >> 4], hex[u & 15]};
                          }(static_cast<unsigned char>(c)) +
                          " in the text; this file must be plain text");
      }
    }
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    if (!continuing) {
      current = Line{};
      current.number = number;
      logical_bytes = 0;
    }
    logical_bytes += raw.size();
    if (logical_bytes > limits.max_logical_line_bytes) {
      return make_error(place(file, current.number) + ": line longer than " +
                        std::to_string(limits.max_logical_line_bytes) + " bytes");
    }
    // A continuation: the last non-blank character is '\' (outside a comment).
    bool continues = false;
    std::size_t i = 0;
    while (i < raw.size()) {
      while (i < raw.size() && is_blank(raw[i])) ++i;
      if (i >= raw.size()) break;
      if (raw[i] == '#') break;  // a comment starts a word: the rest of the line is ignored
      const std::size_t start = i;
      while (i < raw.size() && !is_blank(raw[i])) ++i;
      std::string_view word = raw.substr(start, i - start);
      if (continuations && word.back() == '\\') {
        std::size_t j = i;
        while (j < raw.size() && is_blank(raw[j])) ++j;
        if (j >= raw.size()) {
          continues = true;
          word.remove_suffix(1);
          if (word.empty()) break;
        }
      }
      if (word.size() > limits.max_word_length) {
        return make_error(place(file, number) + ": a word longer than " +
                          std::to_string(limits.max_word_length) + " bytes");
      }
      if (current.words.size() >= limits.max_words_per_line) {
        return make_error(place(file, current.number) + ": more than " +
                          std::to_string(limits.max_words_per_line) + " words on one line");
      }
      current.words.emplace_back(word);
    }
    continuing = continues;
    if (!continuing && !current.words.empty()) lines.push_back(std::move(current));
  }
  if (continuing && !current.words.empty()) lines.push_back(std::move(current));
  return lines;
}

Result<std::string> read_text_file(const std::string& path, std::size_t max_bytes,
                                   const std::function<Status(const struct stat&)>& check) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return make_error(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return make_error(path + ": cannot stat: " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error(path + " is not a regular file");
  }
  if (check) {
    if (Status s = check(st); !s) {
      ::close(fd);
      return s.error();
    }
  }
  std::string out;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return make_error(path + ": cannot read: " + std::strerror(err));
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > max_bytes) {
      ::close(fd);
      return make_error(path + ": larger than " + std::to_string(max_bytes) +
                        " bytes; is this the right file?");
    }
  }
  ::close(fd);
  return out;
}

bool is_ipv4(std::string_view text) {
  if (text.empty() || text.size() > 15) return false;
  const std::string s(text);
  in_addr a{};
  return ::inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool is_ipv6(std::string_view text) {
  if (text.empty() || text.size() > 45) return false;
  const std::string s(text);
  in6_addr a{};
  return ::inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

bool valid_interface_name(std::string_view name) {
  if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '/') return false;
  }
  return true;
}

bool valid_node_name(std::string_view name) {
  if (name.empty() || name.size() > 253 || name[0] == '-' || name[0] == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::optional<long> parse_uint(std::string_view text) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  long v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::optional<bool> parse_bool(std::string_view text) {
  const std::string s = lower(text);
  if (s == "on" || s == "yes" || s == "true" || s == "y" || s == "1") return true;
  if (s == "off" || s == "no" || s == "false" || s == "n" || s == "0") return false;
  return std::nullopt;
}

}  // namespace hapbx::cluster::hb_config
