#include "core/eval/click_simulator.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/runtime/error.h"

namespace setok::eval {
namespace {

void check_size(const std::vector<std::uint8_t>& mask, int width, int height, const char* what) {
  if (width < 0 || height < 0 || mask.size() != static_cast<std::size_t>(width) * static_cast<std::size_t>(height))
    throw Error(std::string("click simulator: ") + what + " has " + std::to_string(mask.size()) +
                " pixels, the image is " + std::to_string(width) + "x" + std::to_string(height));
}

// Felzenszwalb & Huttenlocher (2012), the lower envelope of parabolas: d[q] = min_p (q - p)² + f[p],
// for n sample points. v, z: scratch of n and n + 1.
void squared_distance_1d(const double* f, int n, double* d, int* v, double* z) {
  int k = 0;
  v[0] = 0;
  z[0] = -std::numeric_limits<double>::infinity();
  z[1] = std::numeric_limits<double>::infinity();
  for (int q = 1; q < n; ++q) {
    double s = 0;
    while (true) {
      const int p = v[k];
      s = ((f[q] + static_cast<double>(q) * q) - (f[p] + static_cast<double>(p) * p)) / (2.0 * (q - p));
      if (s > z[k]) break;
      --k;  // z[0] = -inf ends the loop before k goes below 0
    }
    ++k;
    v[k] = q;
    z[k] = s;
    z[k + 1] = std::numeric_limits<double>::infinity();
  }
  k = 0;
  for (int q = 0; q < n; ++q) {
    while (z[k + 1] < q) ++k;
    const double dq = q - v[k];
    d[q] = dq * dq + f[v[k]];
  }
}

// Every column's distance to its nearest outside pixel, squared; the rows just above and below the
// image count as outside.
std::vector<double> column_distances(const std::vector<std::uint8_t>& region, int width, int height) {
  std::vector<double> g(region.size());
  std::vector<int> up(static_cast<std::size_t>(height));
  for (int x = 0; x < width; ++x) {
    int last = -1;  // the row above the image
    for (int y = 0; y < height; ++y) {
      if (!region[static_cast<std::size_t>(y) * width + x]) last = y;
      up[y] = y - last;
    }
    last = height;  // the row below the image
    for (int y = height - 1; y >= 0; --y) {
      if (!region[static_cast<std::size_t>(y) * width + x]) last = y;
      const double d = std::min(up[y], last - y);
      g[static_cast<std::size_t>(y) * width + x] = d * d;
    }
  }
  return g;
}

struct Peak {
  float distance = 0;
  std::size_t index = 0;
};

// The largest distance and the first pixel (row-major) that has it.
Peak farthest(const std::vector<float>& d) {
  Peak p;
  for (std::size_t i = 0; i < d.size(); ++i)
    if (d[i] > p.distance) p = {d[i], i};
  return p;
}

SimulatedClick click_at(const Peak& p, int width, bool positive) {
  return {static_cast<int>(p.index % width), static_cast<int>(p.index / width), positive};
}

}  // namespace

std::vector<float> distance_inside(const std::vector<std::uint8_t>& region, int width, int height) {
  check_size(region, width, height, "the region");
  const std::vector<double> g = column_distances(region, width, height);
  // Each row with the columns just left and right of the image as outside sites (f = 0).
  const int n = width + 2;
  std::vector<double> f(n), d(n), z(n + 1);
  std::vector<int> v(n);
  std::vector<float> out(region.size());
  for (int y = 0; y < height; ++y) {
    const std::size_t row = static_cast<std::size_t>(y) * width;
    f[0] = f[n - 1] = 0;
    for (int x = 0; x < width; ++x) f[x + 1] = g[row + x];
    squared_distance_1d(f.data(), n, d.data(), v.data(), z.data());
    for (int x = 0; x < width; ++x) out[row + x] = region[row + x] ? static_cast<float>(std::sqrt(d[x + 1])) : 0.0f;
  }
  return out;
}

std::optional<SimulatedClick> interior_click(const std::vector<std::uint8_t>& truth, int width, int height) {
  const Peak p = farthest(distance_inside(truth, width, height));
  if (p.distance <= 0) return std::nullopt;
  return click_at(p, width, true);
}

std::optional<SimulatedClick> next_click(const std::vector<std::uint8_t>& truth, const std::vector<std::uint8_t>& pred,
                                         int width, int height) {
  check_size(truth, width, height, "the true mask");
  check_size(pred, width, height, "the predicted mask");
  std::vector<std::uint8_t> missed(truth.size()), extra(truth.size());
  for (std::size_t i = 0; i < truth.size(); ++i) {
    const bool t = truth[i] != 0, p = pred[i] != 0;
    missed[i] = t && !p;
    extra[i] = p && !t;
  }
  const Peak fn = farthest(distance_inside(missed, width, height));
  const Peak fp = farthest(distance_inside(extra, width, height));
  if (fn.distance <= 0 && fp.distance <= 0) return std::nullopt;
  return fn.distance > fp.distance ? click_at(fn, width, true) : click_at(fp, width, false);
}

}  // namespace setok::eval
