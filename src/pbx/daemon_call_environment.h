// The CallEnvironment of pbxd: SIP through the transaction layer, media through the RTP relay,
// prompts from built-in tones or WAV files, CDRs to the writer thread. Everything is on the
// event loop's thread except what the relay and the CDR writer do on their own threads.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "core/clock.h"
#include "media/media_relay.h"
#include "media/prompt.h"
#include "pbx/call_environment.h"
#include "pbx/cdr_writer.h"
#include "sip/transaction_layer.h"

namespace hapbx::pbx {

class DaemonCallEnvironment final : public CallEnvironment {
 public:
  using LocalAddressFn = std::function<LocalAddress(const sip::Endpoint&)>;

  // Every reference must outlive this object. `cdr` may be null (cdr.conf enable=no).
  DaemonCallEnvironment(sip::TransactionLayer& layer, const core::Clock& clock,
                        LocalAddressFn local_address, media::MediaRelay& relay, CdrWriter* cdr,
                        std::filesystem::path sounds_dir);

  // Prompts are read once and kept; a reload forgets them so edited files are read again.
  void forget_prompts() { prompts_.clear(); }
  uint64_t cdrs_skipped() const { return cdrs_skipped_; }

  Result<sip::TransactionId> send_request(std::string bytes, const sip::Endpoint& to) override;
  void send_response(sip::TransactionId transaction, std::string bytes, int status) override;
  void send_stateless(const sip::Endpoint& to, std::string bytes) override;
  LocalAddress local_address_for(const sip::Endpoint& peer) override;

  Result<MediaStream> open_stream(const sip::Endpoint& peer) override;
  void set_stream_remote(MediaStreamId stream, const std::string& address, uint16_t rtp_port,
                         uint16_t rtcp_port) override;
  void bridge_streams(MediaStreamId a, MediaStreamId b) override;
  void unbridge_stream(MediaStreamId stream) override;
  void echo_stream(MediaStreamId stream) override;
  Result<uint64_t> play(MediaStreamId stream, std::string_view prompt, int payload_type) override;
  void stop_playback(MediaStreamId stream) override;
  void close_stream(MediaStreamId stream) override;
  std::optional<MediaStreamCounters> stream_counters(MediaStreamId stream) const override;

  void write_cdr(CdrRecord&& record) override;

 private:
  Result<std::shared_ptr<const media::Prompt>> prompt(std::string_view name);

  sip::TransactionLayer& layer_;
  const core::Clock& clock_;
  LocalAddressFn local_address_;
  media::MediaRelay& relay_;
  CdrWriter* cdr_;
  std::filesystem::path sounds_dir_;
  std::unordered_map<std::string, std::shared_ptr<const media::Prompt>> prompts_;
  uint64_t cdrs_skipped_ = 0;
};

}  // namespace hapbx::pbx
