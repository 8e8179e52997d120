// relay_bench: pbxd's RTP relay (hapbx_media) alone, for bench/media.sh. Waits for the load
// generator's endpoint file ("a_port b_port" per call), opens two streams per call with the
// generator's ports as their SDP remotes, bridges them, writes the relay ports ("port_for_a
// port_for_b" per call) to the output file, then relays until SIGTERM or SIGINT and prints the
// relay's counters.
//
// Usage: relay_bench --remotes FILE --out FILE [--bind 127.0.0.1] [--port-min 20000]
//                    [--port-max 29999] [--wait-seconds 60] [--coalesce-us 500]
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "media/media_relay.h"

namespace {

int usage() {
  std::fprintf(
      stderr,
      "usage: relay_bench --remotes FILE --out FILE [--bind IP] [--port-min N] [--port-max N] "
      "[--wait-seconds N] [--coalesce-us N]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string remotes, out, bind = "127.0.0.1";
  int port_min = 20000, port_max = 29999, wait_seconds = 60, coalesce_us = -1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--remotes")
      remotes = v;
    else if (k == "--out")
      out = v;
    else if (k == "--bind")
      bind = v;
    else if (k == "--port-min")
      port_min = std::atoi(v.c_str());
    else if (k == "--port-max")
      port_max = std::atoi(v.c_str());
    else if (k == "--wait-seconds")
      wait_seconds = std::atoi(v.c_str());
    else if (k == "--coalesce-us")
      coalesce_us = std::atoi(v.c_str());
    else
      return usage();
  }
  if (remotes.empty() || out.empty()) return usage();

  // Signals are taken synchronously by sigwait below, on this thread only.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  hapbx::media::RelayOptions options;
  options.bind_address = bind;
  options.port_min = static_cast<uint16_t>(port_min);
  options.port_max = static_cast<uint16_t>(port_max);
  if (coalesce_us >= 0) options.coalesce_us = coalesce_us;
  auto relay = hapbx::media::MediaRelay::start(options, nullptr);
  if (!relay) {
    std::fprintf(stderr, "relay_bench: %s\n", relay.error().message.c_str());
    return 1;
  }
  std::fprintf(stderr, "relay_bench: pid %d ready, waiting for %s\n", getpid(), remotes.c_str());

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_seconds);
  while (!std::filesystem::exists(remotes)) {
    if (std::chrono::steady_clock::now() > deadline) {
      std::fprintf(stderr, "relay_bench: no %s after %d s\n", remotes.c_str(), wait_seconds);
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::ifstream in(remotes);
  std::vector<std::pair<int, int>> pairs;
  int a = 0, b = 0;
  while (in >> a >> b) pairs.emplace_back(a, b);

  const std::string tmp = out + ".tmp";
  {
    std::ofstream o(tmp);
    for (auto [pa, pb] : pairs) {
      auto sa = (*relay)->open_stream();
      auto sb = (*relay)->open_stream();
      if (!sa || !sb) {
        std::fprintf(stderr, "relay_bench: %s\n", (!sa ? sa : sb).error().message.c_str());
        return 1;
      }
      (*relay)->set_remote(sa->id, {bind, static_cast<uint16_t>(pa), 0});
      (*relay)->set_remote(sb->id, {bind, static_cast<uint16_t>(pb), 0});
      (*relay)->bridge(sa->id, sb->id);
      o << sa->rtp_port << ' ' << sb->rtp_port << '\n';
    }
  }
  std::filesystem::rename(tmp, out);
  std::fprintf(stderr, "relay_bench: %zu calls bridged\n", pairs.size());

  int sig = 0;
  sigwait(&signals, &sig);
  auto c = (*relay)->counters();
  std::printf(
      "streams_open=%llu rtp_relayed=%llu rtcp_relayed=%llu dropped=%llu send_errors=%llu\n",
      static_cast<unsigned long long>(c.streams_open),
      static_cast<unsigned long long>(c.rtp_relayed),
      static_cast<unsigned long long>(c.rtcp_relayed), static_cast<unsigned long long>(c.dropped),
      static_cast<unsigned long long>(c.send_errors));
  return 0;
}
