// `dialplan show [context]` for the CLI: the text Asterisk's pbx.c prints (so users' habits
// and scripts keep working), with each line's registrar column naming the file:line it came
// from, and a --json form of the same.
//
//   [ Context 'internal' created by 'pbx_config' ]
//     '201' =>          1. Dial(SIP/201,20)                             [extensions.conf:5]
//                       2. Hangup()                                     [extensions.conf:6]
//     Include =>        'other'                                         [extensions.conf:7]
//
//   -= 1 extension (2 priorities) in 1 context. =-
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "pbx/dialplan.h"

namespace hapbx::pbx {

// All contexts in file order, or only `context` (an Error "There is no existence of 'x'
// context" when it does not exist). JSON: {"contexts":[{"name","where","extensions":[{"name",
// "caller_id_match","hint","where","priorities":[{"priority","label","app","data","where"}]}],
// "includes":[{"name","where"}]}],"totals":{"extensions","priorities","contexts"}}.
Result<std::string> show_dialplan(const Dialplan& plan, std::optional<std::string_view> context,
                                  bool json);

}  // namespace hapbx::pbx
