#include "core/dist/launcher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "core/runtime/error.h"

namespace setok::dist {
namespace {

volatile std::sig_atomic_t g_signal = 0;
void remember(int sig) { g_signal = sig; }

struct Rank {
  pid_t pid = -1;
  int rank = 0;
  bool done = false;
};

// The child: the contract in its environment, then the command ("setok" is this very program).
[[noreturn]] void exec_rank(const LaunchOptions& o, const std::string& addr, int port, int local) {
  const int world = o.nproc * o.nnodes, rank = o.node_rank * o.nproc + local;
  setenv("RANK", std::to_string(rank).c_str(), 1);
  setenv("WORLD_SIZE", std::to_string(world).c_str(), 1);
  setenv("LOCAL_RANK", std::to_string(local).c_str(), 1);
  setenv("LOCAL_WORLD_SIZE", std::to_string(o.nproc).c_str(), 1);
  setenv("GROUP_RANK", std::to_string(o.node_rank).c_str(), 1);
  setenv("MASTER_ADDR", addr.c_str(), 1);
  setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
  std::vector<char*> argv;
  for (const auto& a : o.command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  if (o.command[0] == "setok") execv("/proc/self/exe", argv.data());
  execvp(argv[0], argv.data());
  std::fprintf(stderr, "setok launch: rank %d: cannot run %s: %s\n", rank, argv[0], std::strerror(errno));
  _exit(127);
}

int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

void signal_all(const std::vector<Rank>& ranks, int sig) {
  for (const Rank& r : ranks)
    if (!r.done) kill(r.pid, sig);
}

// Waits for the ranks; the first failure stops the others (SIGTERM, then SIGKILL after the grace).
int supervise(std::vector<Rank>& ranks, const LaunchOptions& o, const std::function<void(const std::string&)>& say) {
  using Clock = std::chrono::steady_clock;
  int result = 0;
  std::size_t left = ranks.size();
  Clock::time_point kill_at = Clock::time_point::max();
  const auto grace = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.grace_s));
  while (left > 0) {
    if (const int sig = g_signal) {
      g_signal = 0;
      signal_all(ranks, sig);
      if (sig != SIGUSR1 && kill_at == Clock::time_point::max()) kill_at = Clock::now() + grace;
    }
    if (Clock::now() >= kill_at) signal_all(ranks, SIGKILL);
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    for (Rank& r : ranks) {
      if (r.pid != pid) continue;
      r.done = true;
      --left;
      const int code = exit_code(status);
      if (code == 0 || result != 0) {
        say("rank " + std::to_string(r.rank) + (code == 0 ? " finished" : " stopped"));
        break;
      }
      result = code;
      say("rank " + std::to_string(r.rank) + " " +
          (WIFEXITED(status) ? "exited with " + std::to_string(code)
                             : "was killed by signal " + std::to_string(code - 128)) +
          " (pid " + std::to_string(pid) + ")" + (left > 0 ? "; stopping the other ranks" : ""));
      signal_all(ranks, SIGTERM);
      kill_at = Clock::now() + grace;
    }
  }
  return result;
}

}  // namespace

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error(std::string("no socket for a free port: ") + std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  close(fd);
  if (!ok) throw Error(std::string("no free port: ") + std::strerror(errno));
  return ntohs(a.sin_port);
}

int launch(const LaunchOptions& o, const std::function<void(const std::string&)>& say) {
  if (o.command.empty()) throw Error("give the command to run after --, e.g. setok launch --nproc 2 -- setok train …");
  if (o.nproc < 1 || o.nnodes < 1) throw Error("--nproc and --nnodes must be at least 1");
  if (o.node_rank < 0 || o.node_rank >= o.nnodes) throw Error("--node-rank must be below --nnodes");
  if (o.nnodes > 1 && (o.master_addr.empty() || o.master_port == 0))
    throw Error("several machines need --master ADDR:PORT (rank 0's machine, the same on every machine)");
  const std::string addr = o.master_addr.empty() ? "127.0.0.1" : o.master_addr;
  const int port = o.master_port != 0 ? o.master_port : free_port();
  for (int sig : {SIGINT, SIGTERM, SIGUSR1}) std::signal(sig, remember);
  std::vector<Rank> ranks;
  for (int local = 0; local < o.nproc; ++local) {
    const pid_t pid = fork();
    if (pid < 0) {
      signal_all(ranks, SIGTERM);
      throw Error(std::string("cannot start a rank: ") + std::strerror(errno));
    }
    if (pid == 0) {
      for (int sig : {SIGINT, SIGTERM, SIGUSR1}) std::signal(sig, SIG_DFL);
      exec_rank(o, addr, port, local);
    }
    ranks.push_back({pid, o.node_rank * o.nproc + local, false});
    say("rank " + std::to_string(ranks.back().rank) + " running (pid " + std::to_string(pid) + ")");
  }
  return supervise(ranks, o, say);
}

}  // namespace setok::dist
