#pragma once
// Where a process stands in a distributed run, read from the launch contract everyone already uses:
// torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT), or Slurm's (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID) with MASTER_ADDR and
// MASTER_PORT set by the batch script (packaging/slurm/train.sbatch). `setok launch` sets the
// torchrun variables. No torch here.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace setok::dist {

struct RunEnvironment {
  int rank = 0, world_size = 1, local_rank = 0, local_world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  bool distributed() const { return world_size > 1; }
};

// Reads the variables through `get` (a name → its value, or nothing when unset; std::getenv by
// default). Unset variables mean one process. Throws setok::Error with a one-line reason when the
// variables contradict each other or are not numbers (RANK=3 with WORLD_SIZE=2, a port of 0, …).
RunEnvironment read_run_environment(const std::function<std::optional<std::string>(const std::string&)>& get = nullptr);

// The device a rank trains on: "cuda" means this rank's own GPU, cuda:LOCAL_RANK, when several
// ranks run; any other device string is kept as given.
std::string device_for_rank(const std::string& device, const RunEnvironment& env);

}  // namespace setok::dist
