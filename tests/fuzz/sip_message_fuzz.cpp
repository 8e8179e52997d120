// Fuzz target for the SIP message layer: parse_message (datagram and stream options), the
// accessors, print -> re-parse (a message that parsed clean must print to one that parses clean
// and printing must be a fixed point), make_response, frame_stream and the header parsers.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sip/message.h"
#include "sip/message_writer.h"

using namespace hapbx::sip;

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

void exercise(const Message& m) {
  for (int id = 0; id <= static_cast<int>(HeaderId::RAck); ++id) {
    for (std::string_view v : m.values(static_cast<HeaderId>(id))) check(v.size() <= m.raw().size());
  }
  (void)m.header("X-Unknown");
  for (const Via& v : m.vias()) (void)v.branch;
  (void)to_string(m.request_uri());
  for (const NameAddr& c : m.contacts()) (void)to_string(c.uri);
  check(m.body().size() <= m.raw().size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  ParseOptions options;
  options.stream = size > 0 && (data[size - 1] & 1) != 0;
  auto m = parse_message(std::string(input), options);
  if (m.ok()) {
    exercise(*m);
    ParseOptions roomy;
    roomy.max_message_size = size_t{1} << 30;
    const std::string printed = print_message(*m);
    auto again = parse_message(printed, roomy);
    if (m->fault() == ParseFault::None) {
      check(again.ok());
      check(again->fault() == ParseFault::None);
      check(print_message(*again) == printed);
    }
    if (again.ok()) exercise(*again);
    if (m->is_request()) {
      const std::string reply = make_response(*m, 400, m->fault_reason(), "fuzz").finish();
      (void)parse_message(reply, roomy);
    }
  }

  auto frame = frame_stream(input);
  if (frame.ok()) {
    check(frame->skip <= size);
    check(frame->length <= size - frame->skip);
    if (frame->length > 0) (void)parse_message(std::string(input.substr(frame->skip, frame->length)),
                                                ParseOptions{.stream = true});
  }
  auto small = frame_stream(input, 256);
  if (small.ok()) check(small->length <= 256);

  (void)parse_via(input);
  (void)parse_name_addr(input);
  (void)parse_cseq(input);
  (void)split_header_values(input);
  if (auto uri = parse_uri(input); uri.ok()) {
    const std::string printed = to_string(*uri);  // the reparsed views point into it
    auto reparsed = parse_uri(printed);
    check(reparsed.ok());
    check(uri_equal(*uri, *reparsed));
  }
  return 0;
}
