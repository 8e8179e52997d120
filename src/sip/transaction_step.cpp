// Names of the transaction machine outputs, for logs and status output.
#include "sip/transaction_step.h"

namespace hapbx::sip::txn {

std::string_view to_string(Failure failure) {
  return failure == Failure::Timeout ? "timeout" : "transport error";
}

}  // namespace hapbx::sip::txn
