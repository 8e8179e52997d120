// failover_nosync: an LD_PRELOAD shim for Heartbeat in bench/failover.sh only. Heartbeat calls
// sync(2) each time it starts (writing /var/lib/heartbeat/hb_generation); sync waits for every
// filesystem of the machine, and on the shared lab machine other tests' FUSE-backed loop devices
// can hold it for minutes (a node "booting" Heartbeat would then not come up). This sync flushes
// only the filesystem of Heartbeat's state directory (syncfs), which is what Heartbeat needs
// from it; the failover path does not call sync, so the measured times are Heartbeat's own.
#include <fcntl.h>
#include <unistd.h>

extern "C" void sync() noexcept {
  int fd = open("/var/lib/heartbeat", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)syncfs(fd);
  close(fd);
}
