// replicad's control commands (see replica_commands.h).
#include "replica/replica_commands.h"

#include <charconv>
#include <optional>

#include <fmt/format.h>

#include "replica/resource_driver.h"

namespace hapbx::replica {
namespace {

using core::CommandResult;
using Args = std::vector<std::string>;
using Drivers = std::vector<std::unique_ptr<ResourceDriver>>;

struct Parsed {
  std::vector<std::string> positional;
  bool force = false;
  bool discard_my_data = false;
};

// Flags are the words starting with "--"; they may come before or after the resource.
Result<Parsed> parse_args(const Args& args, const std::vector<std::string_view>& flags) {
  Parsed p;
  for (const auto& a : args) {
    std::string_view w = a;
    const bool dashed = w.starts_with("--");
    std::string_view bare = dashed ? w.substr(2) : w;
    bool matched = false;
    for (std::string_view f : flags) {
      if (bare == f && dashed) {
        if (f == "force") p.force = true;
        if (f == "discard-my-data") p.discard_my_data = true;
        matched = true;
      }
    }
    if (matched) continue;
    if (dashed || w.starts_with("-")) {
      return make_error(fmt::format("unknown option '{}'", a));
    }
    p.positional.push_back(a);
  }
  return p;
}

std::string resource_names(const Drivers& drivers) {
  std::string out;
  for (const auto& d : drivers) out += (out.empty() ? "" : ", ") + d->name();
  return out.empty() ? std::string("none") : out;
}

Result<ResourceDriver*> find(const Drivers& drivers, const std::string& name) {
  for (const auto& d : drivers) {
    if (d->name() == name) return d.get();
  }
  return make_error(fmt::format("unknown resource '{}' (this node has: {})", name,
                                resource_names(drivers)));
}

std::optional<double> parse_seconds(const std::string& s) {
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || !(v > 0) || v > 3600) return std::nullopt;
  return v;
}

CommandResult from_status(const Status& s, std::string ok_text) {
  return s ? CommandResult::success(std::move(ok_text)) : CommandResult::failure(s.error().message);
}

}  // namespace

Status add_replica_commands(core::ControlServer& server, const Drivers& drivers) {
  const Drivers* ds = &drivers;

  struct Sync {
    std::string verb, usage, description;
    std::vector<std::string_view> flags;
    std::function<CommandResult(ResourceDriver&, const Parsed&, bool json)> run;
  };
  std::vector<Sync> sync = {
      {"create-md", "create-md [--force] <resource>",
       "Write fresh metadata on the disk (only while detached; --force over valid metadata)",
       {"force"},
       [](ResourceDriver& d, const Parsed& p, bool) {
         auto r = d.create_md(p.force);
         return r ? CommandResult::success(*r) : CommandResult::failure(r.error().message);
       }},
      {"attach", "attach <resource>", "Attach the backing disk (read the metadata)", {},
       [](ResourceDriver& d, const Parsed&, bool) {
         return from_status(d.attach(), d.name() + " attached\n");
       }},
      {"detach", "detach <resource>", "Detach the backing disk (Secondary only)", {},
       [](ResourceDriver& d, const Parsed&, bool) {
         return from_status(d.detach(), d.name() + " detached\n");
       }},
      {"connect", "connect [--discard-my-data] <resource>",
       "Connect to the peer; --discard-my-data makes this node the split-brain victim",
       {"discard-my-data"},
       [](ResourceDriver& d, const Parsed& p, bool) {
         return from_status(d.connect(p.discard_my_data), d.name() + " connecting\n");
       }},
      {"disconnect", "disconnect <resource>", "Disconnect from the peer (StandAlone)", {},
       [](ResourceDriver& d, const Parsed&, bool) {
         return from_status(d.disconnect(), d.name() + " disconnected\n");
       }},
      {"verify", "verify <resource>", "Start an online verify of the whole disk", {},
       [](ResourceDriver& d, const Parsed&, bool) {
         return from_status(d.verify(), d.name() + " verify started\n");
       }},
      {"invalidate", "invalidate <resource>", "Discard this node's data: full sync from the peer",
       {},
       [](ResourceDriver& d, const Parsed&, bool) {
         return from_status(d.invalidate(), d.name() + " invalidated\n");
       }},
      {"invalidate-remote", "invalidate-remote <resource>",
       "Discard the peer's data: full sync to the peer", {},
       [](ResourceDriver& d, const Parsed&, bool) {
         return from_status(d.invalidate_remote(), d.name() + " peer invalidated\n");
       }},
      {"dstate", "dstate <resource>", "Disk states: local/peer, e.g. UpToDate/UpToDate", {},
       [](ResourceDriver& d, const Parsed&, bool) {
         return CommandResult::success(format_dstate(d.view()) + "\n");
       }},
      {"cstate", "cstate <resource>", "Connection state, e.g. Connected", {},
       [](ResourceDriver& d, const Parsed&, bool) {
         return CommandResult::success(format_cstate(d.view()) + "\n");
       }},
      {"role", "role <resource>", "Roles: local/peer, e.g. Primary/Secondary", {},
       [](ResourceDriver& d, const Parsed&, bool) {
         return CommandResult::success(format_role(d.view()) + "\n");
       }},
  };
  for (auto& c : sync) {
    auto run = c.run;
    auto usage = c.usage;
    auto flags = c.flags;
    Status s = server.add_command(
        {c.verb}, c.description + " (" + c.usage + ")",
        [ds, run, usage, flags](const Args& args, bool json) -> CommandResult {
          auto parsed = parse_args(args, flags);
          if (!parsed) return CommandResult::failure(parsed.error().message + "; usage: " + usage);
          const Parsed& p = *parsed;
          if (p.positional.size() != 1) return CommandResult::failure("usage: " + usage);
          auto d = find(*ds, p.positional[0]);
          if (!d) return CommandResult::failure(d.error().message);
          return run(**d, p, json);
        });
    if (!s) return s;
  }

  // status [resource]
  if (Status s = server.add_command(
          {"status"}, "Show the resources like drbdadm status and /proc/drbd (status [resource])",
          [ds](const Args& args, bool json) -> CommandResult {
            auto p = parse_args(args, {});
            if (!p) return CommandResult::failure(p.error().message + "; usage: status [resource]");
            std::vector<ResourceView> views;
            if (p->positional.empty()) {
              for (const auto& d : *ds) views.push_back(d->view());
            } else {
              for (const auto& name : p->positional) {
                auto d = find(*ds, name);
                if (!d) return CommandResult::failure(d.error().message);
                views.push_back((*d)->view());
              }
            }
            return CommandResult::success(json ? format_status_json(views) : format_status_text(views));
          });
      !s) {
    return s;
  }

  // Asynchronous ones: primary, secondary, up, down, wait-connect, wait-sync.
  struct Async {
    std::string verb, usage, description;
    std::vector<std::string_view> flags;
    bool takes_timeout;
    std::function<void(ResourceDriver&, const Parsed&, core::Duration, core::CommandReply)> run;
  };
  std::vector<Async> async = {
      {"primary", "primary [--force] <resource>",
       "Become Primary and expose the device (--force: this node's data wins, for the first sync)",
       {"force"}, false,
       [](ResourceDriver& d, const Parsed& p, core::Duration, core::CommandReply r) {
         d.primary(p.force, std::move(r));
       }},
      {"secondary", "secondary <resource>", "Remove the device (must not be mounted) and become Secondary",
       {}, false,
       [](ResourceDriver& d, const Parsed&, core::Duration, core::CommandReply r) {
         d.secondary(std::move(r));
       }},
      {"up", "up <resource>", "Attach and connect", {}, false,
       [](ResourceDriver& d, const Parsed&, core::Duration, core::CommandReply r) { d.up(std::move(r)); }},
      {"down", "down <resource>", "Secondary, disconnect and detach", {}, false,
       [](ResourceDriver& d, const Parsed&, core::Duration, core::CommandReply r) { d.down(std::move(r)); }},
      {"wait-connect", "wait-connect <resource> [seconds]",
       "Answer once connected to the peer (default timeout 60 s)", {}, true,
       [](ResourceDriver& d, const Parsed&, core::Duration t, core::CommandReply r) {
         d.wait_connect(t, std::move(r));
       }},
      {"wait-sync", "wait-sync <resource> [seconds]",
       "Answer once both disks are UpToDate and connected (default timeout 60 s)", {}, true,
       [](ResourceDriver& d, const Parsed&, core::Duration t, core::CommandReply r) {
         d.wait_sync(t, std::move(r));
       }},
  };
  for (auto& c : async) {
    auto run = c.run;
    auto usage = c.usage;
    auto flags = c.flags;
    const bool takes_timeout = c.takes_timeout;
    Status s = server.add_async_command(
        {c.verb}, c.description + " (" + c.usage + ")",
        [ds, run, usage, flags, takes_timeout](const Args& args, bool, core::CommandReply reply) {
          auto parsed = parse_args(args, flags);
          if (!parsed) return reply(CommandResult::failure(parsed.error().message + "; usage: " + usage));
          const Parsed& p = *parsed;
          const std::size_t max = takes_timeout ? 2 : 1;
          if (p.positional.empty() || p.positional.size() > max) {
            return reply(CommandResult::failure("usage: " + usage));
          }
          core::Duration timeout = std::chrono::seconds(60);
          if (p.positional.size() == 2) {
            auto secs = parse_seconds(p.positional[1]);
            if (!secs) {
              return reply(CommandResult::failure(fmt::format(
                  "'{}' is not a timeout in seconds (0 < t <= 3600); usage: {}", p.positional[1], usage)));
            }
            timeout = std::chrono::duration_cast<core::Duration>(std::chrono::duration<double>(*secs));
          }
          auto d = find(*ds, p.positional[0]);
          if (!d) return reply(CommandResult::failure(d.error().message));
          run(**d, p, timeout, std::move(reply));
        });
    if (!s) return s;
  }
  return {};
}

}  // namespace hapbx::replica
