// Splitting of application data into arguments, as Asterisk's standard application argument
// parser does it (ast_app_separate_args): `Dial(SIP/201&SIP/202,20,tT)` -> three arguments.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hapbx::pbx {

// Splits `data` at `separator` outside double quotes, parentheses and square brackets.
// With `remove_quotes` (the standard form), double quotes are dropped and a backslash makes
// the next character literal (the backslash itself is dropped); without it (the "raw" form,
// used by Gosub arguments) both are kept and only protect separators. Empty data gives no
// arguments; a trailing separator gives a trailing empty argument. At most `max_args`
// arguments: the last one then holds the rest of the data unsplit.
std::vector<std::string> split_application_args(std::string_view data, char separator = ',',
                                                 bool remove_quotes = true,
                                                 std::size_t max_args = 128);

}  // namespace hapbx::pbx
