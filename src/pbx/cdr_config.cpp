// cdr.conf into CdrSettings: see cdr_config.h for every option and what it does.
#include "pbx/cdr_config.h"

#include <optional>
#include <string_view>

#include "pbx/config_diagnostics.h"
#include "pbx/sip_config_values.h"

namespace hapbx::pbx {

namespace {

constexpr std::string_view kScope = "cdr.conf";

// Sections Asterisk's cdr.conf may hold for backends pbxd does not have.
constexpr std::string_view kOtherBackends[] = {"custom", "manager", "odbc", "pgsql", "radius",
                                               "sqlite", "sqlite3_custom", "tds", "mysql",
                                               "adaptive_odbc", "beanstalkd"};

// [general] options Asterisk knows whose job pbxd does not have (yet).
constexpr std::string_view kGeneralNotUsed[] = {"endbeforehexten", "debug",
                                                "channeldefaultenabled", "ignorestatechanges",
                                                "ignoredialchanges", "canceldispositionenabled"};

class Builder {
 public:
  explicit Builder(ConfigDiagnostics& diag) : diag_(diag) {}

  void general(const ConfigSection& section) {
    if (general_seen_) {
      diag_.warn(section.where, "second [general] section; its options are applied as well "
                                "(merge it into the first one)");
    }
    general_seen_ = true;
    for (const ConfigEntry& e : section.entries) general_option(e);
  }

  void csv(const ConfigSection& section) {
    if (csv_seen_) {
      diag_.warn(section.where, "second [csv] section; its options are applied as well "
                                "(merge it into the first one)");
    }
    if (!csv_seen_) csv_where_ = section.where;
    csv_seen_ = true;
    settings_.csv.enabled = true;
    if (section.entries.empty()) {
      diag_.warn(section.where, "[csv] has no options: Asterisk's cdr_csv stays off for an empty "
                                "[csv], hapbx writes Master.csv (remove [csv] to turn it off)");
    }
    for (const ConfigEntry& e : section.entries) csv_option(e);
  }

  CdrSettings finish() {
    if (!settings_.enabled && csv_seen_) {
      diag_.warn(csv_where_, "[csv] has no effect: enable=no turns every CDR backend off");
    }
    return std::move(settings_);
  }

 private:
  std::optional<bool> boolean(const ConfigEntry& e) {
    if (auto b = conf::parse_bool(e.value)) return b;
    diag_.fail(e.where, shown(e.key) + ": '" + shown(e.value) + "' is not a yes/no value (write " +
                            shown(e.key) + "=yes or " + shown(e.key) + "=no)");
    return std::nullopt;
  }

  void set(const ConfigEntry& e, bool& out) {
    if (auto b = boolean(e)) out = *b;
  }

  void number(const ConfigEntry& e, long long min, long long max, std::string_view example) {
    auto n = conf::parse_number_option(e.key, e.value, min, max, example);
    if (!n.ok()) diag_.fail(e.where, n.error().message);
  }

  void general_option(const ConfigEntry& e) {
    const std::string key = lowercase(e.key);
    bool ignored = false;
    if (key == "enable") {
      set(e, settings_.enabled);
    } else if (key == "unanswered") {
      set(e, settings_.log_unanswered);
    } else if (key == "congestion") {
      set(e, settings_.log_congestion);
    } else if (key == "initiatedseconds") {
      set(e, settings_.initiated_seconds);
    } else if (key == "usegmtime") {
      set(e, settings_.db_use_gmt);
    } else if (key == "batch") {
      if (auto b = boolean(e); b && *b) {
        diag_.warn(e.where, "batch=yes is accepted, but hapbx writes every CDR to disk when its "
                            "call ends (calls ending together share one write), so no CDR "
                            "waits in memory and none is lost by a crash");
      }
    } else if (key == "size") {
      number(e, 1, 1000, "100");
    } else if (key == "time") {
      number(e, 1, 86400, "300");
    } else if (key == "scheduleronly" || key == "safeshutdown") {
      boolean(e);  // checked; pbxd always writes every pending CDR before it exits
    } else {
      for (std::string_view k : kGeneralNotUsed) ignored = ignored || key == k;
      if (!ignored) {
        diag_.warn(e.where, "unknown option '" + shown(e.key) + "' in [general] ignored (known: "
                            "enable, unanswered, congestion, initiatedseconds, batch, usegmtime; "
                            "check the spelling)");
        return;
      }
      if (boolean(e)) diag_.note_unused(kScope, e.where, e.key);
    }
  }

  void csv_option(const ConfigEntry& e) {
    const std::string key = lowercase(e.key);
    if (key == "usegmtime") {
      set(e, settings_.csv.use_gmt);
    } else if (key == "loguniqueid") {
      set(e, settings_.csv.log_uniqueid);
    } else if (key == "loguserfield") {
      set(e, settings_.csv.log_userfield);
    } else if (key == "accountlogs") {
      set(e, settings_.csv.account_logs);
    } else if (key == "newcdrcolumns") {
      if (boolean(e)) {
        diag_.note_unused(kScope, e.where, e.key,
                          "the peeraccount, linkedid and sequence columns are not written");
      }
    } else {
      diag_.warn(e.where, "unknown option '" + shown(e.key) + "' in [csv] ignored (known: "
                          "usegmtime, loguniqueid, loguserfield, accountlogs; check the spelling)");
    }
  }

  ConfigDiagnostics& diag_;
  CdrSettings settings_;
  bool general_seen_ = false;
  bool csv_seen_ = false;
  SourceLocation csv_where_;
};

}  // namespace

Result<CdrSettings> build_cdr_settings(const ConfigFile& file) {
  ConfigDiagnostics diag;
  for (const auto& w : file.warnings) diag.warnings().push_back(w);
  Builder builder(diag);
  for (const ConfigSection& section : file.sections) {
    if (section.is_template) continue;  // only ever used through inheritance
    if (section.name == "general") {
      builder.general(section);
    } else if (section.name == "csv") {
      builder.csv(section);
    } else {
      bool backend = false;
      for (std::string_view b : kOtherBackends) backend = backend || iequals(section.name, b);
      if (backend) {
        diag.warn(section.where, "[" + shown(section.name) + "] ignored: that CDR backend is not "
                                 "supported by hapbx; CDRs go to cdr.db in the state directory "
                                 "(and to Master.csv with a [csv] section)");
      } else {
        diag.warn(section.where, "unknown section [" + shown(section.name) +
                                     "] ignored (cdr.conf has [general] and [csv])");
      }
    }
  }
  CdrSettings settings = builder.finish();
  if (diag.failed()) return make_error(diag.error_text());
  settings.warnings = std::move(diag.warnings());
  return settings;
}

Result<CdrSettings> load_cdr_settings(const std::filesystem::path& config_dir,
                                      ConfigLoader& loader) {
  const auto path = config_dir / "cdr.conf";
  auto content = loader.read(path, ConfigLimits{}.max_file_bytes);
  if (!content.ok()) return content.error();
  if (!content.value()) return CdrSettings{};
  auto file = read_asterisk_config(path, loader);
  if (!file.ok()) return file.error();
  return build_cdr_settings(file.value());
}

}  // namespace hapbx::pbx
