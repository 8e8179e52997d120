// The DRBD resource-config model built from the statement tree (resource_config_syntax.h):
// `common` applied first to a template every resource starts from, then each resource's own
// statements, then the checks that need the whole resource (two hosts, secrets, names).
#include "replica/resource_config.h"

#include <algorithm>
#include <initializer_list>
#include <map>
#include <set>

#include "replica/resource_config_files.h"
#include "replica/resource_config_syntax.h"
#include "replica/resource_config_values.h"

namespace hapbx::replica {

namespace {

using config_syntax::Document;
using config_syntax::shown;
using config_syntax::Statement;
using config_syntax::Word;

constexpr std::size_t kMaxErrorsShown = 20;
constexpr std::int64_t kMaxWaitSeconds = 10LL * 365 * 24 * 3600;

struct Where {
  int file = -1;
  int line = 0;
  bool set() const { return file >= 0; }
};

Where where_of(const Statement& s) { return {s.file, s.line}; }

bool one_of(std::string_view v, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), v) != names.end();
}

// The options of one `on` section, or of the resource-level defaults for them (8.4 lets device,
// disk and meta-disk be written once for both hosts).
struct HostDraft {
  HostConfig host;
  bool has_device = false;
  bool has_disk = false;
  bool has_address = false;
  bool has_meta = false;
  int volumes = 0;
  Where where;  // the `on` line
  std::map<std::string, Where> seen;
};

// `common` or one resource being built.
struct ScopeDraft {
  bool is_common = false;
  ResourceConfig cfg;
  Where cram_at;
  Where secret_at;
  Where discard_node_at;
  std::map<std::string, Where> seen;  // options given in this scope, for "given twice"
  HostDraft defaults;
  std::vector<HostDraft> hosts;
  bool bad_host = false;  // an `on` header was refused: do not also count the sections
};

class Interpreter {
 public:
  Interpreter(const Document& doc, const ReplicaConfigLimits& limits)
      : doc_(doc), limits_(limits) {
    for (const ConfigWarning& w : doc.warnings) {
      if (said_.insert(w.message).second) out_.warnings.push_back(w);
    }
  }

  Result<ReplicaConfig> run() {
    const Statement* common = nullptr;
    const Statement* global = nullptr;
    std::vector<const Statement*> resources;
    for (const Statement& s : doc_.statements) {
      const std::string& kw = s.words[0].text;
      if (kw == "global" || kw == "common") {
        if (!s.has_block || s.words.size() != 1) {
          fail(s, "'" + kw + "' is a section without a name: " + kw + " { ... }");
          continue;
        }
        const Statement*& first = kw == "global" ? global : common;
        if (first != nullptr) {
          fail(s, "a second '" + kw + "' section (the first is at " + place(where_of(*first)) +
                      "); merge them");
          continue;
        }
        first = &s;
      } else if (kw == "resource") {
        resources.push_back(&s);
      } else if (kw == "skip") {
        warn(s, "'skip' section skipped");
      } else {
        fail(s, "unknown statement '" + shown(kw) +
                    "' at the top level (expected global, common, resource or include)");
      }
    }
    if (global != nullptr) apply_global(*global);

    ScopeDraft base;
    base.is_common = true;
    if (common != nullptr) apply_scope(base, *common);

    std::map<std::string, Where> names;
    for (const Statement* s : resources) {
      if (!s->has_block || s->words.size() != 2) {
        fail(*s, "a resource needs one name and a section: resource r0 { ... }");
        continue;
      }
      const std::string& name = s->words[1].text;
      if (!config_values::valid_resource_name(name)) {
        fail(*s, "resource name '" + shown(name) +
                     "' is not valid (letters, digits, '_', '-', '.'; at most 64)");
        continue;
      }
      auto [it, fresh] = names.emplace(name, where_of(*s));
      if (!fresh) {
        fail(*s, "duplicate resource '" + name + "' (first defined at " + place(it->second) +
                     "); rename or remove one");
        continue;
      }
      if (names.size() > limits_.max_resources) {
        fail(*s, "more than " + std::to_string(limits_.max_resources) + " resources");
        break;
      }
      ScopeDraft r;
      r.cfg = base.cfg;
      r.cram_at = base.cram_at;
      r.secret_at = base.secret_at;
      r.discard_node_at = base.discard_node_at;
      r.cfg.name = name;
      r.cfg.file = doc_.files[static_cast<std::size_t>(s->file)];
      r.cfg.line = s->line;
      apply_scope(r, *s);
      finish_resource(r, *s);
    }
    if (errors_.empty() && out_.resources.empty()) {
      errors_.push_back(doc_.files[0] + ": no resource defined (add resource r0 { ... })");
    }
    if (!errors_.empty()) return make_error(error_text());
    return std::move(out_);
  }

 private:
  // ---- messages -------------------------------------------------------------------------

  std::string place(Where w) const {
    return doc_.files[static_cast<std::size_t>(w.file)] + ":" + std::to_string(w.line);
  }

  void fail(Where w, const std::string& message) {
    std::string text = place(w) + ": " + message;
    if (said_.insert(text).second) errors_.push_back(std::move(text));
  }
  void fail(const Statement& s, const std::string& message) { fail(where_of(s), message); }

  void warn(Where w, const std::string& message) {
    std::string text = place(w) + ": " + message;
    if (!said_.insert(text).second) return;  // a `common` line seen by every resource: once
    out_.warnings.push_back(
        {doc_.files[static_cast<std::size_t>(w.file)], w.line, std::move(text)});
  }
  void warn(const Statement& s, const std::string& message) { warn(where_of(s), message); }

  void ignored(const Statement& s, std::string_view why) {
    warn(s, "'" + shown(s.words[0].text) + "' accepted, ignored" +
                (why.empty() ? std::string() : " (" + std::string(why) + ")"));
  }

  void unknown(const Statement& s, std::string_view section) {
    warn(s, "unknown option '" + shown(s.words[0].text) + "' in " + std::string(section) +
                ", ignored (check the spelling)");
  }

  std::string error_text() const {
    std::string out;
    for (std::size_t i = 0; i < errors_.size() && i < kMaxErrorsShown; ++i) {
      if (i > 0) out += '\n';
      out += errors_[i];
    }
    if (errors_.size() > kMaxErrorsShown) {
      const std::size_t more = errors_.size() - kMaxErrorsShown;
      out += "\n" + doc_.files[0] + ": " + std::to_string(more) + " more error" +
             (more == 1 ? "" : "s") + " not shown; fix the ones above first";
    }
    return out;
  }

  // Warns when `key` was already given in this scope; the last one counts, as in DRBD.
  void note(std::map<std::string, Where>& seen, const std::string& key, const Statement& s) {
    auto [it, fresh] = seen.emplace(key, where_of(s));
    if (!fresh) {
      warn(s, "'" + shown(key) + "' given again (first at " + place(it->second) +
                  "); the last one counts");
      it->second = where_of(s);
    }
  }

  // ---- values ---------------------------------------------------------------------------

  // The single value of `name VALUE;`, or null after an error.
  const Word* value(const Statement& s, std::string_view example) {
    if (s.has_block) {
      fail(s, "'" + shown(s.words[0].text) + "' takes a value, not a section (e.g. " +
                  std::string(example) + ")");
      return nullptr;
    }
    if (s.words.size() != 2) {
      fail(s, "'" + shown(s.words[0].text) + "' takes one value (e.g. " + std::string(example) +
                  ")");
      return nullptr;
    }
    return &s.words[1];
  }

  std::optional<std::int64_t> integer(const Statement& s, std::int64_t min, std::int64_t max,
                                      std::string_view unit) {
    const std::string& name = s.words[0].text;
    const Word* w = value(s, name + " " + std::to_string(min == 0 ? 1 : min) + ";");
    if (w == nullptr) return std::nullopt;
    const auto n = config_values::parse_integer(w->text);
    const std::string range = std::to_string(min) + ".." + std::to_string(max) +
                              (unit.empty() ? "" : ", " + std::string(unit));
    if (!n) {
      fail(s, "'" + name + "' expects a whole number (" + range + "), not '" + shown(w->text) +
                  "'");
      return std::nullopt;
    }
    if (*n < min || *n > max) {
      fail(s, "'" + name + "' " + w->text + " is out of range (" + range + ")");
      return std::nullopt;
    }
    return n;
  }

  // A count or size with units (`max-buffers 128k`, `size 2G`, `rate 10M`).
  std::optional<std::uint64_t> size_value(const Statement& s, std::uint64_t plain_unit,
                                          std::uint64_t min, std::uint64_t max,
                                          std::string_view example) {
    const Word* w = value(s, example);
    if (w == nullptr) return std::nullopt;
    const auto n = parse_size(w->text, plain_unit);
    if (!n) {
      fail(s, "'" + shown(s.words[0].text) + "' value '" + shown(w->text) +
                  "' is not a number with an optional unit s, K, M, G or T (e.g. " +
                  std::string(example) + ")");
      return std::nullopt;
    }
    if (*n < min || *n > max) {
      fail(s, "'" + shown(s.words[0].text) + "' " + w->text + " is out of range (e.g. " +
                  std::string(example) + ")");
      return std::nullopt;
    }
    return n;
  }

  // `flag;` (8.3) or `flag yes|no;` (8.4).
  std::optional<bool> flag(const Statement& s) {
    if (!s.has_block && s.words.size() == 1) return true;
    if (!s.has_block && s.words.size() == 2) {
      const std::string& v = s.words[1].text;
      if (v == "yes") return true;
      if (v == "no") return false;
    }
    fail(s, "'" + shown(s.words[0].text) + "' is a flag: write it alone or with yes or no");
    return std::nullopt;
  }

  std::optional<std::string> digest(const Statement& s, bool for_hmac) {
    const Word* w = value(s, s.words[0].text + " sha1;");
    if (w == nullptr) return std::nullopt;
    auto d = config_values::parse_digest(s.words[0].text, w->text, for_hmac);
    if (!d.ok()) {
      fail(s, d.error().message);
      return std::nullopt;
    }
    return std::move(d.value());
  }

  void two_primaries(const Statement& s, std::string_view what) {
    fail(s, "two primaries are not supported: '" + std::string(what) +
                "' would let both nodes write at once; remove it (clusterd keeps one Primary)");
  }

  // ---- sections -------------------------------------------------------------------------

  void apply_global(const Statement& g) {
    for (const Statement& s : g.block) {
      const std::string& kw = s.words[0].text;
      if (s.has_block || kw == "skip") {
        warn(s, kw == "skip" ? "'skip' section skipped"
                             : "unknown section '" + shown(kw) + "' in global, ignored");
      } else if (kw == "usage-count") {
        const Word* w = value(s, "usage-count no;");
        if (w == nullptr) continue;
        if (w->text == "no") {
          out_.usage_count = false;
        } else if (w->text == "yes" || w->text == "ask") {
          out_.usage_count = true;
          warn(s, "'usage-count " + w->text + "' accepted, ignored (hapbx never reports usage)");
        } else {
          fail(s, "usage-count '" + shown(w->text) + "' is not valid (expected yes, no or ask)");
        }
      } else if (one_of(kw, {"minor-count", "dialog-refresh", "disable-ip-verification",
                             "udev-always-use-vnr", "cmd-timeout-short", "cmd-timeout-medium",
                             "cmd-timeout-long"})) {
        ignored(s, "no effect in hapbx");
      } else {
        unknown(s, "global");
      }
    }
  }

  // The body of `common { }` or `resource NAME { }`.
  void apply_scope(ScopeDraft& d, const Statement& scope) {
    for (const Statement& s : scope.block) {
      const std::string& kw = s.words[0].text;
      if (kw == "skip") {
        warn(s, "'skip' section skipped");
      } else if (s.has_block) {
        if (one_of(kw, {"startup", "disk", "net", "syncer", "handlers", "options"})) {
          if (s.words.size() != 1) {
            fail(s, "'" + kw + "' is a section without a name: " + kw + " { ... }");
          } else {
            apply_section(d, kw, s);
          }
        } else if (kw == "on") {
          if (d.is_common) {
            fail(s, "'on' sections belong in a resource, not in common");
          } else {
            apply_host(d, s);
          }
        } else if (kw == "volume") {
          apply_volume(d.defaults, s, d.is_common);
        } else if (one_of(kw, {"connection", "connection-mesh", "floating", "stacked-on-top-of",
                               "path"})) {
          fail(s, "'" + kw + "' sections are not supported (DRBD 9 or stacked); describe the "
                  "two nodes with 'on HOST { ... }' sections");
        } else {
          warn(s, "unknown section '" + shown(kw) + "' ignored");
        }
      } else if (kw == "protocol") {
        note(d.seen, "protocol", s);
        apply_protocol(d, s);
      } else if (one_of(kw, {"device", "disk", "meta-disk", "flexible-meta-disk"})) {
        if (d.is_common) {
          fail(s, "'" + kw + "' belongs in a resource or its 'on' sections, not in common");
        } else {
          apply_host_option(d.defaults, s);
        }
      } else {
        unknown(s, d.is_common ? "common" : "resource " + d.cfg.name);
      }
    }
  }

  void apply_protocol(ScopeDraft& d, const Statement& s) {
    const Word* w = value(s, "protocol C;");
    if (w == nullptr) return;
    const auto p = protocol_from_string(w->text);
    if (!p) {
      fail(s, "protocol '" + shown(w->text) + "' is not valid (expected A, B or C)");
      return;
    }
    d.cfg.protocol = *p;
  }

  void apply_section(ScopeDraft& d, const std::string& section, const Statement& sec) {
    for (const Statement& s : sec.block) {
      const std::string& kw = s.words[0].text;
      if (kw == "skip") {
        warn(s, "'skip' section skipped");
        continue;
      }
      if (s.has_block) {
        warn(s, "unknown section '" + shown(kw) + "' in " + section + ", ignored");
        continue;
      }
      if (section == "handlers") {
        warn(s, "handler '" + shown(kw) + "' accepted, ignored (replicad runs no handler "
                "programs)");
        continue;
      }
      note(d.seen, kw == "resync-rate" ? "rate" : kw, s);
      if (section == "startup") {
        apply_startup(d, s);
      } else if (section == "disk") {
        apply_disk(d, s);
      } else if (section == "net") {
        apply_net(d, s);
      } else if (section == "syncer") {
        apply_syncer(d, s);
      } else {  // options (8.4)
        if (one_of(kw, {"cpu-mask", "on-no-data-accessible", "auto-promote",
                        "auto-promote-timeout", "max-io-depth", "quorum", "on-no-quorum",
                        "peer-ack-window", "peer-ack-delay"})) {
          ignored(s, "no effect in hapbx");
        } else {
          unknown(s, "options");
        }
      }
    }
  }

  void apply_startup(ScopeDraft& d, const Statement& s) {
    const std::string& kw = s.words[0].text;
    if (kw == "wfc-timeout") {
      if (auto n = integer(s, 0, kMaxWaitSeconds, "seconds, 0 = forever")) {
        d.cfg.wfc_timeout = std::chrono::seconds(*n);
      }
    } else if (kw == "degr-wfc-timeout") {
      if (auto n = integer(s, 0, kMaxWaitSeconds, "seconds, 0 = forever")) {
        d.cfg.degr_wfc_timeout = std::chrono::seconds(*n);
      }
    } else if (kw == "become-primary-on") {
      const Word* w = value(s, "become-primary-on asterisk1;");
      if (w == nullptr) return;
      if (w->text == "both") {
        two_primaries(s, "become-primary-on both");
      } else {
        warn(s, "'become-primary-on " + shown(w->text) +
                    "' accepted, ignored (clusterd decides which node is Primary)");
      }
    } else if (one_of(kw, {"outdated-wfc-timeout", "wait-after-sb", "stacked-timeouts"})) {
      ignored(s, "replicad waits for the peer as wfc-timeout and degr-wfc-timeout say");
    } else {
      unknown(s, "startup");
    }
  }

  void apply_disk(ScopeDraft& d, const Statement& s) {
    const std::string& kw = s.words[0].text;
    if (kw == "on-io-error") {
      const Word* w = value(s, "on-io-error detach;");
      if (w == nullptr) return;
      if (w->text == "detach") {
        d.cfg.on_io_error = ResourceConfig::OnIoError::Detach;
      } else if (w->text == "pass_on" || w->text == "pass-on") {
        d.cfg.on_io_error = ResourceConfig::OnIoError::PassOn;
      } else if (w->text == "call-local-io-error") {
        d.cfg.on_io_error = ResourceConfig::OnIoError::CallLocalIoError;
      } else {
        fail(s, "on-io-error '" + shown(w->text) +
                    "' is not valid (expected detach, pass_on or call-local-io-error)");
      }
    } else if (kw == "size") {
      // Plain numbers are sectors, as DRBD reads them.
      if (auto n = size_value(s, 512, kBlockSize, std::uint64_t{1} << 52, "size 2G;")) {
        if (*n % kBlockSize != 0) {
          fail(s, "size " + s.words[1].text + " is not a multiple of 4K (e.g. size 2G;)");
        } else {
          d.cfg.size_bytes = *n;
          warn(s, "size " + s.words[1].text + " is not applied yet: replicad uses the whole disk "
                  "(less its internal metadata); remove it to silence this");
        }
      }
    } else if (kw == "al-extents") {
      if (auto n = integer(s, 7, 65534, "")) d.cfg.al_extents = static_cast<int>(*n);
    } else if (kw == "resync-rate") {
      apply_rate(d, s);
    } else if (kw == "no-disk-flushes") {
      if (auto f = flag(s)) d.cfg.disk_flushes = !*f;
    } else if (kw == "disk-flushes") {
      if (auto f = flag(s)) d.cfg.disk_flushes = *f;
    } else if (kw == "fencing") {
      const Word* w = value(s, "fencing resource-only;");
      if (w == nullptr) return;
      if (!one_of(w->text, {"dont-care", "resource-only", "resource-and-stonith"})) {
        fail(s, "fencing '" + shown(w->text) +
                    "' is not valid (expected dont-care, resource-only or resource-and-stonith)");
      } else if (w->text != "dont-care") {
        warn(s, "'fencing " + w->text +
                    "' accepted, ignored (replicad calls no fence-peer handler; fence with "
                    "clusterd's stonith)");
      }
    } else if (one_of(kw, {"no-disk-barrier", "no-disk-drain", "no-md-flushes", "disk-barrier",
                           "disk-drain", "md-flushes", "max-bio-bvecs", "use-bmbv",
                           "c-plan-ahead", "c-fill-target", "c-delay-target", "c-max-rate",
                           "c-min-rate", "disk-timeout", "read-balancing", "al-updates",
                           "discard-zeroes-if-aligned", "rs-discard-granularity",
                           "disable-write-same", "resync-after", "on-no-data-accessible"})) {
      ignored(s, "no effect in hapbx");
    } else {
      unknown(s, "disk");
    }
  }

  void apply_rate(ScopeDraft& d, const Statement& s) {
    // Plain numbers are KiB/s.
    if (auto n = size_value(s, 1024, 1024, std::uint64_t{1} << 42, "rate 10M;")) {
      d.cfg.resync_rate_bytes_per_s = *n;
    }
  }

  void apply_net(ScopeDraft& d, const Statement& s) {
    const std::string& kw = s.words[0].text;
    ResourceConfig& c = d.cfg;
    if (kw == "protocol") {
      apply_protocol(d, s);
    } else if (kw == "cram-hmac-alg") {
      if (auto v = digest(s, true)) {
        c.cram_hmac_alg = *v;
        d.cram_at = where_of(s);
      }
    } else if (kw == "shared-secret") {
      const Word* w = value(s, "shared-secret \"a long random string\";");
      if (w == nullptr) return;
      if (w->text.empty()) {
        fail(s, "shared-secret is empty (give a long random string, or remove it)");
      } else if (w->text.size() > 64) {
        fail(s, "shared-secret is longer than 64 characters (DRBD's limit); shorten it");
      } else {
        c.shared_secret = w->text;
        d.secret_at = where_of(s);
      }
    } else if (kw == "data-integrity-alg") {
      if (auto v = digest(s, false)) c.data_integrity_alg = *v;
    } else if (kw == "verify-alg") {
      if (auto v = digest(s, false)) c.verify_alg = *v;
    } else if (kw == "csums-alg") {
      if (auto v = digest(s, false)) c.csums_alg = *v;
    } else if (kw == "after-sb-0pri" || kw == "after-sb-1pri" || kw == "after-sb-2pri") {
      const Word* w = value(s, kw + " disconnect;");
      if (w == nullptr) return;
      const int primaries = kw[9] - '0';
      std::string node;
      auto p = config_values::parse_after_sb(primaries, w->text, node);
      if (!p.ok()) {
        fail(s, p.error().message);
        return;
      }
      if (*p == SplitBrainPolicy::CallPrimaryLost || *p == SplitBrainPolicy::Violently) {
        warn(s, "'" + kw + " " + w->text + "' accepted, acts as disconnect in hapbx (it "
                "never discards a Primary's data nor runs pri-lost-after-sb)");
      }
      if (primaries == 0) {
        c.after_sb_0pri = *p;
        c.after_sb_0pri_discard_node = node;
        d.discard_node_at = node.empty() ? Where{} : where_of(s);
      } else if (primaries == 1) {
        c.after_sb_1pri = *p;
      } else {
        c.after_sb_2pri = *p;
      }
    } else if (kw == "allow-two-primaries") {
      if (auto f = flag(s)) {
        if (*f) two_primaries(s, "allow-two-primaries");
      }
    } else if (kw == "timeout") {
      if (auto n = integer(s, 1, 600, "in 0.1 s")) c.timeout = std::chrono::milliseconds(*n * 100);
    } else if (kw == "ping-timeout") {
      if (auto n = integer(s, 1, 300, "in 0.1 s")) {
        c.ping_timeout = std::chrono::milliseconds(*n * 100);
      }
    } else if (kw == "connect-int") {
      if (auto n = integer(s, 1, 120, "seconds")) c.connect_int = std::chrono::seconds(*n);
    } else if (kw == "ping-int") {
      if (auto n = integer(s, 1, 120, "seconds")) c.ping_int = std::chrono::seconds(*n);
    } else if (kw == "max-buffers") {
      if (auto n = size_value(s, 1, 32, 131072, "max-buffers 2048;")) {
        c.max_buffers = static_cast<std::uint32_t>(*n);
        warn(s, "'max-buffers' accepted (bounds replicad's receive queue; there are no kernel "
                "buffers here)");
      }
    } else if (kw == "max-epoch-size") {
      if (auto n = size_value(s, 1, 1, 20000, "max-epoch-size 2048;")) {
        c.max_epoch_size = static_cast<std::uint32_t>(*n);
        warn(s, "'max-epoch-size' accepted (bounds the writes between two barriers)");
      }
    } else if (one_of(kw, {"sndbuf-size", "rcvbuf-size", "ko-count", "unplug-watermark",
                           "always-asbp", "rr-conflict", "no-tcp-cork", "tcp-cork",
                           "on-congestion", "congestion-fill", "congestion-extents", "use-rle",
                           "csums-after-crash-only", "socket-check-timeout", "fencing",
                           "transport", "max-bio-size"})) {
      ignored(s, "no effect in hapbx");
    } else {
      unknown(s, "net");
    }
  }

  void apply_syncer(ScopeDraft& d, const Statement& s) {
    const std::string& kw = s.words[0].text;
    if (kw == "rate") {
      apply_rate(d, s);
    } else if (kw == "verify-alg") {
      if (auto v = digest(s, false)) d.cfg.verify_alg = *v;
    } else if (kw == "csums-alg") {
      if (auto v = digest(s, false)) d.cfg.csums_alg = *v;
    } else if (kw == "al-extents") {
      if (auto n = integer(s, 7, 65534, "")) d.cfg.al_extents = static_cast<int>(*n);
    } else if (one_of(kw, {"after", "use-rle", "cpu-mask", "delay-probe-volume",
                           "delay-probe-interval", "c-plan-ahead", "c-fill-target",
                           "c-delay-target", "c-max-rate", "c-min-rate", "on-no-data-accessible",
                           "throttle-threshold", "hold-off-threshold"})) {
      ignored(s, "no effect in hapbx");
    } else {
      unknown(s, "syncer");
    }
  }

  // ---- hosts ----------------------------------------------------------------------------

  void apply_host(ScopeDraft& d, const Statement& s) {
    if (s.words.size() != 2) {
      fail(s, "'on' takes one host name: on asterisk1 { ... }");
      d.bad_host = true;
      return;
    }
    const std::string& name = s.words[1].text;
    if (!config_values::valid_host_name(name)) {
      fail(s, "host name '" + shown(name) + "' is not valid (letters, digits, '_', '-', '.')");
      d.bad_host = true;
      return;
    }
    if (d.hosts.size() >= 16) {
      fail(s, "too many 'on' sections");
      return;
    }
    HostDraft h;
    h.host.name = name;
    h.host.config_line = s.line;
    h.where = where_of(s);
    for (const Statement& o : s.block) {
      const std::string& kw = o.words[0].text;
      if (kw == "skip") {
        warn(o, "'skip' section skipped");
      } else if (kw == "volume" && o.has_block) {
        apply_volume(h, o, false);
      } else if (o.has_block) {
        warn(o, "unknown section '" + shown(kw) + "' in 'on " + name + "', ignored");
      } else if (kw == "address") {
        note(h.seen, kw, o);
        apply_address(h, o);
      } else if (one_of(kw, {"device", "disk", "meta-disk", "flexible-meta-disk"})) {
        apply_host_option(h, o);
      } else if (kw == "node-id") {
        ignored(o, "DRBD 9; hapbx has two nodes");
      } else {
        unknown(o, "'on " + name + "'");
      }
    }
    d.hosts.push_back(std::move(h));
  }

  // 8.4 `volume N { device; disk; meta-disk; }`: one volume per resource.
  void apply_volume(HostDraft& h, const Statement& s, bool in_common) {
    if (in_common) {
      fail(s, "'volume' belongs in a resource, not in common");
      return;
    }
    if (s.words.size() != 2 || !config_values::parse_integer(s.words[1].text)) {
      fail(s, "'volume' takes a number: volume 0 { ... }");
      return;
    }
    if (++h.volumes > 1) {
      fail(s, "only one volume per resource is supported; make each volume its own resource");
      return;
    }
    for (const Statement& o : s.block) {
      const std::string& kw = o.words[0].text;
      if (!o.has_block && one_of(kw, {"device", "disk", "meta-disk", "flexible-meta-disk"})) {
        apply_host_option(h, o);
      } else {
        unknown(o, "volume");
      }
    }
  }

  bool absolute_path(const Statement& s, const std::string& path, std::string_view example) {
    if (path.empty() || path[0] != '/') {
      fail(s, "'" + shown(s.words[0].text) + "' needs an absolute path, not '" + shown(path) +
                  "' (e.g. " + std::string(example) + ")");
      return false;
    }
    return true;
  }

  // device, disk, meta-disk in an `on` section, a volume, or at resource level (defaults).
  void apply_host_option(HostDraft& h, const Statement& s) {
    const std::string& kw = s.words[0].text;
    const std::size_t n = s.words.size();
    note(h.seen, kw == "flexible-meta-disk" ? "meta-disk" : kw, s);
    // Given, even if refused below: its own error says enough, no "missing" on top.
    (kw == "device" ? h.has_device : kw == "disk" ? h.has_disk : h.has_meta) = true;
    if (kw == "device") {
      // device PATH; device PATH minor N; device minor N;
      if (n == 3 && s.words[1].text == "minor") {
        fail(s, "device needs a path (e.g. device /dev/hapbx/r0 minor 0;)");
        return;
      }
      if (!(n == 2 || (n == 4 && s.words[2].text == "minor" &&
                       config_values::parse_integer(s.words[3].text)))) {
        fail(s, "device takes a path and an optional minor (e.g. device /dev/hapbx/r0;)");
        return;
      }
      if (!absolute_path(s, s.words[1].text, "device /dev/hapbx/r0;")) return;
      if (n == 4) warn(s, "'minor " + s.words[3].text + "' accepted, ignored (no kernel minors)");
      h.host.device = s.words[1].text;
      h.has_device = true;
    } else if (kw == "disk") {
      const Word* w = value(s, "disk /var/lib/hapbx/r0.img;");
      if (w == nullptr) return;
      if (w->text == "none") {
        fail(s, "diskless nodes (disk none) are not supported; give each node a disk");
        return;
      }
      if (!absolute_path(s, w->text, "disk /var/lib/hapbx/r0.img;")) return;
      h.host.disk = w->text;
      h.has_disk = true;
    } else {  // meta-disk, flexible-meta-disk
      if (n < 2 || n > 3) {
        fail(s, "'" + kw + "' takes internal or a path with an optional [index]");
        return;
      }
      std::string path = s.words[1].text;
      std::string index = n == 3 ? s.words[2].text : std::string();
      if (path == "internal") {
        if (n != 2) {
          fail(s, "'" + kw + " internal' takes no index");
          return;
        }
        h.host.meta_internal = true;
        h.host.meta_disk.clear();
        h.host.meta_index.reset();
        h.has_meta = true;
        return;
      }
      if (index.empty()) {  // "/dev/sdb1[0]" written without a space
        const std::size_t open = path.rfind('[');
        if (open != std::string::npos && open > 0 && path.back() == ']') {
          index = path.substr(open);
          path.resize(open);
        }
      }
      if (!absolute_path(s, path, "meta-disk internal;")) return;
      h.host.meta_internal = false;
      h.host.meta_disk = path;
      h.host.meta_index.reset();
      if (!index.empty()) {
        std::optional<std::int64_t> i;
        if (index.size() >= 3 && index.front() == '[' && index.back() == ']') {
          i = config_values::parse_integer(std::string_view(index).substr(1, index.size() - 2));
        }
        if (!i || *i > 65535) {
          fail(s, "meta-disk index '" + shown(index) + "' is not valid (e.g. [0])");
          return;
        }
        h.host.meta_index = static_cast<std::uint32_t>(*i);
      }
      h.has_meta = true;
    }
  }

  void apply_address(HostDraft& h, const Statement& s) {
    h.has_address = true;  // given, even if refused below
    const std::size_t n = s.words.size();
    if (n < 2 || n > 3) {
      fail(s, "address takes [ipv4|ipv6] ADDRESS:PORT (e.g. address 198.18.1.11:7788;)");
      return;
    }
    auto ep = config_values::parse_endpoint(n == 3 ? s.words[1].text : std::string(),
                                            s.words[n - 1].text);
    if (!ep.ok()) {
      fail(s, ep.error().message);
      return;
    }
    h.host.address = ep->address;
    h.host.port = ep->port;
    h.has_address = true;
  }

  // ---- whole resource -------------------------------------------------------------------

  void finish_resource(ScopeDraft& d, const Statement& s) {
    const std::size_t errors_before = errors_.size();
    ResourceConfig& c = d.cfg;
    if (d.hosts.size() != 2 && !d.bad_host) {
      fail(s, "resource " + c.name + " has " + std::to_string(d.hosts.size()) +
                  " 'on' section" + (d.hosts.size() == 1 ? "" : "s") +
                  "; exactly two are needed, one per node (on asterisk1 { ... } on asterisk2 "
                  "{ ... })");
    }
    for (std::size_t i = 0; i < d.hosts.size(); ++i) {
      HostDraft& h = d.hosts[i];
      const Where at = h.where;
      if (!h.has_device && d.defaults.has_device) {
        h.host.device = d.defaults.host.device;
        h.has_device = true;
      }
      if (!h.has_disk && d.defaults.has_disk) {
        h.host.disk = d.defaults.host.disk;
        h.has_disk = true;
      }
      if (!h.has_meta && d.defaults.has_meta) {
        h.host.meta_internal = d.defaults.host.meta_internal;
        h.host.meta_disk = d.defaults.host.meta_disk;
        h.host.meta_index = d.defaults.host.meta_index;
        h.has_meta = true;
      }
      const std::string on = "on " + h.host.name + ": ";
      if (!h.has_device) fail(at, on + "missing 'device' (e.g. device /dev/hapbx/r0;)");
      if (!h.has_disk) fail(at, on + "missing 'disk' (e.g. disk /var/lib/hapbx/r0.img;)");
      if (!h.has_address) fail(at, on + "missing 'address' (e.g. address 198.18.1.11:7788;)");
      if (!h.has_meta) fail(at, on + "missing 'meta-disk' (e.g. meta-disk internal;)");
      for (std::size_t j = 0; j < i; ++j) {
        const HostConfig& other = d.hosts[j].host;
        if (other.name == h.host.name) {
          fail(at, "'on " + h.host.name + "' appears twice in resource " + c.name +
                       "; the two nodes need different names");
        } else if (h.has_address && d.hosts[j].has_address && other.address == h.host.address &&
                   other.port == h.host.port) {
          fail(at, "on " + h.host.name + ": address " + h.host.address + ":" +
                       std::to_string(h.host.port) + " is also " + other.name +
                       "'s; each node needs its own address");
        }
      }
    }
    if (!c.cram_hmac_alg.empty() && c.shared_secret.empty()) {
      fail(d.cram_at, "cram-hmac-alg " + c.cram_hmac_alg + " needs a shared-secret (add "
                      "shared-secret \"...\"; to net, the same on both nodes)");
    }
    if (c.cram_hmac_alg.empty() && !c.shared_secret.empty()) {
      warn(d.secret_at, "shared-secret without cram-hmac-alg is not used: the peers are not "
                        "authenticated (add cram-hmac-alg sha1;)");
    }
    if (!c.after_sb_0pri_discard_node.empty() && d.hosts.size() == 2 &&
        c.after_sb_0pri_discard_node != d.hosts[0].host.name &&
        c.after_sb_0pri_discard_node != d.hosts[1].host.name) {
      fail(d.discard_node_at, "after-sb-0pri discard-node-" + c.after_sb_0pri_discard_node +
                                  ": no such node in resource " + c.name + " (expected " +
                                  d.hosts[0].host.name + " or " + d.hosts[1].host.name + ")");
    }
    if (c.timeout >= c.ping_int || c.timeout >= c.connect_int) {
      warn(s, "resource " + c.name + ": timeout (" + std::to_string(c.timeout.count()) +
                  " ms) should be shorter than ping-int and connect-int");
    }
    if (errors_.size() != errors_before) return;
    for (HostDraft& h : d.hosts) c.hosts.push_back(std::move(h.host));
    out_.resources.push_back(std::move(c));
  }

  const Document& doc_;
  const ReplicaConfigLimits& limits_;
  ReplicaConfig out_;
  std::vector<std::string> errors_;
  std::set<std::string> said_;  // messages already emitted (common lines are seen many times)
};

}  // namespace

const HostConfig* ResourceConfig::host(const std::string& node) const {
  for (const HostConfig& h : hosts) {
    if (h.name == node) return &h;
  }
  return nullptr;
}

const HostConfig* ResourceConfig::peer_of(const std::string& node) const {
  if (hosts.size() != 2) return nullptr;
  if (hosts[0].name == node) return &hosts[1];
  if (hosts[1].name == node) return &hosts[0];
  return nullptr;
}

SplitBrainPolicy ResourceConfig::after_sb_0pri_on(const std::string& node) const {
  if (after_sb_0pri_discard_node.empty()) return after_sb_0pri;
  return node == after_sb_0pri_discard_node ? SplitBrainPolicy::DiscardLocal
                                            : SplitBrainPolicy::DiscardRemote;
}

const ResourceConfig* ReplicaConfig::resource(const std::string& name) const {
  for (const ResourceConfig& r : resources) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

std::optional<std::uint64_t> parse_size(std::string_view text, std::uint64_t plain_unit) {
  constexpr std::uint64_t kMax = ~std::uint64_t{0};
  std::size_t i = 0;
  std::uint64_t value = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    const auto digit = static_cast<std::uint64_t>(text[i] - '0');
    if (value > (kMax - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
    ++i;
  }
  if (i == 0) return std::nullopt;
  std::uint64_t unit = plain_unit;
  if (i < text.size()) {
    switch (text[i]) {
      case 's': case 'S': unit = 512; break;
      case 'k': case 'K': unit = std::uint64_t{1} << 10; break;
      case 'm': case 'M': unit = std::uint64_t{1} << 20; break;
      case 'g': case 'G': unit = std::uint64_t{1} << 30; break;
      case 't': case 'T': unit = std::uint64_t{1} << 40; break;
      default: return std::nullopt;
    }
    if (++i != text.size()) return std::nullopt;
  }
  if (unit == 0) return std::nullopt;
  if (value != 0 && unit > kMax / value) return std::nullopt;
  return value * unit;
}

Result<ReplicaConfig> parse_replica_config(std::string_view text, const std::string& file,
                                           ReplicaConfigFiles& files,
                                           const ReplicaConfigLimits& limits) {
  const std::string name = file.empty() ? std::string("(config)") : file;
  auto doc = config_syntax::read_document(text, name, files, limits);
  if (!doc.ok()) return doc.error();
  return Interpreter(*doc, limits).run();
}

Result<ReplicaConfig> parse_replica_config(std::string_view text, const std::string& file) {
  RealReplicaConfigFiles files;
  return parse_replica_config(text, file, files);
}

Result<ReplicaConfig> load_replica_config(const std::string& path) {
  RealReplicaConfigFiles files;
  const ReplicaConfigLimits limits;
  auto content = files.read(path, limits.max_file_bytes);
  if (!content.ok()) return content.error();
  if (!content->has_value()) return make_error(path + ": no such file");
  return parse_replica_config(**content, path, files, limits);
}

}  // namespace hapbx::replica
