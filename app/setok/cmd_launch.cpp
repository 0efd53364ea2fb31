// setok launch --nproc N [--nnodes M --node-rank R --master ADDR:PORT] -- COMMAND …: the local ranks
// of a data-parallel run (core/dist/launcher.h).
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "app/setok/command.h"
#include "core/dist/launcher.h"
#include "core/runtime/error.h"

namespace setok::cli {
namespace {

// "ADDR:PORT" → the two.
void parse_master(const std::string& s, dist::LaunchOptions& o) {
  const auto colon = s.rfind(':');
  char* end = nullptr;
  const long port = colon == std::string::npos ? 0 : std::strtol(s.c_str() + colon + 1, &end, 10);
  if (colon == 0 || colon == std::string::npos || !end || *end != '\0' || port < 1 || port > 65535)
    throw Error("--master " + s + ": expected ADDR:PORT, e.g. 10.0.0.1:29500");
  o.master_addr = s.substr(0, colon);
  o.master_port = static_cast<int>(port);
}

}  // namespace

Command add_launch(CLI::App& app, Globals&) {
  auto* sub = app.add_subcommand(
      "launch",
      "Start the ranks of a data-parallel run with torchrun's environment: setok launch --nproc 2 -- setok train …");
  auto o = std::make_shared<dist::LaunchOptions>();
  auto master = std::make_shared<std::string>();
  sub->add_option("--nproc", o->nproc, "Ranks on this machine")->check(CLI::PositiveNumber);
  sub->add_option("--nnodes", o->nnodes, "Machines in the run (default 1)")->check(CLI::PositiveNumber);
  sub->add_option("--node-rank", o->node_rank, "This machine's index, 0 on rank 0's (default 0)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--master", *master, "Rank 0's machine ADDR:PORT (default: this one, a free port)");
  sub->add_option("command", o->command, "The command every rank runs (after --)")->required();
  sub->footer(
      "Each rank gets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT, and SETOK_THREADS "
      "= cores / ranks unless set. A rank that fails stops the others; Ctrl+C and SIGUSR1 (pause) reach every "
      "rank.");
  return {sub, [o, master]() {
            if (!master->empty()) parse_master(*master, *o);
            if (!std::getenv("SETOK_THREADS")) {
              const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
              setenv("SETOK_THREADS", std::to_string(std::max(1u, cores / static_cast<unsigned>(o->nproc))).c_str(), 1);
            }
            return dist::launch(
                *o, [](const std::string& line) { std::fprintf(stderr, "setok launch: %s\n", line.c_str()); });
          }};
}

}  // namespace setok::cli
