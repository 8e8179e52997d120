// rtp_load: a G.711 call load generator for RTP relays (bench/media.sh). It simulates N calls,
// each with two endpoints (A and B) on 127.0.0.1 that send 172-byte PCMU packets (12-byte RTP
// header + 160 bytes) every 20 ms toward the relay; the relay sends A's packets to B and B's to
// A. Every packet carries its send time (CLOCK_MONOTONIC ns) and sender index in its payload, so
// the receiver measures the delay the relay added and checks routing.
//
// Protocol with the relay's controller (files, so any relay can be driven):
//   1. rtp_load binds 2N sockets and writes --endpoints FILE: "a_port b_port" per call.
//   2. The controller sets up the calls and writes --targets FILE: "relay_port_for_a
//      relay_port_for_b" per call (A sends to the first, B to the second).
//   3. rtp_load sends one priming packet from every endpoint (so latching relays learn the
//      source), waits --prime-ms, then measures for --seconds and drains for 500 ms.
// Output (stdout, one line): calls= sent= received= loss_pct= misrouted= pps= p50_us= p99_us=
// max_us= seconds= relay_cpu_us= relay_rss_kb= (the last two from /proc of --relay-pid: CPU of all
// its threads over the sending window, RSS at its end).
//
// Sending: each endpoint has its own socket (a relay tells calls apart by port), connected to its
// relay port, so a send is one send() per packet; packets are spread evenly over each 20 ms
// frame, sent in 0.5 ms ticks. Receiving: after each tick, epoll, then one recvmmsg of up to 32
// datagrams per ready socket. load_cpu_us= is the generator's own CPU over the window (if it
// nears seconds*1e6 the generator, not the relay, is the limit).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int kBatch = 32;
constexpr std::size_t kPacket = 172;
constexpr int64_t kFrameNs = 20'000'000;
constexpr uint32_t kPrimeFlag = 0x80000000u;

int64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

void put32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24), p[1] = uint8_t(v >> 16), p[2] = uint8_t(v >> 8), p[3] = uint8_t(v);
}
uint32_t get32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

struct Endpoint {
  int fd = -1;
  uint16_t port = 0;
  sockaddr_in target{};  // the relay port this endpoint sends to
  uint16_t seq = 0;
  uint32_t timestamp = 0;
};

// utime+stime of every thread of `pid` in microseconds (/proc/PID/stat sums the thread group).
long long cpu_us(int pid) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::vector<std::string> fields;
  std::size_t pos = close + 2;
  while (pos < stat.size()) {
    std::size_t end = stat.find(' ', pos);
    if (end == std::string::npos) end = stat.size();
    fields.push_back(stat.substr(pos, end - pos));
    pos = end + 1;
  }
  if (fields.size() < 13) return -1;  // fields[0] is the state (field 3); utime is field 14
  const long long ticks = std::atoll(fields[11].c_str()) + std::atoll(fields[12].c_str());
  return ticks * 1'000'000 / sysconf(_SC_CLK_TCK);
}

// VmRSS of `pid` in kB.
long long rss_kb(int pid) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6);
  }
  return -1;
}

int usage() {
  std::fprintf(
      stderr,
      "usage: rtp_load --calls N --endpoints FILE --targets FILE [--seconds S] [--prime-ms MS] "
      "[--wait-seconds S] [--relay-pid PID]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int calls = 0, seconds = 10, prime_ms = 1000, wait_seconds = 60, relay_pid = 0;
  std::string endpoints_file, targets_file;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--calls")
      calls = std::atoi(v.c_str());
    else if (k == "--seconds")
      seconds = std::atoi(v.c_str());
    else if (k == "--prime-ms")
      prime_ms = std::atoi(v.c_str());
    else if (k == "--wait-seconds")
      wait_seconds = std::atoi(v.c_str());
    else if (k == "--relay-pid")
      relay_pid = std::atoi(v.c_str());
    else if (k == "--endpoints")
      endpoints_file = v;
    else if (k == "--targets")
      targets_file = v;
    else
      return usage();
  }
  if (calls <= 0 || seconds <= 0 || endpoints_file.empty() || targets_file.empty()) return usage();

  // Endpoint 2i is call i's A, 2i+1 its B; a packet from endpoint e must arrive at e^1.
  const int n = 2 * calls;
  std::vector<Endpoint> ep(static_cast<std::size_t>(n));
  const int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  for (int e = 0; e < n; ++e) {
    Endpoint& x = ep[static_cast<std::size_t>(e)];
    x.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int buf = 1 << 20;
    setsockopt(x.fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (x.fd < 0 || bind(x.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      std::perror("rtp_load: socket/bind");
      return 1;
    }
    socklen_t len = sizeof a;
    getsockname(x.fd, reinterpret_cast<sockaddr*>(&a), &len);
    x.port = ntohs(a.sin_port);
    x.seq = static_cast<uint16_t>(e * 7919);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(e);
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, x.fd, &ev);
  }
  {
    const std::string tmp = endpoints_file + ".tmp";
    std::ofstream o(tmp);
    for (int c = 0; c < calls; ++c) o << ep[2 * c].port << ' ' << ep[2 * c + 1].port << '\n';
    o.close();
    std::filesystem::rename(tmp, endpoints_file);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_seconds);
  while (!std::filesystem::exists(targets_file)) {
    if (std::chrono::steady_clock::now() > deadline) {
      std::fprintf(stderr, "rtp_load: no %s after %d s\n", targets_file.c_str(), wait_seconds);
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  {
    std::ifstream in(targets_file);
    for (int c = 0; c < calls; ++c) {
      int pa = 0, pb = 0;
      if (!(in >> pa >> pb)) {
        std::fprintf(stderr, "rtp_load: %s has fewer than %d lines\n", targets_file.c_str(), calls);
        return 1;
      }
      for (int side = 0; side < 2; ++side) {
        sockaddr_in& t = ep[static_cast<std::size_t>(2 * c + side)].target;
        t.sin_family = AF_INET;
        t.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        t.sin_port = htons(static_cast<uint16_t>(side == 0 ? pa : pb));
        // Connected: the kernel keeps the route, and only the relay's port can answer (a
        // symmetric relay sends to an endpoint from the port the endpoint sends to).
        Endpoint& x = ep[static_cast<std::size_t>(2 * c + side)];
        if (connect(x.fd, reinterpret_cast<sockaddr*>(&t), sizeof t) != 0) {
          std::perror("rtp_load: connect");
          return 1;
        }
      }
    }
  }

  uint8_t packet[kPacket];
  std::memset(packet, 0xFF, sizeof packet);
  packet[0] = 0x80;
  packet[1] = 0;  // PCMU
  auto send_one = [&](int e, bool prime) {
    Endpoint& x = ep[static_cast<std::size_t>(e)];
    packet[2] = uint8_t(x.seq >> 8), packet[3] = uint8_t(x.seq);
    put32(packet + 4, x.timestamp);
    put32(packet + 8, static_cast<uint32_t>(e) + 1);  // SSRC
    const int64_t now = mono_ns();
    put32(packet + 12, static_cast<uint32_t>(now >> 32));
    put32(packet + 16, static_cast<uint32_t>(now));
    put32(packet + 20, static_cast<uint32_t>(e) | (prime ? kPrimeFlag : 0));
    ++x.seq;
    x.timestamp += 160;
    return send(x.fd, packet, kPacket, MSG_DONTWAIT) == static_cast<ssize_t>(kPacket);
  };

  // Receive side state.
  std::array<std::array<uint8_t, 2048>, kBatch> bufs{};
  std::array<iovec, kBatch> iov{};
  std::array<mmsghdr, kBatch> msgs{};
  for (int k = 0; k < kBatch; ++k) {
    iov[k] = {bufs[k].data(), bufs[k].size()};
    msgs[k].msg_hdr.msg_iov = &iov[k];
    msgs[k].msg_hdr.msg_iovlen = 1;
  }
  constexpr int kHistogramUs = 1'000'000;  // 1 us buckets up to 1 s, then one overflow bucket
  std::vector<uint32_t> histogram(kHistogramUs + 1, 0);
  uint64_t received = 0, misrouted = 0, primes = 0;
  int64_t max_delay_ns = 0;
  std::array<epoll_event, 512> events{};
  // One epoll round; returns how many sockets were ready.
  auto receive_round = [&](int timeout_ms) {
    const int ready =
        epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), timeout_ms);
    const int64_t now = mono_ns();
    for (int r = 0; r < ready; ++r) {
      const int e = static_cast<int>(events[r].data.u32);
      const int got =
          recvmmsg(ep[static_cast<std::size_t>(e)].fd, msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
      for (int k = 0; k < got; ++k) {
        const uint8_t* p = bufs[k].data();
        if (msgs[k].msg_len != kPacket) {
          ++misrouted;
          continue;
        }
        const uint32_t from = get32(p + 20);
        if (from & kPrimeFlag) {
          ++primes;
          continue;
        }
        if (static_cast<int>(from ^ 1u) != e) {
          ++misrouted;
          continue;
        }
        const int64_t sent = (int64_t{get32(p + 12)} << 32) | get32(p + 16);
        const int64_t delay = now - sent;
        max_delay_ns = std::max(max_delay_ns, delay);
        const int64_t us = std::clamp<int64_t>(delay / 1000, 0, kHistogramUs);
        ++histogram[static_cast<std::size_t>(us)];
        ++received;
      }
    }
    return ready;
  };
  // Reads until no socket is ready (a full round means more may be waiting).
  auto receive = [&](int timeout_ms) {
    int ready = receive_round(timeout_ms);
    while (ready == static_cast<int>(events.size())) ready = receive_round(0);
  };

  // Priming: one packet per endpoint, then let the relay settle; nothing of this is counted.
  for (int e = 0; e < n; ++e) send_one(e, true);
  const int64_t prime_end = mono_ns() + int64_t{prime_ms} * 1'000'000;
  while (mono_ns() < prime_end) receive(10);
  const long long self_cpu_start = cpu_us(getpid());
  std::fill(histogram.begin(), histogram.end(), 0);
  received = misrouted = 0;
  max_delay_ns = 0;

  // Measurement: endpoint e sends at start + e * (20 ms / n) + k * 20 ms.
  const long long cpu_start = cpu_us(relay_pid);
  const int64_t start = mono_ns();
  const int64_t frames = int64_t{seconds} * 50;
  const int64_t total = frames * n;
  int64_t next = 0;  // index of the next packet to send: frame = next / n, endpoint = next % n
  uint64_t sent = 0, send_failed = 0;
  // Works in ticks of kTickNs: send what is due, then sleep to the next tick and read everything
  // that arrived. (Polling after every send would cost the generator more than the relay costs.)
  // Arrival times are therefore read up to one tick late: the delays include that.
  constexpr int64_t kTickNs = 500'000;
  int64_t tick = start;
  while (next < total) {
    const int64_t now = mono_ns();
    const int64_t due = ((now - start) * n) / kFrameNs + 1;  // packets due by now
    for (; next < std::min(due, total); ++next) {
      if (send_one(static_cast<int>(next % n), false))
        ++sent;
      else
        ++send_failed;
    }
    tick += kTickNs;
    if (tick > mono_ns()) {
      timespec ts{static_cast<time_t>(tick / 1'000'000'000),
                  static_cast<long>(tick % 1'000'000'000)};
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
    } else {
      tick = mono_ns();  // behind: no catch-up burst of ticks
    }
    receive(0);
  }
  const int64_t send_end = mono_ns();
  const long long cpu_end = cpu_us(relay_pid);
  const long long rss = rss_kb(relay_pid);
  const long long self_cpu = cpu_us(getpid()) - self_cpu_start;
  const int64_t drain_end = send_end + 500'000'000;
  while (mono_ns() < drain_end) receive(10);

  auto percentile = [&](double q) {
    const uint64_t want = static_cast<uint64_t>(q * static_cast<double>(received));
    uint64_t seen = 0;
    for (std::size_t us = 0; us < histogram.size(); ++us) {
      seen += histogram[us];
      if (seen > want) return static_cast<int64_t>(us);
    }
    return int64_t{kHistogramUs};
  };
  const double elapsed = static_cast<double>(send_end - start) / 1e9;
  const double loss = total > 0
                          ? 100.0 * static_cast<double>(sent - std::min<uint64_t>(sent, received)) /
                                static_cast<double>(std::max<uint64_t>(sent, 1))
                          : 0.0;
  std::printf(
      "calls=%d sent=%llu send_failed=%llu received=%llu loss_pct=%.4f misrouted=%llu primes=%llu "
      "pps=%.0f p50_us=%lld p99_us=%lld max_us=%lld seconds=%.2f relay_cpu_us=%lld "
      "relay_rss_kb=%lld load_cpu_us=%lld\n",
      calls, static_cast<unsigned long long>(sent), static_cast<unsigned long long>(send_failed),
      static_cast<unsigned long long>(received), loss, static_cast<unsigned long long>(misrouted),
      static_cast<unsigned long long>(primes), static_cast<double>(received) / elapsed,
      static_cast<long long>(percentile(0.50)), static_cast<long long>(percentile(0.99)),
      static_cast<long long>(max_delay_ns / 1000), elapsed,
      cpu_start >= 0 && cpu_end >= 0 ? cpu_end - cpu_start : -1LL, rss, self_cpu);
  return 0;
}
