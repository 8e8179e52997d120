// failover_probe: the UDP probe of bench/failover.sh. Two modes, plain sockets, CLOCK_MONOTONIC:
//
//   failover_probe --serve --name NODE [--port P]
//     Runs on every cluster node: answers each probe "P <seq>" with "A <seq> <NODE>", from the
//     address the probe was sent to (IP_PKTINFO), so an answer to the VIP comes from the VIP.
//     Malformed datagrams are counted and ignored. Runs until SIGTERM/SIGINT.
//
//   failover_probe --probe ADDR [--port P] [--interval-ms 10] --max-seconds S
//                  [--stop-after-switch-ms M] [--ready-file F] [--log F] [--pid-file F]
//     Runs in the phones host: sends probe seq=0,1,2... to ADDR every interval (absolute
//     deadlines, so no drift), records for each the send time, the answer time and the node that
//     answered. Stops at --max-seconds, at SIGTERM/SIGINT, or (with --stop-after-switch-ms) once
//     a node other than the first one has answered continuously for M ms. --ready-file is
//     written ("NODE\n") at the first answer, so the caller knows the flow is established before
//     it injects a fault. At the end it waits one more second for late answers, writes the
//     per-probe log (--log: "seq send_ms answer_ms node", "-" for no answer; times relative to
//     the first send) and prints one summary line on stdout:
//       probes= answered= lost= first= last= switches= switch_gap_ms= max_gap_ms= open_gap_ms=
//       lost_run_max= nodes=NODE:count,...
//     switch_gap_ms: receive time of the first answer from a node other than the previous
//     answer's node minus the receive time of that previous answer (the failover gap: last
//     answer from the old node to the first from the new one); -1 if no switch. switches: how
//     many times the answering node changed. max_gap_ms: the longest time between two answers
//     (any nodes), the outage. open_gap_ms: if the last probes got no answer, the time from the
//     last answer (or the first probe) to the last probe sent, an outage that had not ended when
//     the probing did (0 otherwise). lost_run_max: the longest run of consecutive unanswered
//     probes.
//
// Every number on the command line is checked; errors name the option. Bounded: at most
// --max-seconds (≤ 3600) of probes, so at most 360000 records at 10 ms.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

int64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "failover_probe: %s\n", msg.c_str());
  std::exit(2);
}

std::optional<int64_t> parse_int(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

int64_t int_option(const std::string& name, const char* text, int64_t lo, int64_t hi) {
  auto v = parse_int(text);
  if (!v || *v < lo || *v > hi) {
    die(name + ": '" + text + "' is not a whole number from " + std::to_string(lo) + " to " +
        std::to_string(hi));
  }
  return *v;
}

void install_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: poll returns EINTR and the loop sees g_stop
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
}

bool write_file(const std::string& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return false;
  bool ok = std::fputs(text.c_str(), f) >= 0;
  return std::fclose(f) == 0 && ok;
}

// --serve: one socket on 0.0.0.0:port; each answer leaves from the probe's destination address.
int serve(const std::string& name, int port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) die(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) != 0) {
    die(std::string("IP_PKTINFO: ") + std::strerror(errno));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    die("bind 0.0.0.0:" + std::to_string(port) + ": " + std::strerror(errno));
  }
  install_signals();
  uint64_t answered = 0, malformed = 0;
  while (!g_stop) {
    char buf[256];
    char ctrl[CMSG_SPACE(sizeof(in_pktinfo))];
    sockaddr_in from{};
    iovec iov{buf, sizeof buf - 1};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctrl;
    msg.msg_controllen = sizeof ctrl;
    ssize_t n = recvmsg(fd, &msg, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      die(std::string("recvmsg: ") + std::strerror(errno));
    }
    std::string_view text(buf, size_t(n));
    if (text.size() < 3 || text.substr(0, 2) != "P " || !parse_int(text.substr(2))) {
      ++malformed;
      continue;
    }
    std::string reply = "A " + std::string(text.substr(2)) + " " + name;
    in_pktinfo* info = nullptr;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        info = reinterpret_cast<in_pktinfo*>(CMSG_DATA(c));
      }
    }
    char out_ctrl[CMSG_SPACE(sizeof(in_pktinfo))] = {};
    iovec out_iov{reply.data(), reply.size()};
    msghdr out{};
    out.msg_name = &from;
    out.msg_namelen = sizeof from;
    out.msg_iov = &out_iov;
    out.msg_iovlen = 1;
    if (info) {
      out.msg_control = out_ctrl;
      out.msg_controllen = sizeof out_ctrl;
      cmsghdr* c = CMSG_FIRSTHDR(&out);
      c->cmsg_level = IPPROTO_IP;
      c->cmsg_type = IP_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
      in_pktinfo pi{};
      pi.ipi_spec_dst = info->ipi_addr;  // answer from the address that was probed (the VIP)
      std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
    }
    // A lost answer (the address just left this node) is the measurement, not an error.
    if (sendmsg(fd, &out, 0) >= 0) ++answered;
  }
  std::fprintf(stderr, "failover_probe --serve %s: answered %llu, malformed %llu\n", name.c_str(),
               static_cast<unsigned long long>(answered), static_cast<unsigned long long>(malformed));
  return 0;
}

struct Probe {
  int64_t sent_ns = 0;
  int64_t answer_ns = -1;  // first answer only
  std::string node;
};

struct ProbeOptions {
  std::string addr;
  int port = 7999;
  int64_t interval_ns = 10'000'000;
  int64_t max_ns = 0;
  int64_t stop_after_switch_ns = -1;
  std::string ready_file, log_file;
};

int probe(const ProbeOptions& o) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(uint16_t(o.port));
  if (inet_pton(AF_INET, o.addr.c_str(), &to.sin_addr) != 1) {
    die("--probe: '" + o.addr + "' is not an IPv4 address");
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (fd < 0) die(std::string("socket: ") + std::strerror(errno));
  install_signals();

  std::vector<Probe> probes;
  probes.reserve(size_t(o.max_ns / o.interval_ns) + 2);
  const int64_t t0 = mono_ns();
  int64_t next_send = t0;
  int64_t end = t0 + o.max_ns;
  int64_t drain_until = -1;  // once stopping: keep receiving late answers until then
  std::string first_node, last_node;
  int64_t switched_since = -1;  // receive time of the first answer of the current non-first run
  int64_t last_answer = -1;
  bool ready_written = o.ready_file.empty();

  auto receive_all = [&]() {
    for (;;) {
      char buf[256];
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n < 0) return;  // EAGAIN (or an ICMP error: nothing to record)
      int64_t now = mono_ns();
      std::string_view text(buf, size_t(n));
      if (text.size() < 5 || text.substr(0, 2) != "A ") continue;
      auto sp = text.find(' ', 2);
      if (sp == std::string_view::npos) continue;
      auto seq = parse_int(text.substr(2, sp - 2));
      std::string node(text.substr(sp + 1));
      if (!seq || *seq < 0 || size_t(*seq) >= probes.size() || node.empty()) continue;
      Probe& p = probes[size_t(*seq)];
      if (p.answer_ns >= 0) continue;  // a duplicate (both nodes hold the address)
      p.answer_ns = now;
      p.node = node;
      if (first_node.empty()) first_node = node;
      if (!ready_written) {
        if (!write_file(o.ready_file, node + "\n")) die("--ready-file: cannot write " + o.ready_file);
        ready_written = true;
      }
      if (node != first_node && last_node == first_node) switched_since = now;
      if (node == first_node) switched_since = -1;
      last_node = node;
      last_answer = now;
    }
  };

  while (true) {
    int64_t now = mono_ns();
    if (drain_until < 0) {
      bool done = g_stop || now >= end;
      if (o.stop_after_switch_ns >= 0 && switched_since >= 0 &&
          now - switched_since >= o.stop_after_switch_ns &&
          now - last_answer < 3 * o.interval_ns) {
        done = true;
      }
      if (done) drain_until = now + 1'000'000'000;
    }
    if (drain_until >= 0 && now >= drain_until) break;
    if (drain_until < 0 && now >= next_send) {
      std::string msg = "P " + std::to_string(probes.size());
      probes.push_back(Probe{now, -1, {}});
      // A send error (no route while the VIP moves, ENOBUFS) is a lost probe, not a failure.
      sendto(fd, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
      next_send += o.interval_ns;
      if (next_send < now) next_send = now + o.interval_ns;  // we were descheduled: no burst
      continue;
    }
    int64_t wake = drain_until >= 0 ? drain_until : next_send;
    int timeout_ms = int(std::max<int64_t>(0, (wake - now + 999'999) / 1'000'000));
    // Sub-millisecond precision for the send deadline: poll to just before it, then spin-free
    // nanosleep the rest.
    pollfd pfd{fd, POLLIN, 0};
    int r = poll(&pfd, 1, timeout_ms > 1 ? timeout_ms - 1 : 0);
    if (r > 0) {
      receive_all();
    } else if (r == 0 && drain_until < 0) {
      int64_t left = next_send - mono_ns();
      if (left > 0) {
        timespec ts{time_t(left / 1'000'000'000), long(left % 1'000'000'000)};
        nanosleep(&ts, nullptr);
      }
      receive_all();
    }
  }
  close(fd);

  // Summary over the answers in the order they arrived.
  std::vector<const Probe*> answers;
  for (const Probe& p : probes) {
    if (p.answer_ns >= 0) answers.push_back(&p);
  }
  std::sort(answers.begin(), answers.end(),
            [](const Probe* a, const Probe* b) { return a->answer_ns < b->answer_ns; });
  int64_t switch_gap = -1, max_gap = 0;
  int switches = 0;
  std::map<std::string, int> per_node;
  for (size_t i = 0; i < answers.size(); ++i) {
    ++per_node[answers[i]->node];
    if (i == 0) continue;
    int64_t gap = answers[i]->answer_ns - answers[i - 1]->answer_ns;
    max_gap = std::max(max_gap, gap);
    if (answers[i]->node != answers[i - 1]->node) {
      ++switches;
      if (switch_gap < 0) switch_gap = gap;
    }
  }
  // Probes still unanswered at the end: the outage had not ended when the probing did.
  int64_t open_gap = 0;
  if (!probes.empty() && probes.back().answer_ns < 0) {
    int64_t from = answers.empty() ? probes.front().sent_ns : answers.back()->answer_ns;
    open_gap = std::max<int64_t>(0, probes.back().sent_ns - from);
  }
  size_t lost = 0, run = 0, run_max = 0;
  for (const Probe& p : probes) {
    if (p.answer_ns < 0) {
      ++lost;
      run_max = std::max(run_max, ++run);
    } else {
      run = 0;
    }
  }
  if (!o.log_file.empty()) {
    std::FILE* f = std::fopen(o.log_file.c_str(), "w");
    if (!f) die("--log: cannot write " + o.log_file);
    for (size_t i = 0; i < probes.size(); ++i) {
      const Probe& p = probes[i];
      if (p.answer_ns >= 0) {
        std::fprintf(f, "%zu %.3f %.3f %s\n", i, double(p.sent_ns - t0) / 1e6,
                     double(p.answer_ns - t0) / 1e6, p.node.c_str());
      } else {
        std::fprintf(f, "%zu %.3f - -\n", i, double(p.sent_ns - t0) / 1e6);
      }
    }
    if (std::fclose(f) != 0) die("--log: cannot write " + o.log_file);
  }
  std::string nodes;
  for (const auto& [n, c] : per_node) nodes += (nodes.empty() ? "" : ",") + n + ":" + std::to_string(c);
  auto ms = [](int64_t ns) { return ns < 0 ? std::string("-1") : std::to_string(double(ns) / 1e6); };
  std::printf(
      "probes=%zu answered=%zu lost=%zu first=%s last=%s switches=%d switch_gap_ms=%s "
      "max_gap_ms=%s open_gap_ms=%s lost_run_max=%zu nodes=%s\n",
      probes.size(), answers.size(), lost, first_node.empty() ? "-" : first_node.c_str(),
      last_node.empty() ? "-" : last_node.c_str(), switches, ms(switch_gap).c_str(),
      ms(max_gap).c_str(), ms(open_gap).c_str(), run_max, nodes.empty() ? "-" : nodes.c_str());
  return 0;
}

void usage() {
  std::fprintf(stderr,
               "usage: failover_probe --serve --name NODE [--port P]\n"
               "       failover_probe --probe ADDR [--port P] [--interval-ms N] --max-seconds S\n"
               "                      [--stop-after-switch-ms M] [--ready-file F] [--log F]\n"
               "                      [--pid-file F]\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  bool serve_mode = false;
  std::string name, pid_file;
  ProbeOptions o;
  bool have_probe = false, have_max = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--serve") {
      serve_mode = true;
    } else if (a == "--name") {
      name = value();
      if (name.empty() || name.size() > 64 || name.find(' ') != std::string::npos) {
        die("--name: 1-64 characters without spaces");
      }
    } else if (a == "--port") {
      o.port = int(int_option(a, value(), 1, 65535));
    } else if (a == "--probe") {
      o.addr = value();
      have_probe = true;
    } else if (a == "--interval-ms") {
      o.interval_ns = int_option(a, value(), 1, 10000) * 1'000'000;
    } else if (a == "--max-seconds") {
      o.max_ns = int_option(a, value(), 1, 3600) * 1'000'000'000;
      have_max = true;
    } else if (a == "--stop-after-switch-ms") {
      o.stop_after_switch_ns = int_option(a, value(), 0, 600000) * 1'000'000;
    } else if (a == "--ready-file") {
      o.ready_file = value();
    } else if (a == "--log") {
      o.log_file = value();
    } else if (a == "--pid-file") {
      pid_file = value();
    } else {
      std::fprintf(stderr, "failover_probe: unknown option '%s'\n", a.c_str());
      usage();
    }
  }
  if (serve_mode == have_probe) usage();
  if (!pid_file.empty() && !write_file(pid_file, std::to_string(getpid()) + "\n")) {
    die("--pid-file: cannot write " + pid_file);
  }
  if (serve_mode) {
    if (name.empty()) die("--serve needs --name NODE");
    return serve(name, o.port);
  }
  if (!have_max) die("--probe needs --max-seconds S (the run is bounded)");
  return probe(o);
}
