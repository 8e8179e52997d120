// Small files pbxd keeps in its state directory besides the registration database.
#pragma once

#include <filesystem>

#include "core/result.h"
#include "sip/nonce.h"

namespace hapbx::pbx {

// The key that signs digest nonces lives in `state_dir`/nonce.key (hex, mode 0600), created on
// first start. Kept on disk (the replicated disk in a cluster) so that a restart or a failover
// does not turn every outstanding nonce into a fresh challenge round for every phone.
// A file that is present but unreadable or malformed is an error naming it: replacing it
// silently would hide a disk problem.
Result<sip::NonceKey> load_or_create_nonce_key(const std::filesystem::path& state_dir);

}  // namespace hapbx::pbx
