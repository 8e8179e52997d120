// Reader for Asterisk-syntax configuration files: see asterisk_config.h for the syntax.
// One Reader walks the top file and its includes, line by line, building ConfigFile directly.
#include "pbx/asterisk_config.h"

#include "pbx/config_diagnostics.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>
#include <unordered_map>

namespace hapbx::pbx {

namespace fs = std::filesystem;

// ---- loaders -----------------------------------------------------------------------------------

Result<std::optional<std::string>> FileConfigLoader::read(const fs::path& path,
                                                          std::size_t max_bytes) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    if (ec && ec != std::errc::no_such_file_or_directory) {
      return make_error(path.string() + ": " + ec.message());
    }
    return std::optional<std::string>{};
  }
  if (fs::is_directory(status)) return make_error(path.string() + ": is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(path.string() + ": cannot open: " + std::strerror(errno));
  std::string content;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    content.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (content.size() > max_bytes) {
      return make_error(path.string() + ": larger than " + std::to_string(max_bytes) +
                        " bytes; config files are not that big, is it the right file?");
    }
  }
  if (in.bad()) return make_error(path.string() + ": read error");
  return std::optional<std::string>(std::move(content));
}

void MemoryConfigLoader::add(const fs::path& path, std::string content) {
  files_[path.lexically_normal().string()] = std::move(content);
}

Result<std::optional<std::string>> MemoryConfigLoader::read(const fs::path& path,
                                                            std::size_t max_bytes) {
  auto it = files_.find(path.lexically_normal().string());
  if (it == files_.end()) return std::optional<std::string>{};
  if (it->second.size() > max_bytes) {
    return make_error(path.string() + ": larger than " + std::to_string(max_bytes) +
                      " bytes; config files are not that big, is it the right file?");
  }
  return std::optional<std::string>(it->second);
}

// ---- small helpers -----------------------------------------------------------------------------

std::string SourceLocation::str() const { return file + ":" + std::to_string(line); }

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

const ConfigEntry* ConfigSection::find(std::string_view key) const {
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (iequals(it->key, key)) return &*it;
  }
  return nullptr;
}

const ConfigSection* ConfigFile::find_section(std::string_view name) const {
  for (const auto& section : sections) {
    if (section.name == name) return &section;
  }
  return nullptr;
}

// ---- the reader --------------------------------------------------------------------------------

namespace {

class Reader {
 public:
  Reader(const fs::path& top, ConfigLoader& loader, const ConfigLimits& limits)
      : root_dir_(top.parent_path().lexically_normal()), loader_(loader), limits_(limits) {}

  Result<ConfigFile> run(const fs::path& top) {
    auto content = loader_.read(top, limits_.max_file_bytes);
    if (!content.ok()) return make_error(content.error().message);
    if (!content.value()) {
      return make_error(display_name(top) + ": file not found (looked for " + top.string() +
                        "; create it or point --config-dir at the directory holding it)");
    }
    Status status = read_file(top, *content.value(), 0);
    if (!status.ok()) return status.error();
    return std::move(out_);
  }

 private:
  std::string display_name(const fs::path& path) const {
    const fs::path normal = path.lexically_normal();
    const fs::path rel = normal.lexically_relative(root_dir_);
    if (!rel.empty() && *rel.begin() != "..") return rel.string();
    return normal.string();
  }

  Error error_at(const SourceLocation& where, const std::string& message) const {
    return make_error(where.str() + ": " + message);
  }

  void warn(const SourceLocation& where, const std::string& message) {
    out_.warnings.push_back(where.str() + ": " + message);
  }

  Status read_file(const fs::path& path, const std::string& content, int depth) {
    ++files_read_;
    total_bytes_ += content.size();
    const std::string name = display_name(path);
    if (total_bytes_ > limits_.max_total_bytes) {
      return make_error(name + ": the configuration with its includes exceeds " +
                        std::to_string(limits_.max_total_bytes) + " bytes");
    }
    const std::string key = path.lexically_normal().string();
    open_files_.push_back(key);

    // A block comment never spans files: one left open in an included file must not swallow
    // the rest of the file that included it.
    const int outer_comment_depth = comment_depth_;
    const SourceLocation outer_comment_start = comment_start_;
    comment_depth_ = 0;

    std::size_t pos = 0;
    int line_no = 0;
    while (pos < content.size()) {
      std::size_t end = content.find('\n', pos);
      if (end == std::string::npos) end = content.size();
      ++line_no;
      std::string_view line(content.data() + pos, end - pos);
      pos = end + 1;
      SourceLocation where{name, line_no};
      if (line.size() > limits_.max_line_length) {
        return error_at(where, "line longer than " + std::to_string(limits_.max_line_length) +
                                   " characters; split it");
      }
      Status status = process_line(path, where, line, depth);
      if (!status.ok()) return status;
    }
    if (comment_depth_ > 0) {
      warn(comment_start_, "block comment ';--' is never closed with '--;' (the rest of the "
                           "file was ignored)");
    }
    comment_depth_ = outer_comment_depth;
    comment_start_ = outer_comment_start;
    open_files_.pop_back();
    return {};
  }

  // Removes comments (tracking block comments across lines) and unescapes `\;`.
  std::string strip_comments(const SourceLocation& where, std::string_view line) {
    std::string out;
    out.reserve(line.size());
    for (std::size_t i = 0; i < line.size(); ++i) {
      const char c = line[i];
      if (comment_depth_ > 0) {
        if (c == '-' && line.substr(i, 3) == "--;") {
          --comment_depth_;
          i += 2;
        } else if (c == ';' && line.substr(i, 3) == ";--") {
          if (comment_depth_ < limits_.max_comment_nesting) ++comment_depth_;
          i += 2;
        }
        continue;
      }
      if (c == '\\' && i + 1 < line.size() && line[i + 1] == ';') {
        out += ';';
        ++i;
        continue;
      }
      if (c == ';') {
        if (line.substr(i, 3) == ";--") {
          comment_depth_ = 1;
          comment_start_ = where;
          i += 2;
          continue;
        }
        break;  // comment to end of line
      }
      out += c;
    }
    return out;
  }

  Status process_line(const fs::path& path, const SourceLocation& where, std::string_view raw,
                      int depth) {
    const std::string stripped = strip_comments(where, raw);
    const std::string_view line = trim(stripped);
    if (line.empty()) return {};
    if (line.front() == '#') return directive(path, where, line, depth);
    if (line.front() == '[') return section_header(where, line);
    return entry(where, line);
  }

  Status directive(const fs::path& path, const SourceLocation& where, std::string_view line,
                   int depth) {
    std::size_t word_end = 1;
    while (word_end < line.size() && !is_space(line[word_end]) && line[word_end] != '"' &&
           line[word_end] != '<')
      ++word_end;
    const std::string_view word = line.substr(1, word_end - 1);
    std::string_view arg = trim(line.substr(word_end));
    if (word == "exec") {
      warn(where, "#exec refused: hapbx never runs programs named in configuration (write the "
                  "program's output to a file and #include it)");
      return {};
    }
    const bool optional = word == "tryinclude";
    if (word != "include" && !optional) {
      warn(where, "unknown directive '#" + shown(word) +
                      "' ignored (expected #include, #tryinclude or #exec)");
      return {};
    }
    if (arg.size() >= 2 && ((arg.front() == '"' && arg.back() == '"') ||
                            (arg.front() == '<' && arg.back() == '>'))) {
      arg = trim(arg.substr(1, arg.size() - 2));
    }
    if (arg.empty()) {
      return error_at(where, "#" + std::string(word) + " without a file name (write #" +
                                 std::string(word) + " \"file.conf\")");
    }
    if (arg.find_first_of("*?[") != std::string_view::npos) {
      warn(where, "#" + std::string(word) + " '" + shown(arg) +
                      "': wildcards are not supported; include each file by name");
      return {};
    }
    if (arg.find('\0') != std::string_view::npos) {
      return error_at(where, "#" + std::string(word) + ": file name contains a NUL byte");
    }
    fs::path target(std::string{arg});
    if (target.is_relative()) target = path.parent_path() / target;
    target = target.lexically_normal();
    const std::string key = target.string();
    if (std::find(open_files_.begin(), open_files_.end(), key) != open_files_.end()) {
      return error_at(where, "#" + std::string(word) + " '" + shown(arg) +
                                 "' includes a file that is already being read (include loop); "
                                 "remove one of the #include lines");
    }
    if (depth + 1 > limits_.max_include_depth) {
      return error_at(where, "#include nested deeper than " +
                                 std::to_string(limits_.max_include_depth) +
                                 " levels; flatten the includes");
    }
    if (files_read_ >= limits_.max_files) {
      return error_at(where, "more than " + std::to_string(limits_.max_files) +
                                 " files included; merge some of them");
    }
    auto content = loader_.read(target, limits_.max_file_bytes);
    if (!content.ok()) return error_at(where, "#" + std::string(word) + ": " + content.error().message);
    if (!content.value()) {
      if (optional) return {};
      return error_at(where, "#include '" + shown(arg) + "': file not found (looked for " +
                                 shown(key) + "; use #tryinclude if it is optional)");
    }
    return read_file(target, *content.value(), depth + 1);
  }

  Status section_header(const SourceLocation& where, std::string_view line) {
    const std::size_t close = line.find(']');
    if (close == std::string_view::npos) {
      return error_at(where, "section header '" + shown(line) + "' has no closing ']'");
    }
    const std::string_view name = trim(line.substr(1, close - 1));
    if (name.empty()) return error_at(where, "empty section name '[]'; give the section a name");
    std::string_view rest = trim(line.substr(close + 1));

    ConfigSection section;
    section.name = std::string(name);
    section.where = where;
    bool append = false;
    if (!rest.empty()) {
      if (rest.front() != '(' || rest.back() != ')') {
        return error_at(where, "unexpected '" + shown(rest) + "' after [" + shown(name) +
                                   "] (options go in parentheses, e.g. [" + shown(name) +
                                   "](!) or [" + shown(name) + "](template))");
      }
      std::string_view options = rest.substr(1, rest.size() - 2);
      while (true) {
        const std::size_t comma = options.find(',');
        const std::string_view option = trim(options.substr(0, comma));
        if (option == "!") {
          section.is_template = true;
        } else if (option == "+") {
          append = true;
        } else if (option.empty()) {
          if (comma != std::string_view::npos || !trim(options).empty() || rest.size() == 2) {
            warn(where, "empty option in [" + shown(name) + "](" + shown(options) + ") ignored");
          }
        } else {
          section.bases.emplace_back(option);
        }
        if (comma == std::string_view::npos) break;
        options.remove_prefix(comma + 1);
      }
    }

    if (append) {
      auto it = last_index_.find(section.name);
      if (it == last_index_.end()) {
        return error_at(where, "[" + shown(name) +
                                   "](+) appends to a section that does not exist yet (define [" +
                                   shown(name) + "] before it)");
      }
      if (section.is_template || !section.bases.empty()) {
        warn(where, "[" + shown(name) + "](+): only '+' applies when appending; other options "
                    "ignored");
      }
      current_ = it->second;
      return {};
    }

    if (out_.sections.size() >= limits_.max_sections) {
      return error_at(where, "more than " + std::to_string(limits_.max_sections) +
                                 " sections; split the configuration");
    }
    for (const auto& base_name : section.bases) {
      auto found = last_index_.find(base_name);
      const ConfigSection* base = found == last_index_.end() ? nullptr : &out_.sections[found->second];
      if (base == nullptr) {
        return error_at(where, "[" + shown(name) + "] inherits from '" + shown(base_name) +
                                   "', which is not defined above (define [" + shown(base_name) +
                                   "](!) before it)");
      }
      if (entry_count_ + base->entries.size() > limits_.max_entries) {
        return error_at(where, "more than " + std::to_string(limits_.max_entries) +
                                   " entries after inheritance; simplify the templates");
      }
      entry_count_ += base->entries.size();
      for (const auto& e : base->entries) {
        section.entries.push_back(e);
        section.entries.back().inherited = true;
      }
    }
    out_.sections.push_back(std::move(section));
    current_ = out_.sections.size() - 1;
    last_index_[out_.sections.back().name] = *current_;
    return {};
  }

  Status entry(const SourceLocation& where, std::string_view line) {
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      warn(where, "line '" + shown(line) + "' ignored: expected 'key = value' or [section]");
      return {};
    }
    if (!current_) {
      return error_at(where, "'" + shown(line) +
                                 "' is outside any section (put it under a [section] header, "
                                 "e.g. [general])");
    }
    ConfigEntry e;
    e.key = std::string(trim(line.substr(0, eq)));
    std::string_view value = line.substr(eq + 1);
    if (!value.empty() && value.front() == '>') {
      e.arrow = true;
      value.remove_prefix(1);
    }
    e.value = std::string(trim(value));
    e.where = where;
    if (e.key.empty()) {
      warn(where, "line '" + shown(line) + "' ignored: no key before '='");
      return {};
    }
    if (++entry_count_ > limits_.max_entries) {
      return error_at(where, "more than " + std::to_string(limits_.max_entries) +
                                 " entries; split the configuration");
    }
    out_.sections[*current_].entries.push_back(std::move(e));
    return {};
  }

  fs::path root_dir_;
  ConfigLoader& loader_;
  const ConfigLimits& limits_;
  ConfigFile out_;
  std::optional<std::size_t> current_;  // index of the section entries go to
  // name -> index of the latest section of that name, for inheritance and (+) in O(1): a file
  // of 10,000 peers all naming one template must not be quadratic.
  std::unordered_map<std::string, std::size_t> last_index_;
  std::vector<std::string> open_files_;  // include stack, for loop detection
  std::size_t files_read_ = 0;
  std::size_t total_bytes_ = 0;
  std::size_t entry_count_ = 0;
  int comment_depth_ = 0;
  SourceLocation comment_start_;
};

}  // namespace

Result<ConfigFile> read_asterisk_config(const fs::path& path, ConfigLoader& loader,
                                        const ConfigLimits& limits) {
  Reader reader(path, loader, limits);
  return reader.run(path);
}

}  // namespace hapbx::pbx
