// Tokenizer and statement-tree reader of the DRBD resource-config syntax, includes expanded.
#include "replica/resource_config_syntax.h"

#include <algorithm>
#include <filesystem>

namespace hapbx::replica::config_syntax {

namespace {

namespace fs = std::filesystem;

enum class Kind { Word, Open, Close, Semi, End };

struct Token {
  Kind kind = Kind::End;
  Word word;
  int line = 0;
};

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

bool is_control(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u < 0x20 && !is_space(c)) || u == 0x7f;
}

bool has_wildcard(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

std::string hex_byte(char c) {
  static const char kDigits[] = "0123456789abcdef";
  const auto u = static_cast<unsigned char>(c);
  return std::string("0x") + kDigits[u >> 4] + kDigits[u & 15];
}

// Splits one file into tokens. Errors carry the place already.
class Lexer {
 public:
  Lexer(std::string_view text, const std::string& display, std::size_t max_word)
      : text_(text), display_(display), max_word_(max_word) {}

  Result<Token> next() {
    for (;;) {
      if (pos_ >= text_.size()) return Token{Kind::End, {}, line_};
      const char c = text_[pos_];
      if (c == '\n') {
        ++line_;
        ++pos_;
      } else if (is_space(c)) {
        ++pos_;
      } else if (c == '#') {
        const std::size_t eol = text_.find('\n', pos_);
        pos_ = eol == std::string_view::npos ? text_.size() : eol;
      } else {
        break;
      }
    }
    const char c = text_[pos_];
    if (c == '{') return punct(Kind::Open);
    if (c == '}') return punct(Kind::Close);
    if (c == ';') return punct(Kind::Semi);
    if (c == '"') return quoted();
    return bare();
  }

 private:
  Token punct(Kind kind) {
    ++pos_;
    return Token{kind, {}, line_};
  }

  Error fail(int line, const std::string& message) const {
    return make_error(display_ + ":" + std::to_string(line) + ": " + message);
  }

  Result<Token> bare() {
    Token t{Kind::Word, {}, line_};
    t.word.line = line_;
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (is_space(c) || c == '{' || c == '}' || c == ';' || c == '"' || c == '#') break;
      if (is_control(c)) return fail(line_, "unexpected control character " + hex_byte(c));
      if (t.word.text.size() >= max_word_) return too_long();
      t.word.text += c;
      ++pos_;
    }
    return t;
  }

  Result<Token> quoted() {
    Token t{Kind::Word, {}, line_};
    t.word.line = line_;
    t.word.quoted = true;
    ++pos_;  // the opening quote
    for (;;) {
      if (pos_ >= text_.size() || text_[pos_] == '\n') {
        return fail(t.line, "string not closed on this line (missing '\"')");
      }
      char c = text_[pos_++];
      if (c == '"') return t;
      if (c == '\\') {
        if (pos_ >= text_.size() || text_[pos_] == '\n') {
          return fail(t.line, "string not closed on this line (missing '\"')");
        }
        c = text_[pos_++];
        if (c == 'n') c = '\n';
        else if (c == 't') c = '\t';
        else if (c == 'r') c = '\r';
      } else if (is_control(c)) {
        return fail(line_, "unexpected control character " + hex_byte(c) + " in a string");
      }
      if (t.word.text.size() >= max_word_) return too_long();
      t.word.text += c;
    }
  }

  Error too_long() const {
    return fail(line_, "word or string longer than " + std::to_string(max_word_) + " characters");
  }

  std::string_view text_;
  const std::string& display_;
  std::size_t max_word_;
  std::size_t pos_ = 0;
  int line_ = 1;
};

// One file being read: its index in Document::files, its path as opened and as shown.
struct FileContext {
  int index = 0;
  std::string real;
  std::string display;
  int depth = 0;  // include depth, 0 for the top file
};

class Reader {
 public:
  Reader(ReplicaConfigFiles& files, const ReplicaConfigLimits& limits, Document& doc)
      : files_(files), limits_(limits), doc_(doc) {}

  Status read_top(std::string_view text, const std::string& file) {
    if (text.size() > limits_.max_file_bytes) {
      return make_error(file + ": larger than " + std::to_string(limits_.max_file_bytes) +
                        " bytes; is this really a config file?");
    }
    total_bytes_ = text.size();
    doc_.files.push_back(file);
    FileContext ctx{0, fs::path(file).lexically_normal().string(), file, 0};
    return read_file(text, ctx, 0, doc_.statements);
  }

 private:
  Status read_file(std::string_view text, const FileContext& ctx, int nesting,
                   std::vector<Statement>& out) {
    open_files_.push_back(ctx.real);
    Lexer lexer(text, ctx.display, limits_.max_word_length);
    Status status = parse_block(lexer, ctx, nesting, 0, out);
    open_files_.pop_back();
    return status;
  }

  Error fail(const FileContext& ctx, int line, const std::string& message) const {
    return make_error(ctx.display + ":" + std::to_string(line) + ": " + message);
  }

  void warn(const FileContext& ctx, int line, const std::string& message) {
    doc_.warnings.push_back(
        {ctx.display, line, ctx.display + ":" + std::to_string(line) + ": " + message});
  }

  // Reads statements until the '}' closing the block opened at `open_line` (nesting > 0) or
  // the end of the file (nesting == 0 at the top of a file; an included file's own top level
  // is at the includer's nesting, and must not close the includer's block).
  Status parse_block(Lexer& lexer, const FileContext& ctx, int nesting, int open_line,
                     std::vector<Statement>& out) {
    const bool file_top = open_line == 0;
    for (;;) {
      auto token = lexer.next();
      if (!token.ok()) return token.error();
      switch (token->kind) {
        case Kind::End:
          if (!file_top) {
            return fail(ctx, open_line, "'{' is never closed (missing '}')");
          }
          return Status::Ok();
        case Kind::Close:
          if (file_top) return fail(ctx, token->line, "'}' without a matching '{'");
          return Status::Ok();
        case Kind::Semi:
          continue;  // an empty statement: harmless
        case Kind::Open:
          return fail(ctx, token->line, "'{' without a name before it (e.g. net {)");
        case Kind::Word:
          break;
      }
      Statement st;
      st.file = ctx.index;
      st.line = token->line;
      st.words.push_back(std::move(token->word));
      for (;;) {
        auto t = lexer.next();
        if (!t.ok()) return t.error();
        const Word& last = st.words.back();
        if (t->kind == Kind::Word) {
          if (t->word.line != last.line) {
            return fail(ctx, last.line, "missing ';' after '" + shown(last.text) + "'");
          }
          if (st.words.size() >= 64) return fail(ctx, t->line, "too many words in one statement");
          st.words.push_back(std::move(t->word));
          continue;
        }
        if (t->kind == Kind::Semi) break;
        if (t->kind == Kind::Open) {
          if (nesting + 1 > limits_.max_nesting) {
            return fail(ctx, t->line,
                        "sections nested deeper than " + std::to_string(limits_.max_nesting));
          }
          st.has_block = true;
          Status inner = parse_block(lexer, ctx, nesting + 1, t->line, st.block);
          if (!inner.ok()) return inner;
          break;
        }
        return fail(ctx, last.line, "missing ';' after '" + shown(last.text) + "'");
      }
      if (++statements_ > limits_.max_statements) {
        return fail(ctx, st.line,
                    "more than " + std::to_string(limits_.max_statements) + " statements");
      }
      if (!st.has_block && st.words[0].text == "include" && !st.words[0].quoted) {
        Status included = include(st, ctx, nesting, out);
        if (!included.ok()) return included;
        continue;
      }
      out.push_back(std::move(st));
    }
  }

  Status include(const Statement& st, const FileContext& ctx, int nesting,
                 std::vector<Statement>& out) {
    if (st.words.size() != 2 || st.words[1].text.empty()) {
      return fail(ctx, st.line, "include takes one file name (e.g. include \"drbd.d/*.res\";)");
    }
    const std::string& pattern = st.words[1].text;
    const fs::path pat(pattern);
    const fs::path real =
        (pat.is_absolute() ? pat : fs::path(ctx.real).parent_path() / pat).lexically_normal();
    const fs::path display =
        (pat.is_absolute() ? pat : fs::path(ctx.display).parent_path() / pat).lexically_normal();
    const std::string name = real.filename().string();
    if (name.empty()) {
      return fail(ctx, st.line, "include '" + shown(pattern) + "' names a directory, not a file");
    }
    if (has_wildcard(real.parent_path().string())) {
      return fail(ctx, st.line, "include '" + shown(pattern) +
                                    "': wildcards are allowed in the file name only");
    }
    if (!has_wildcard(name)) return include_one(st, ctx, nesting, real, display, false, out);

    auto entries = files_.list(real.parent_path().string(), limits_.max_glob_entries);
    std::vector<std::string> matches;
    if (entries) {
      for (const std::string& entry : *entries) {
        if (glob_match(name, entry)) matches.push_back(entry);
      }
    }
    std::sort(matches.begin(), matches.end());
    if (matches.empty()) {
      warn(ctx, st.line, "include '" + shown(pattern) + "' matches no file");
      return Status::Ok();
    }
    for (const std::string& match : matches) {
      Status one = include_one(st, ctx, nesting, real.parent_path() / match,
                               display.parent_path() / match, true, out);
      if (!one.ok()) return one;
    }
    return Status::Ok();
  }

  Status include_one(const Statement& st, const FileContext& ctx, int nesting,
                     const fs::path& real, const fs::path& display, bool from_glob,
                     std::vector<Statement>& out) {
    const std::string real_str = real.string();
    const std::string shown_name = display.string();
    if (std::find(open_files_.begin(), open_files_.end(), real_str) != open_files_.end()) {
      if (from_glob) {
        warn(ctx, st.line, "include: '" + shown(shown_name) +
                               "' is already being read (it would include itself); skipped");
        return Status::Ok();
      }
      return fail(ctx, st.line, "include loop: '" + shown(shown_name) +
                                    "' is already being read; remove this include");
    }
    if (ctx.depth + 1 > limits_.max_include_depth) {
      return fail(ctx, st.line, "includes nested deeper than " +
                                    std::to_string(limits_.max_include_depth) +
                                    " levels; flatten them");
    }
    if (doc_.files.size() >= limits_.max_files) {
      return fail(ctx, st.line, "more than " + std::to_string(limits_.max_files) +
                                    " files included; merge some of them");
    }
    auto content = files_.read(real_str, limits_.max_file_bytes);
    if (!content.ok()) return fail(ctx, st.line, "include: " + content.error().message);
    if (!content->has_value()) {
      return fail(ctx, st.line, "include '" + shown(shown_name) + "': file not found");
    }
    const std::string& text = **content;
    total_bytes_ += text.size();
    if (total_bytes_ > limits_.max_total_bytes) {
      return fail(ctx, st.line, "the configuration with its includes exceeds " +
                                    std::to_string(limits_.max_total_bytes) + " bytes");
    }
    FileContext inner{static_cast<int>(doc_.files.size()), real_str, shown_name, ctx.depth + 1};
    doc_.files.push_back(shown_name);
    return read_file(text, inner, nesting, out);
  }

  ReplicaConfigFiles& files_;
  const ReplicaConfigLimits& limits_;
  Document& doc_;
  std::vector<std::string> open_files_;  // include stack (real paths), for loop detection
  std::size_t total_bytes_ = 0;
  std::size_t statements_ = 0;
};

}  // namespace

std::string shown(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 60)) out += is_control(c) || c == '\n' ? '?' : c;
  if (text.size() > 60) out += "...";
  return out;
}

Result<Document> read_document(std::string_view text, const std::string& file,
                               ReplicaConfigFiles& files, const ReplicaConfigLimits& limits) {
  Document doc;
  Reader reader(files, limits, doc);
  Status status = reader.read_top(text, file);
  if (!status.ok()) return status.error();
  return doc;
}

}  // namespace hapbx::replica::config_syntax
