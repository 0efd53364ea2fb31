#pragma once
// The assignment problem (Kuhn 1955, Munkres 1957): a one-to-one matching of rows to columns that
// minimises the summed cost, in O(n²·m) with row/column potentials. Used to match predicted
// segments to ground-truth instances (docs/design/metrics.md).
#include <cstdint>
#include <vector>

namespace setok::eval {

// cost: rows × cols, every row the same length, finite values. Returns, for each row, the column it
// is assigned to; when there are more rows than columns the rows left over get -1. Among optimal
// assignments the one returned is deterministic (it depends only on the matrix).
std::vector<int64_t> hungarian_assignment(const std::vector<std::vector<double>>& cost);

}  // namespace setok::eval
