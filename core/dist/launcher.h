#pragma once
// `setok launch`: the local ranks of a data-parallel run, as torchrun starts them. Each rank is the
// given command line in a process of its own, with the launch contract in its environment (RANK,
// WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT; run_environment.h), so the
// same command runs unchanged under torchrun or srun. One rank failing ends the others; Ctrl+C
// (SIGINT), SIGTERM and SIGUSR1 (the studio's Pause) are passed on to every rank. No torch here.
#include <functional>
#include <string>
#include <vector>

namespace setok::dist {

struct LaunchOptions {
  int nproc = 1;                  // ranks on this machine
  int nnodes = 1, node_rank = 0;  // machines, and which this one is
  std::string master_addr;        // rank 0's machine; empty: this one (one machine only)
  int master_port = 0;            // 0: a free port (one machine only)
  std::vector<std::string> command;
  double grace_s = 10;  // after a rank fails: SIGTERM to the others, SIGKILL this long after
};

// Starts the ranks and waits for them. Returns 0 when every rank exits 0; else the exit code of
// the first rank that failed (128 + the signal when one was killed). `say` gets one line per event
// worth telling (a rank failed, the others are being stopped). Throws setok::Error for options that
// cannot work (no command, a rank count below 1, several machines without --master).
int launch(const LaunchOptions& options, const std::function<void(const std::string&)>& say);

// A TCP port free on this machine now (the kernel's pick).
int free_port();

}  // namespace setok::dist
