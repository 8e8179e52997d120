// run_program (resource_agent.h): fork + exec in a process group of its own, output through a
// pipe, a deadline after which the whole group is SIGKILLed.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "cluster/resource_agent.h"

namespace hapbx::cluster {

ProgramResult run_program(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  ProgramResult r;
  if (argv.empty()) return r;
  int out[2];
  if (pipe2(out, O_CLOEXEC) < 0) {
    r.output = "pipe failed";
    return r;
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    close(out[0]);
    close(out[1]);
    r.output = "fork failed";
    return r;
  }
  if (pid == 0) {
    setpgid(0, 0);
    dup2(out[1], 1);
    dup2(out[1], 2);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    execvp(args[0], args.data());
    std::fprintf(stderr, "cannot run %s\n", args[0]);
    _exit(127);
  }
  setpgid(pid, pid);  // also from here: no race with the child's own call
  close(out[1]);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool open_pipe = true;
  char buf[4096];
  while (open_pipe) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      r.timed_out = true;
      break;
    }
    pollfd p{out[0], POLLIN, 0};
    const int n = poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;
    const ssize_t got = read(out[0], buf, sizeof buf);
    if (got <= 0) {
      open_pipe = false;
    } else {
      r.output.append(buf, static_cast<std::size_t>(got));
      if (r.output.size() > 8192) r.output.erase(0, r.output.size() - 4096);
    }
  }
  close(out[0]);
  int status = 0;
  if (r.timed_out) {
    kill(-pid, SIGKILL);
    waitpid(pid, &status, 0);
    return r;
  }
  // Output closed: the program is ending; wait for it, still within the deadline.
  while (true) {
    const pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) return r;
    if (std::chrono::steady_clock::now() >= deadline) {
      r.timed_out = true;
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      return r;
    }
    usleep(2000);
  }
  if (r.output.size() > 4096) r.output.erase(0, r.output.size() - 4096);
  if (WIFEXITED(status)) r.exit_status = WEXITSTATUS(status);
  return r;
}

}  // namespace hapbx::cluster
