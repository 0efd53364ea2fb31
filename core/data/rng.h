#pragma once
// The scenes world's random numbers: one generator per (seed, split, index), never global state, and
// our own draws on top of mt19937_64 (std:: distributions differ between standard libraries, which
// would make a dataset depend on the compiler that generated it).
#include <cstdint>
#include <random>

namespace setok::data {

// splitmix64's finaliser: a good 64-bit mix, so nearby (seed, index) pairs start far apart.
inline std::uint64_t mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

class Rng {
 public:
  Rng(std::uint64_t seed, std::uint64_t stream, std::uint64_t index)
      : g_(mix64(mix64(mix64(seed) ^ (stream * 0x632be59bd9b4e019ULL)) ^ index)) {}
  explicit Rng(std::uint64_t state) : g_(mix64(state)) {}

  std::uint64_t next() { return g_(); }
  // [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(g_() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // [0, n); n > 0. The modulo bias is below 2^-40 for the n used here.
  int below(int n) { return static_cast<int>(g_() % static_cast<std::uint64_t>(n)); }
  bool chance(double p) { return uniform() < p; }
  template <class V>
  auto& pick(V& v) {
    return v[below(static_cast<int>(v.size()))];
  }
  template <class V>
  void shuffle(V& v) {
    for (int i = static_cast<int>(v.size()) - 1; i > 0; --i) std::swap(v[i], v[below(i + 1)]);
  }

 private:
  std::mt19937_64 g_;
};

}  // namespace setok::data
