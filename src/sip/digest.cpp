// Digest credentials/challenge parsing and printing, and the RFC 2617/7616 hash computations.
#include "sip/digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <utility>

namespace hapbx::sip {
namespace {

constexpr std::string_view kHex = "0123456789abcdef";

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool is_ws(char c) { return c == ' ' || c == '\t'; }

// RFC 3261 25.1 token characters.
bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '-': case '.': case '!': case '%': case '*': case '_': case '+': case '`': case '\'':
    case '~':
      return true;
    default:
      return false;
  }
}

// An unquoted parameter value. Stricter than "anything" but laxer than token: some phones send
// uri=sip:pbx or an unquoted nonce with '/', '=' or ':' in it.
bool is_bare_value_char(char c) {
  auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u != 0x7f && c != ',' && c != '"' && c != '\\';
}

struct RawParam {
  std::string name;   // lowercased
  std::string value;  // unescaped
  bool quoted = false;
};

// Parses `Digest name=value, name="value", ...` into its parameters. Bounded: the input length
// is checked by the caller and the parameter count here.
Result<std::vector<RawParam>> parse_digest_params(std::string_view text, std::string_view what) {
  if (text.size() > kMaxDigestHeaderLength) {
    return make_error(std::string(what) + ": header value longer than " +
                      std::to_string(kMaxDigestHeaderLength) + " bytes");
  }
  size_t i = 0;
  while (i < text.size() && is_ws(text[i])) ++i;
  size_t scheme_start = i;
  while (i < text.size() && is_token_char(text[i])) ++i;
  std::string_view scheme = text.substr(scheme_start, i - scheme_start);
  if (scheme.empty()) return make_error(std::string(what) + ": missing auth scheme");
  if (!iequals(scheme, "Digest")) {
    return make_error(std::string(what) + ": unsupported auth scheme '" +
                      std::string(scheme.substr(0, 32)) + "' (expected Digest)");
  }
  if (i < text.size() && !is_ws(text[i])) {
    return make_error(std::string(what) + ": bad character after auth scheme");
  }

  std::vector<RawParam> params;
  bool need_separator = false;
  while (true) {
    while (i < text.size() && is_ws(text[i])) ++i;
    if (i == text.size()) break;
    if (text[i] == ',') {  // separators; empty list elements are allowed (RFC 7230 7)
      ++i;
      need_separator = false;
      continue;
    }
    if (need_separator) return make_error(std::string(what) + ": expected ',' between parameters");

    size_t name_start = i;
    while (i < text.size() && is_token_char(text[i])) ++i;
    if (i == name_start) {
      return make_error(std::string(what) + ": bad character in parameter name at offset " +
                        std::to_string(i));
    }
    RawParam param;
    param.name.reserve(i - name_start);
    for (char c : text.substr(name_start, i - name_start)) param.name.push_back(ascii_lower(c));
    while (i < text.size() && is_ws(text[i])) ++i;
    if (i == text.size() || text[i] != '=') {
      return make_error(std::string(what) + ": parameter '" + param.name.substr(0, 32) +
                        "' has no value");
    }
    ++i;
    while (i < text.size() && is_ws(text[i])) ++i;
    if (i < text.size() && text[i] == '"') {
      ++i;
      param.quoted = true;
      bool closed = false;
      while (i < text.size()) {
        char c = text[i];
        auto u = static_cast<unsigned char>(c);
        if (c == '"') {
          closed = true;
          ++i;
          break;
        }
        if (c == '\\') {
          if (i + 1 == text.size()) break;
          char escaped = text[i + 1];
          auto ue = static_cast<unsigned char>(escaped);
          // quoted-pair allows controls (RFC 3261 25.1); we refuse them so that no parsed
          // value can carry one into a log line or a printed header.
          if ((ue < 0x20 && escaped != '\t') || ue == 0x7f) {
            return make_error(std::string(what) + ": control character in quoted string");
          }
          param.value.push_back(escaped);
          i += 2;
          continue;
        }
        if ((u < 0x20 && c != '\t') || u == 0x7f) {
          return make_error(std::string(what) + ": control character in quoted string");
        }
        param.value.push_back(c);
        ++i;
      }
      if (!closed) {
        return make_error(std::string(what) + ": unterminated quoted string in '" +
                          param.name.substr(0, 32) + "'");
      }
    } else {
      size_t value_start = i;
      while (i < text.size() && is_bare_value_char(text[i])) ++i;
      if (i == value_start) {
        return make_error(std::string(what) + ": parameter '" + param.name.substr(0, 32) +
                          "' has an empty or bad value");
      }
      param.value.assign(text.substr(value_start, i - value_start));
    }
    for (const RawParam& seen : params) {
      if (seen.name == param.name) {
        return make_error(std::string(what) + ": duplicate parameter '" +
                          param.name.substr(0, 32) + "'");
      }
    }
    if (params.size() == kMaxDigestParams) {
      return make_error(std::string(what) + ": more than " + std::to_string(kMaxDigestParams) +
                        " parameters");
    }
    params.push_back(std::move(param));
    need_separator = true;
  }
  return params;
}

const RawParam* find_param(const std::vector<RawParam>& params, std::string_view name) {
  for (const RawParam& p : params) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

// Appends `"value"` with '"' and '\' escaped; control characters (which no parsed value can
// hold) are dropped so a printed header can never be split.
void append_quoted(std::string& out, std::string_view value) {
  out.push_back('"');
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) continue;
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

void append_param(std::string& out, std::string_view name, std::string_view value, bool quoted) {
  if (out.back() != ' ') out += ", ";
  out += name;
  out.push_back('=');
  if (quoted) {
    append_quoted(out, value);
  } else {
    out += value;
  }
}

std::string to_hex(const unsigned char* data, size_t size) {
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 0x0f]);
  }
  return out;
}

std::string join3(std::string_view a, std::string_view b, std::string_view c) {
  std::string s;
  s.reserve(a.size() + b.size() + c.size() + 2);
  s.append(a).push_back(':');
  s.append(b).push_back(':');
  s.append(c);
  return s;
}

}  // namespace

std::string_view to_string(DigestAlgorithm algorithm) {
  switch (algorithm) {
    case DigestAlgorithm::Md5: return "MD5";
    case DigestAlgorithm::Md5Sess: return "MD5-sess";
    case DigestAlgorithm::Sha256: return "SHA-256";
    case DigestAlgorithm::Sha256Sess: return "SHA-256-sess";
  }
  return "MD5";
}

std::optional<DigestAlgorithm> digest_algorithm_from_string(std::string_view text) {
  for (auto a : {DigestAlgorithm::Md5, DigestAlgorithm::Md5Sess, DigestAlgorithm::Sha256,
                 DigestAlgorithm::Sha256Sess}) {
    if (iequals(text, to_string(a))) return a;
  }
  return std::nullopt;
}

bool is_sess(DigestAlgorithm algorithm) {
  return algorithm == DigestAlgorithm::Md5Sess || algorithm == DigestAlgorithm::Sha256Sess;
}

bool is_md5_family(DigestAlgorithm algorithm) {
  return algorithm == DigestAlgorithm::Md5 || algorithm == DigestAlgorithm::Md5Sess;
}

Result<DigestCredentials> parse_digest_credentials(std::string_view header_value) {
  constexpr std::string_view what = "Authorization";
  auto params = parse_digest_params(header_value, what);
  if (!params) return params.error();

  DigestCredentials c;
  struct Required {
    std::string_view name;
    std::string* field;
  };
  for (Required r : {Required{"username", &c.username}, Required{"realm", &c.realm},
                     Required{"nonce", &c.nonce}, Required{"uri", &c.uri},
                     Required{"response", &c.response}}) {
    const RawParam* p = find_param(*params, r.name);
    if (p == nullptr) {
      return make_error(std::string(what) + ": missing parameter '" + std::string(r.name) + "'");
    }
    *r.field = p->value;
  }
  if (c.response.empty()) return make_error(std::string(what) + ": empty response");
  if (c.nonce.empty()) return make_error(std::string(what) + ": empty nonce");

  if (const RawParam* p = find_param(*params, "algorithm")) {
    auto algorithm = digest_algorithm_from_string(p->value);
    if (!algorithm) {
      return make_error(std::string(what) + ": unsupported algorithm '" +
                        p->value.substr(0, 32) + "' (expected MD5 or SHA-256)");
    }
    c.algorithm = *algorithm;
    c.algorithm_given = true;
  }
  if (const RawParam* p = find_param(*params, "userhash")) {
    if (iequals(p->value, "true")) {
      return make_error(std::string(what) + ": userhash=true is not supported");
    }
  }
  if (const RawParam* p = find_param(*params, "opaque")) c.opaque = p->value;
  if (const RawParam* p = find_param(*params, "cnonce")) c.cnonce = p->value;

  const RawParam* qop = find_param(*params, "qop");
  const RawParam* nc = find_param(*params, "nc");
  if (qop != nullptr) {
    if (!iequals(qop->value, "auth")) {
      return make_error(std::string(what) + ": unsupported qop '" + qop->value.substr(0, 32) +
                        "' (expected auth)");
    }
    c.qop = qop->value;
    if (c.cnonce.empty()) return make_error(std::string(what) + ": qop without cnonce");
    if (nc == nullptr) return make_error(std::string(what) + ": qop without nc");
    if (nc->value.size() != 8) {
      return make_error(std::string(what) + ": nc must be 8 hex digits");
    }
    uint32_t value = 0;
    for (char ch : nc->value) {
      if (!is_hex_digit(ch)) return make_error(std::string(what) + ": nc must be 8 hex digits");
      uint32_t digit = (ch <= '9') ? static_cast<uint32_t>(ch - '0')
                                   : static_cast<uint32_t>(ascii_lower(ch) - 'a' + 10);
      value = (value << 4) | digit;
    }
    c.nc_text = nc->value;
    c.nc = value;
  } else if (nc != nullptr) {
    return make_error(std::string(what) + ": nc without qop");
  }
  return c;
}

std::string format_digest_credentials(const DigestCredentials& c) {
  std::string out = "Digest ";
  append_param(out, "username", c.username, true);
  append_param(out, "realm", c.realm, true);
  append_param(out, "nonce", c.nonce, true);
  append_param(out, "uri", c.uri, true);
  append_param(out, "response", c.response, true);
  if (c.algorithm_given || c.algorithm != DigestAlgorithm::Md5) {
    append_param(out, "algorithm", to_string(c.algorithm), false);
  }
  if (!c.cnonce.empty()) append_param(out, "cnonce", c.cnonce, true);
  if (!c.opaque.empty()) append_param(out, "opaque", c.opaque, true);
  if (c.has_qop()) {
    append_param(out, "qop", c.qop, false);
    append_param(out, "nc", c.nc_text, false);
  }
  return out;
}

Result<DigestChallenge> parse_digest_challenge(std::string_view header_value) {
  constexpr std::string_view what = "WWW-Authenticate";
  auto params = parse_digest_params(header_value, what);
  if (!params) return params.error();

  DigestChallenge c;
  const RawParam* realm = find_param(*params, "realm");
  if (realm == nullptr) return make_error(std::string(what) + ": missing parameter 'realm'");
  c.realm = realm->value;
  const RawParam* nonce = find_param(*params, "nonce");
  if (nonce == nullptr) return make_error(std::string(what) + ": missing parameter 'nonce'");
  c.nonce = nonce->value;
  if (const RawParam* p = find_param(*params, "opaque")) c.opaque = p->value;
  if (const RawParam* p = find_param(*params, "domain")) c.domain = p->value;
  if (const RawParam* p = find_param(*params, "algorithm")) {
    auto algorithm = digest_algorithm_from_string(p->value);
    if (!algorithm) {
      return make_error(std::string(what) + ": unsupported algorithm '" +
                        p->value.substr(0, 32) + "'");
    }
    c.algorithm = *algorithm;
    c.algorithm_given = true;
  }
  if (const RawParam* p = find_param(*params, "stale")) {
    if (iequals(p->value, "true")) {
      c.stale = true;
    } else if (!iequals(p->value, "false")) {
      return make_error(std::string(what) + ": stale must be true or false");
    }
  }
  if (const RawParam* p = find_param(*params, "qop")) {
    std::string_view list = p->value;
    while (!list.empty()) {
      size_t comma = list.find(',');
      std::string_view item = list.substr(0, comma);
      while (!item.empty() && is_ws(item.front())) item.remove_prefix(1);
      while (!item.empty() && is_ws(item.back())) item.remove_suffix(1);
      if (!item.empty()) c.qop_options.emplace_back(item);
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
    if (c.qop_options.empty()) return make_error(std::string(what) + ": empty qop");
  }
  return c;
}

std::string format_digest_challenge(const DigestChallenge& c) {
  std::string out = "Digest ";
  append_param(out, "realm", c.realm, true);
  if (!c.domain.empty()) append_param(out, "domain", c.domain, true);
  append_param(out, "nonce", c.nonce, true);
  if (!c.opaque.empty()) append_param(out, "opaque", c.opaque, true);
  append_param(out, "algorithm", to_string(c.algorithm), false);
  if (!c.qop_options.empty()) {
    std::string list;
    for (const std::string& q : c.qop_options) {
      if (!list.empty()) list.push_back(',');
      list += q;
    }
    append_param(out, "qop", list, true);
  }
  if (c.stale) append_param(out, "stale", "true", false);
  return out;
}

std::vector<std::string> build_digest_challenges(std::string_view realm, std::string_view nonce,
                                                 bool stale, bool offer_sha256,
                                                 std::string_view opaque) {
  DigestChallenge c;
  c.realm = realm;
  c.nonce = nonce;
  c.opaque = opaque;
  c.stale = stale;
  c.algorithm_given = true;
  c.qop_options = {"auth"};
  std::vector<std::string> out;
  if (offer_sha256) {
    c.algorithm = DigestAlgorithm::Sha256;
    out.push_back(format_digest_challenge(c));
  }
  c.algorithm = DigestAlgorithm::Md5;
  out.push_back(format_digest_challenge(c));
  return out;
}

std::string digest_hash_hex(DigestAlgorithm algorithm, std::string_view data) {
  const EVP_MD* md = is_md5_family(algorithm) ? EVP_md5() : EVP_sha256();
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int size = 0;
  if (md == nullptr || EVP_Digest(data.data(), data.size(), out.data(), &size, md, nullptr) != 1) {
    return {};  // cannot happen with the default provider; an empty hash never matches
  }
  return to_hex(out.data(), size);
}

Result<std::string> compute_digest_ha1(DigestAlgorithm algorithm, std::string_view username,
                                       std::string_view realm, const DigestSecret& secret,
                                       std::string_view nonce, std::string_view cnonce) {
  std::string inner;
  if (secret.kind == DigestSecret::Kind::Md5Ha1) {
    if (!is_md5_family(algorithm)) {
      return make_error("md5secret is an MD5 hash and cannot answer " +
                        std::string(to_string(algorithm)));
    }
    if (secret.value.size() != 32) return make_error("md5secret must be 32 hex digits");
    inner.reserve(32);
    for (char c : secret.value) {
      if (!is_hex_digit(c)) return make_error("md5secret must be 32 hex digits");
      inner.push_back(ascii_lower(c));
    }
  } else {
    inner = digest_hash_hex(algorithm, join3(username, realm, secret.value));
  }
  if (is_sess(algorithm)) return digest_hash_hex(algorithm, join3(inner, nonce, cnonce));
  return inner;
}

std::string compute_digest_ha2(DigestAlgorithm algorithm, std::string_view method,
                               std::string_view uri) {
  std::string data;
  data.reserve(method.size() + uri.size() + 1);
  data.append(method).push_back(':');
  data.append(uri);
  return digest_hash_hex(algorithm, data);
}

std::string compute_digest_response(DigestAlgorithm algorithm, std::string_view ha1,
                                    std::string_view nonce, std::string_view nc,
                                    std::string_view cnonce, std::string_view qop,
                                    std::string_view ha2) {
  std::string data;
  if (qop.empty()) {
    data = join3(ha1, nonce, ha2);
  } else {
    data = join3(ha1, nonce, nc);
    data.push_back(':');
    data += join3(cnonce, qop, ha2);
  }
  return digest_hash_hex(algorithm, data);
}

Result<std::string> expected_digest_response(const DigestCredentials& credentials,
                                             std::string_view method,
                                             const DigestSecret& secret) {
  auto ha1 = compute_digest_ha1(credentials.algorithm, credentials.username, credentials.realm,
                                secret, credentials.nonce, credentials.cnonce);
  if (!ha1) return ha1.error();
  std::string ha2 = compute_digest_ha2(credentials.algorithm, method, credentials.uri);
  return compute_digest_response(credentials.algorithm, *ha1, credentials.nonce,
                                 credentials.nc_text, credentials.cnonce, credentials.qop, ha2);
}

bool digest_responses_equal(std::string_view expected, std::string_view received) {
  // The received value is the peer's own, so normalising its case may branch on it; the
  // comparison with our secret-derived value is CRYPTO_memcmp (time depends on length only).
  if (expected.empty() || expected.size() != received.size()) return false;
  std::string normalised(received);
  for (char& c : normalised) c = ascii_lower(c);
  return CRYPTO_memcmp(expected.data(), normalised.data(), expected.size()) == 0;
}

}  // namespace hapbx::sip
