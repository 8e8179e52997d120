// A phone's end of an RTP stream for the relay tests: a UDP socket on 127.0.0.1, an ephemeral
// port, sends to a port, receives with a deadline (poll, no sleeps).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <thread>
#include <vector>

namespace hapbx::media::testing {

struct Datagram {
  std::vector<uint8_t> bytes;
  uint16_t from_port = 0;
};

class LoopbackPeer {
 public:
  LoopbackPeer() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~LoopbackPeer() { ::close(fd_); }
  LoopbackPeer(const LoopbackPeer&) = delete;
  LoopbackPeer& operator=(const LoopbackPeer&) = delete;

  uint16_t port() const { return port_; }

  void send_to(uint16_t port, const std::vector<uint8_t>& bytes) const {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }

  std::optional<Datagram> receive(
      std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) const {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    Datagram d;
    d.bytes.resize(4096);
    sockaddr_in from{};
    socklen_t len = sizeof from;
    ssize_t n = ::recvfrom(fd_, d.bytes.data(), d.bytes.size(), 0,
                           reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) return std::nullopt;
    d.bytes.resize(static_cast<std::size_t>(n));
    d.from_port = ntohs(from.sin_port);
    return d;
  }

  // True if nothing arrives within `quiet` (used after the relay has provably handled the
  // packet that must not come through, so a short quiet period is enough).
  bool silent_for(std::chrono::milliseconds quiet) const { return !receive(quiet); }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// An RTP packet: V=2, payload type, sequence number, and a payload marking it.
inline std::vector<uint8_t> rtp_packet(uint16_t seq, uint8_t marker_byte = 0x42,
                                       std::size_t payload = 160) {
  std::vector<uint8_t> p(12 + payload, marker_byte);
  p[0] = 0x80;
  p[1] = 0;
  p[2] = static_cast<uint8_t>(seq >> 8);
  p[3] = static_cast<uint8_t>(seq);
  for (int i = 4; i < 12; ++i) p[static_cast<std::size_t>(i)] = static_cast<uint8_t>(i);
  return p;
}

// An RTCP receiver report with no report blocks.
inline std::vector<uint8_t> rtcp_packet() {
  return {0x80, 201, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef};
}

// Waits until `done` holds, up to `limit`.
inline bool wait_until(const std::function<bool()>& done,
                       std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// A port range for one test's relay, drawn at random above the ephemeral range's usual start so
// parallel tests rarely meet (and the relay skips pairs someone else holds anyway).
inline std::pair<uint16_t, uint16_t> random_port_range(uint16_t width = 200) {
  std::random_device rd;
  const uint16_t base = static_cast<uint16_t>(20000 + 2 * (rd() % 5000));
  return {base, static_cast<uint16_t>(base + width - 1)};
}

}  // namespace hapbx::media::testing
