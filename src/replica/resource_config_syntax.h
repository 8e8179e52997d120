// The syntax layer of the DRBD resource-config parser: files become a tree of statements,
// `include` already expanded in place. It knows nothing of what a keyword means.
//
//   statement := word+ ';'  |  word+ '{' statement* '}'
//   word      := bare word (no whitespace, no { } ; " #)  |  "quoted string" (\" \\ \n \t)
//   # comment to the end of the line (outside strings)
//   include "pattern";     at any level: relative to the including file; a '*', '?' or '[...]'
//                          in the last path component is a glob (sorted; no match is a warning)
//
// Errors (syntax, limits, unreadable or missing include, include loops) are "file:line: ...".
// Statements spread over lines are fine except that a word on a new line that continues a
// statement means a forgotten ';' (`rate 10M` then `verify-alg sha1;` is two statements).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "replica/resource_config.h"
#include "replica/resource_config_files.h"

namespace hapbx::replica::config_syntax {

struct Word {
  std::string text;  // quotes removed, escapes resolved
  bool quoted = false;
  int line = 0;
};

struct Statement {
  std::vector<Word> words;  // never empty
  bool has_block = false;
  std::vector<Statement> block;  // when has_block
  int file = 0;  // index into Document::files
  int line = 0;  // line of the first word
};

struct Document {
  std::vector<std::string> files;  // names shown in messages; [0] is the top file
  std::vector<Statement> statements;
  std::vector<ConfigWarning> warnings;
};

// Printable form of user input inside a message: at most 60 characters, control bytes as '?'.
std::string shown(std::string_view text);

Result<Document> read_document(std::string_view text, const std::string& file,
                               ReplicaConfigFiles& files, const ReplicaConfigLimits& limits);

}  // namespace hapbx::replica::config_syntax
