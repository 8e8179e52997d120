// Control-socket wire format: round trips, incremental decoding and hostile frames.
#include "core/control_protocol.h"

#include <gtest/gtest.h>

namespace hapbx::core {
namespace {

ControlRequest decode_request_ok(std::string_view bytes) {
  auto decoded = try_decode_control_request(bytes);
  EXPECT_TRUE(decoded.ok()) << (decoded.ok() ? "" : decoded.error().message);
  if (!decoded.ok() || !decoded.value()) {
    ADD_FAILURE() << "no complete request in: " << bytes;
    return {};
  }
  EXPECT_EQ(decoded.value()->consumed, bytes.size());
  return decoded.value()->message;
}

std::string request_error(std::string_view bytes) {
  auto decoded = try_decode_control_request(bytes);
  if (decoded.ok()) {
    ADD_FAILURE() << "expected an error for: " << bytes;
    return {};
  }
  return decoded.error().message;
}

TEST(ControlProtocol, RequestRoundTripPlainWords) {
  const ControlRequest request{{"sip", "show", "peer", "201"}, true};
  auto encoded = encode_control_request(request);
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(encoded.value(), "hapbx-control/1 json sip show peer 201\n");
  EXPECT_EQ(decode_request_ok(encoded.value()), request);
}

TEST(ControlProtocol, RequestRoundTripEscapesSpacesPercentAndControlBytes) {
  const ControlRequest request{{"a b", "100%", "tab\there", "nl\n", "\x7f", "caf\xC3\xA9"}, false};
  auto encoded = encode_control_request(request);
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(encoded.value(),
            "hapbx-control/1 text a%20b 100%25 tab%09here nl%0A %7F caf\xC3\xA9\n");
  EXPECT_EQ(decode_request_ok(encoded.value()), request);
}

TEST(ControlProtocol, RequestWithoutWordsRoundTrips) {
  auto encoded = encode_control_request({{}, false});
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(decode_request_ok(encoded.value()), ControlRequest{});
}

TEST(ControlProtocol, EncodeRejectsEmptyWordNulAndOversize) {
  EXPECT_FALSE(encode_control_request({{"sip", ""}, false}).ok());
  EXPECT_FALSE(encode_control_request({{std::string("a\0b", 3)}, false}).ok());
  EXPECT_FALSE(encode_control_request({std::vector<std::string>(kMaxControlRequestWords + 1, "w"), false}).ok());
  EXPECT_TRUE(encode_control_request({std::vector<std::string>(kMaxControlRequestWords, "w"), false}).ok());
  auto too_long = encode_control_request({{std::string(kMaxControlRequestBytes, 'x')}, false});
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.error().message.find("too long"), std::string::npos);
}

TEST(ControlProtocol, RequestIsDecodedIncrementally) {
  const std::string bytes = "hapbx-control/1 text core show version\n";
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    auto partial = try_decode_control_request(std::string_view(bytes).substr(0, cut));
    ASSERT_TRUE(partial.ok()) << cut;
    EXPECT_FALSE(partial.value().has_value()) << cut;
  }
  EXPECT_EQ(decode_request_ok(bytes).words, (std::vector<std::string>{"core", "show", "version"}));
}

TEST(ControlProtocol, RequestAcceptsCrLfFromHandTypedClients) {
  const ControlRequest request = decode_request_ok("hapbx-control/1 text help\r\n");
  EXPECT_EQ(request.words, std::vector<std::string>{"help"});
}

TEST(ControlProtocol, RequestConsumesOnlyTheFirstLine) {
  auto decoded = try_decode_control_request("hapbx-control/1 text help\ngarbage");
  ASSERT_TRUE(decoded.ok());
  ASSERT_TRUE(decoded.value().has_value());
  EXPECT_EQ(decoded.value()->consumed, 26u);
}

TEST(ControlProtocol, HostileRequestsAreErrors) {
  EXPECT_NE(request_error("GET / HTTP/1.1\r\n").find("protocol mismatch"), std::string::npos);
  EXPECT_NE(request_error("hapbx-control/1\n").find("missing mode"), std::string::npos);
  EXPECT_NE(request_error("hapbx-control/1 xml help\n").find("unknown mode"), std::string::npos);
  EXPECT_NE(request_error("hapbx-control/1 text sip  show\n").find("empty word"), std::string::npos);
  EXPECT_NE(request_error("hapbx-control/1 text help \n").find("empty word"), std::string::npos);
  EXPECT_NE(request_error("hapbx-control/1 text a%2\n").find("incomplete"), std::string::npos);
  EXPECT_NE(request_error("hapbx-control/1 text a%\n").find("incomplete"), std::string::npos);
  EXPECT_NE(request_error("hapbx-control/1 text a%zz\n").find("invalid"), std::string::npos);
  EXPECT_NE(request_error("hapbx-control/1 text a%00\n").find("NUL"), std::string::npos);
  EXPECT_NE(request_error(std::string("hapbx-control/1 text a\x01\n")).find("control byte"),
            std::string::npos);
  EXPECT_NE(request_error(std::string("hapbx-control/1 text a\0b\n", 25)).find("control byte"),
            std::string::npos);
  std::string many = "hapbx-control/1 text";
  for (std::size_t i = 0; i <= kMaxControlRequestWords; ++i) many += " w";
  EXPECT_NE(request_error(many + "\n").find("too many words"), std::string::npos);
}

TEST(ControlProtocol, RequestWithoutNewlineIsBounded) {
  const std::string almost(kMaxControlRequestBytes - 1, 'a');
  auto pending = try_decode_control_request(almost);
  ASSERT_TRUE(pending.ok());
  EXPECT_FALSE(pending.value().has_value());
  EXPECT_NE(request_error(almost + "a").find("too large"), std::string::npos);
  // A newline just past the limit does not make an oversize line acceptable.
  EXPECT_FALSE(try_decode_control_request(std::string(kMaxControlRequestBytes, 'a') + "\n").ok());
}

TEST(ControlProtocol, ResponseRoundTrip) {
  for (const ControlResponse& response :
       {ControlResponse{true, "Name/username  Host\n201  (Unspecified)\n"},
        ControlResponse{false, "No such command 'x'"}, ControlResponse{true, ""},
        ControlResponse{true, std::string("bin\0ary\n\r\n", 11)}}) {
    const std::string bytes = encode_control_response(response);
    auto decoded = try_decode_control_response(bytes);
    ASSERT_TRUE(decoded.ok());
    ASSERT_TRUE(decoded.value().has_value());
    EXPECT_EQ(decoded.value()->message, response);
    EXPECT_EQ(decoded.value()->consumed, bytes.size());
  }
  EXPECT_EQ(encode_control_response({false, "bad"}), "hapbx-control/1 error 3\nbad");
}

TEST(ControlProtocol, ResponseIsDecodedIncrementally) {
  const std::string bytes = encode_control_response({true, "hello world"});
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    auto partial = try_decode_control_response(std::string_view(bytes).substr(0, cut));
    ASSERT_TRUE(partial.ok()) << cut;
    EXPECT_FALSE(partial.value().has_value()) << cut;
  }
}

TEST(ControlProtocol, OversizeResponseBecomesAnError) {
  const std::string bytes =
      encode_control_response({true, std::string(kMaxControlResponsePayload + 1, 'x')});
  auto decoded = try_decode_control_response(bytes);
  ASSERT_TRUE(decoded.ok());
  ASSERT_TRUE(decoded.value().has_value());
  EXPECT_FALSE(decoded.value()->message.ok);
  EXPECT_NE(decoded.value()->message.text.find("too large"), std::string::npos);
}

TEST(ControlProtocol, HostileResponsesAreErrors) {
  for (const char* bytes : {"HTTP/1.1 200 OK\r\n", "hapbx-control/1 ok\n", "hapbx-control/1 maybe 1\nx",
                            "hapbx-control/1 ok -1\n", "hapbx-control/1 ok +1\nx", "hapbx-control/1 ok 01\nx",
                            "hapbx-control/1 ok 1x\n", "hapbx-control/1 ok 99999999999\n",
                            "hapbx-control/1 ok 999999999999999999999\n", "hapbx-control/1 ok 1 2\nx"}) {
    EXPECT_FALSE(try_decode_control_response(bytes).ok()) << bytes;
  }
  EXPECT_FALSE(try_decode_control_response(std::string(kMaxControlResponseHeaderBytes, '1')).ok());
}

TEST(ControlProtocol, JoinWordsHidesControlBytes) {
  EXPECT_EQ(join_control_words({"sip", "show", "a\x1b[2J"}), "sip show a?[2J");
  EXPECT_EQ(join_control_words({}), "");
}

}  // namespace
}  // namespace hapbx::core
