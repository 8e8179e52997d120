// Typed sip.conf / rtp.conf model (first stub: the API compiles; building fills in next).
#include "pbx/sip_config.h"

namespace hapbx::pbx {

bool Acl::allows(std::string_view) const { return rules.empty(); }

std::string_view to_string(PeerType type) {
  switch (type) {
    case PeerType::Friend: return "friend";
    case PeerType::User: return "user";
    case PeerType::Peer: return "peer";
  }
  return "?";
}

std::string_view to_string(DirectMedia mode) {
  switch (mode) {
    case DirectMedia::Yes: return "yes";
    case DirectMedia::No: return "no";
    case DirectMedia::NoNat: return "nonat";
    case DirectMedia::Update: return "update";
  }
  return "?";
}

std::string_view to_string(DtmfMode mode) {
  switch (mode) {
    case DtmfMode::Rfc2833: return "rfc2833";
    case DtmfMode::Info: return "info";
    case DtmfMode::ShortInfo: return "shortinfo";
    case DtmfMode::Inband: return "inband";
    case DtmfMode::Auto: return "auto";
    case DtmfMode::AutoInfo: return "auto_info";
  }
  return "?";
}

const SipPeer* SipConfig::find_peer(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &peers[it->second];
}

void SipConfig::reindex() {
  index_.clear();
  for (std::size_t i = 0; i < peers.size(); ++i) index_[peers[i].name] = i;
}

Result<SipConfig> build_sip_config(const ConfigFile&, const ConfigFile*) {
  return make_error("sip.conf: typed model not implemented yet");
}

Result<SipConfig> load_sip_config(const std::filesystem::path& config_dir, ConfigLoader& loader) {
  auto sip = read_asterisk_config(config_dir / "sip.conf", loader);
  if (!sip.ok()) return sip.error();
  return build_sip_config(sip.value(), nullptr);
}

}  // namespace hapbx::pbx
