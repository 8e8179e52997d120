// Method names (RFC 3261 7.1, 27.4) and header names with their compact forms (RFC 3261 7.3.3,
// IANA SIP parameters): the tables the parser and the writers share.
#include <array>
#include <cstddef>

#include "sip/chars.h"
#include "sip/message.h"

namespace hapbx::sip {

namespace {

struct MethodName {
  Method method;
  std::string_view text;
};

constexpr std::array<MethodName, 14> kMethods{{
    {Method::Invite, "INVITE"}, {Method::Ack, "ACK"}, {Method::Bye, "BYE"},
    {Method::Cancel, "CANCEL"}, {Method::Register, "REGISTER"}, {Method::Options, "OPTIONS"},
    {Method::Info, "INFO"}, {Method::Update, "UPDATE"}, {Method::Prack, "PRACK"},
    {Method::Subscribe, "SUBSCRIBE"}, {Method::Notify, "NOTIFY"}, {Method::Refer, "REFER"},
    {Method::Message, "MESSAGE"}, {Method::Publish, "PUBLISH"},
}};

struct HeaderName {
  HeaderId id;
  std::string_view name;
  char compact;  // 0 = none
};

// Indexed by HeaderId (checked below), so canonical_name() is one array load.
constexpr std::array<HeaderName, 43> kHeaders{{
    {HeaderId::Other, "", 0},
    {HeaderId::Via, "Via", 'v'},
    {HeaderId::From, "From", 'f'},
    {HeaderId::To, "To", 't'},
    {HeaderId::CallId, "Call-ID", 'i'},
    {HeaderId::CSeq, "CSeq", 0},
    {HeaderId::Contact, "Contact", 'm'},
    {HeaderId::MaxForwards, "Max-Forwards", 0},
    {HeaderId::ContentLength, "Content-Length", 'l'},
    {HeaderId::ContentType, "Content-Type", 'c'},
    {HeaderId::ContentEncoding, "Content-Encoding", 'e'},
    {HeaderId::Expires, "Expires", 0},
    {HeaderId::MinExpires, "Min-Expires", 0},
    {HeaderId::Authorization, "Authorization", 0},
    {HeaderId::ProxyAuthorization, "Proxy-Authorization", 0},
    {HeaderId::WwwAuthenticate, "WWW-Authenticate", 0},
    {HeaderId::ProxyAuthenticate, "Proxy-Authenticate", 0},
    {HeaderId::AuthenticationInfo, "Authentication-Info", 0},
    {HeaderId::Require, "Require", 0},
    {HeaderId::ProxyRequire, "Proxy-Require", 0},
    {HeaderId::Supported, "Supported", 'k'},
    {HeaderId::Unsupported, "Unsupported", 0},
    {HeaderId::Allow, "Allow", 0},
    {HeaderId::Accept, "Accept", 0},
    {HeaderId::UserAgent, "User-Agent", 0},
    {HeaderId::Server, "Server", 0},
    {HeaderId::Route, "Route", 0},
    {HeaderId::RecordRoute, "Record-Route", 0},
    {HeaderId::Event, "Event", 'o'},
    {HeaderId::Subject, "Subject", 's'},
    {HeaderId::Date, "Date", 0},
    {HeaderId::Timestamp, "Timestamp", 0},
    {HeaderId::Warning, "Warning", 0},
    {HeaderId::RetryAfter, "Retry-After", 0},
    {HeaderId::AllowEvents, "Allow-Events", 'u'},
    {HeaderId::ReferTo, "Refer-To", 'r'},
    {HeaderId::ReferredBy, "Referred-By", 'b'},
    {HeaderId::SessionExpires, "Session-Expires", 'x'},
    {HeaderId::ContentDisposition, "Content-Disposition", 0},
    {HeaderId::Path, "Path", 0},
    {HeaderId::RSeq, "RSeq", 0},
    {HeaderId::RAck, "RAck", 0},
    {HeaderId::Other, "", 0},  // padding, never matched (empty name)
}};

constexpr bool table_is_indexed() {
  for (size_t i = 0; i + 1 < kHeaders.size(); ++i) {
    if (static_cast<size_t>(kHeaders[i].id) != i) return false;
  }
  return true;
}
static_assert(table_is_indexed(), "kHeaders must be indexed by HeaderId");

}  // namespace

std::string_view to_string(Method method) {
  for (const MethodName& m : kMethods) {
    if (m.method == method) return m.text;
  }
  return "UNKNOWN";
}

Method method_from_string(std::string_view text) {
  for (const MethodName& m : kMethods) {
    if (m.text == text) return m.method;
  }
  return Method::Unknown;
}

HeaderId header_id(std::string_view name) {
  if (name.size() == 1) {
    const char c = chars::lower(name[0]);
    for (const HeaderName& h : kHeaders) {
      if (h.compact == c) return h.id;
    }
    return HeaderId::Other;
  }
  // The length test rejects almost every entry before a character is compared.
  for (size_t i = 1; i + 1 < kHeaders.size(); ++i) {
    const HeaderName& h = kHeaders[i];
    if (h.name.size() == name.size() && iequals(h.name, name)) return h.id;
  }
  return HeaderId::Other;
}

std::string_view canonical_name(HeaderId id) {
  const auto index = static_cast<size_t>(id);
  return index < kHeaders.size() ? kHeaders[index].name : std::string_view{};
}

}  // namespace hapbx::sip
