#include "core/dist/run_environment.h"

#include <cstdlib>

#include "core/runtime/error.h"

namespace setok::dist {
namespace {

using Getter = std::function<std::optional<std::string>(const std::string&)>;

std::optional<std::string> from_env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

// The first of `names` that is set, as a whole number in [lo, hi]; `fallback` when none is.
int number(const Getter& get, std::initializer_list<const char*> names, int fallback, long lo, long hi) {
  for (const char* n : names) {
    const std::optional<std::string> v = get(n);
    if (!v) continue;
    char* end = nullptr;
    const long x = std::strtol(v->c_str(), &end, 10);
    if (end == v->c_str() || *end != '\0' || x < lo || x > hi)
      throw Error(std::string(n) + "=" + *v + ": expected a whole number from " + std::to_string(lo) + " to " +
                  std::to_string(hi));
    return static_cast<int>(x);
  }
  return fallback;
}

}  // namespace

RunEnvironment read_run_environment(const Getter& given) {
  const Getter get = given ? given : Getter(from_env);
  RunEnvironment e;
  constexpr long kMaxRanks = 1 << 20;
  e.world_size = number(get, {"WORLD_SIZE", "SLURM_NTASKS"}, 1, 1, kMaxRanks);
  e.rank = number(get, {"RANK", "SLURM_PROCID"}, 0, 0, kMaxRanks);
  e.local_rank = number(get, {"LOCAL_RANK", "SLURM_LOCALID"}, 0, 0, kMaxRanks);
  e.local_world_size = number(get, {"LOCAL_WORLD_SIZE"}, e.world_size, 1, kMaxRanks);
  e.master_port = number(get, {"MASTER_PORT"}, e.master_port, 1, 65535);
  if (const auto a = get("MASTER_ADDR")) e.master_addr = *a;
  if (e.rank >= e.world_size)
    throw Error("RANK=" + std::to_string(e.rank) + " is not below WORLD_SIZE=" + std::to_string(e.world_size));
  if (e.local_rank >= e.local_world_size && e.local_world_size > 1)
    throw Error("LOCAL_RANK=" + std::to_string(e.local_rank) +
                " is not below LOCAL_WORLD_SIZE=" + std::to_string(e.local_world_size));
  if (e.distributed() && !get("MASTER_ADDR") && !get("MASTER_PORT") && !get("RANK"))
    throw Error("WORLD_SIZE=" + std::to_string(e.world_size) +
                " but no RANK or MASTER_ADDR: start the ranks with `setok launch`, torchrun or srun");
  return e;
}

std::string device_for_rank(const std::string& device, const RunEnvironment& env) {
  if (device == "cuda" && env.distributed()) return "cuda:" + std::to_string(env.local_rank);
  return device;
}

}  // namespace setok::dist
