#include "core/eval/hungarian.h"

#include <cmath>
#include <limits>

#include "core/runtime/error.h"

namespace setok::eval {
namespace {

// Rows ≤ columns: the shortest-augmenting-path form with potentials u (rows) and v (columns).
// Each row is added in turn and an augmenting path found with Dijkstra-like steps on the reduced
// costs c(i,j) − u(i) − v(j) ≥ 0, so the whole run is O(rows² · cols).
std::vector<int64_t> assign_rows_le_cols(const std::vector<std::vector<double>>& c, int64_t n, int64_t m) {
  const double inf = std::numeric_limits<double>::infinity();
  // 1-based with column 0 as the virtual start, which keeps the path bookkeeping branch-free.
  std::vector<double> u(n + 1, 0.0), v(m + 1, 0.0);
  std::vector<int64_t> row_of(m + 1, 0), way(m + 1, 0);
  for (int64_t i = 1; i <= n; ++i) {
    row_of[0] = i;
    int64_t j0 = 0;
    std::vector<double> minv(m + 1, inf);
    std::vector<bool> used(m + 1, false);
    do {
      used[j0] = true;
      const int64_t i0 = row_of[j0];
      double delta = inf;
      int64_t j1 = 0;
      for (int64_t j = 1; j <= m; ++j) {
        if (used[j]) continue;
        const double cur = c[i0 - 1][j - 1] - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (int64_t j = 0; j <= m; ++j) {
        if (used[j]) {
          u[row_of[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (row_of[j0] != 0);
    do {  // flip the augmenting path
      const int64_t j1 = way[j0];
      row_of[j0] = row_of[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  std::vector<int64_t> col_of_row(n, -1);
  for (int64_t j = 1; j <= m; ++j)
    if (row_of[j] != 0) col_of_row[row_of[j] - 1] = j - 1;
  return col_of_row;
}

}  // namespace

std::vector<int64_t> hungarian_assignment(const std::vector<std::vector<double>>& cost) {
  const int64_t rows = static_cast<int64_t>(cost.size());
  if (rows == 0) return {};
  const int64_t cols = static_cast<int64_t>(cost[0].size());
  for (const auto& r : cost) {
    if (static_cast<int64_t>(r.size()) != cols) throw Error("assignment: cost rows differ in length");
    for (double x : r)
      if (!std::isfinite(x)) throw Error("assignment: cost must be finite");
  }
  if (cols == 0) return std::vector<int64_t>(rows, -1);
  if (rows <= cols) return assign_rows_le_cols(cost, rows, cols);
  // More rows than columns: solve the transpose, where every column gets a row.
  std::vector<std::vector<double>> t(cols, std::vector<double>(rows));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) t[j][i] = cost[i][j];
  const auto row_of_col = assign_rows_le_cols(t, cols, rows);
  std::vector<int64_t> out(rows, -1);
  for (int64_t j = 0; j < cols; ++j) out[row_of_col[j]] = j;
  return out;
}

}  // namespace setok::eval
