// Where the PBX keeps its files in the cluster: everything that must survive a failover lives on
// the replicated disk, so the node that takes over finds the same configuration, registrations,
// CDRs, spool and logs (the thesis moved /etc/asterisk, /var/lib/asterisk, /var/spool/asterisk
// and /var/log/asterisk there with symlinks made by hand; the product makes the layout itself).
//
//   ROOT/etc/hapbx   sip.conf, extensions.conf, rtp.conf, cdr.conf   (pbxd --config-dir)
//   ROOT/lib         registrations and CDRs                          (pbxd --state-dir)
//   ROOT/spool       the PBX's spool
//   ROOT/log         pbxd.log
//
// The first start on a fresh disk seeds ROOT/etc/hapbx from the node's own copy (seed_dir,
// /etc/hapbx/pbx): an administrator configures one node, and from then on the replicated disk
// is the only configuration (a later change in seed_dir is ignored, and says so in the log).
#pragma once

#include <string>
#include <vector>

#include "core/result.h"

namespace hapbx::cluster {

struct PbxLayout {
  std::string root = "/replica";
  std::string seed_dir = "/etc/hapbx/pbx";

  std::string config_dir() const { return root + "/etc/hapbx"; }
  std::string state_dir() const { return root + "/lib"; }
  std::string spool_dir() const { return root + "/spool"; }
  std::string log_dir() const { return root + "/log"; }
  std::string log_file() const { return log_dir() + "/pbxd.log"; }
};

// What prepare_pbx_layout did, for the log.
struct PbxLayoutReport {
  std::vector<std::string> created;  // directories made
  std::vector<std::string> seeded;   // files copied from seed_dir
};

// Makes the directories if missing and seeds the configuration when ROOT/etc/hapbx has no
// sip.conf. Refuses (error naming the path) when ROOT is not a directory, when a path of the
// layout exists but is not a directory, or when there is neither a sip.conf on the disk nor a
// seed to copy: pbxd would not start, and the message says where the configuration belongs.
Result<PbxLayoutReport> prepare_pbx_layout(const PbxLayout& layout);

}  // namespace hapbx::cluster
