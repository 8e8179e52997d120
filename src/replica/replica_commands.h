// The control-socket commands of replicad (`hapbx replica <verb> [flags] <resource>`), bound to the
// resource drivers. Handlers run on the daemon loop. Flags may come before or after the resource:
//   create-md [--force] r0 | up r0 | down r0 | attach r0 | detach r0 |
//   connect [--discard-my-data] r0 | disconnect r0 | primary [--force] r0 | secondary r0 |
//   status [r0] | verify r0 | invalidate r0 | invalidate-remote r0 | dstate r0 | cstate r0 |
//   role r0 | wait-connect r0 [seconds] | wait-sync r0 [seconds]
#pragma once

#include <memory>
#include <vector>

#include "core/control_server.h"
#include "core/result.h"

namespace hapbx::replica {

class ResourceDriver;

// `drivers` must outlive the server's handlers.
Status add_replica_commands(core::ControlServer& server,
                            const std::vector<std::unique_ptr<ResourceDriver>>& drivers);

}  // namespace hapbx::replica
