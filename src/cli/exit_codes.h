// Exit statuses of the `hapbx` command: a stable contract for scripts and tests.
#pragma once

namespace hapbx::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitCommandFailed = 1;  // the daemon answered with an error
inline constexpr int kExitUsage = 2;          // bad arguments; nothing was sent
inline constexpr int kExitUnreachable = 3;    // the daemon could not be reached or did not answer

}  // namespace hapbx::cli
