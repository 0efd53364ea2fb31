// 2D RoPE, axial variant (Heo et al. 2024).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/nn/rope2d.h"
#include "core/runtime/error.h"

using namespace setok;

namespace {
at::Tensor pos(std::vector<double> xy) { return at::tensor(xy, at::kDouble).view({-1, 2}); }

// q·k after rotating q to position pq and k to position pk.
double rotated_dot(const at::Tensor& q, const at::Tensor& k, std::vector<double> pq, std::vector<double> pk) {
  const int64_t hd = q.size(0);
  auto tq = nn::rope2d_table(pos(pq), hd);
  auto tk = nn::rope2d_table(pos(pk), hd);
  auto rq = nn::apply_rope2d(q.view({1, hd}), tq);
  auto rk = nn::apply_rope2d(k.view({1, hd}), tk);
  return (rq * rk).sum().item<double>();
}
}  // namespace

TEST(Rope2d, IsARotation) {
  at::manual_seed(0);
  auto x = at::randn({2, 3, 20, 16}, at::kDouble);
  auto t = nn::rope2d_grid_table(4, 5, 16, nn::kRope2dTheta, at::kDouble);
  auto y = nn::apply_rope2d(x, t);
  EXPECT_EQ(y.sizes(), x.sizes());
  EXPECT_TRUE(at::allclose(y.norm(2, -1), x.norm(2, -1), 1e-12, 1e-12));
  // Every rotary pair keeps its own length (a rotation per pair, not just overall).
  auto pairs = [](const at::Tensor& t) { return t.view({2, 3, 20, 8, 2}).norm(2, -1); };
  EXPECT_TRUE(at::allclose(pairs(y), pairs(x), 1e-12, 1e-12));
  // Position (0, 0) is the identity.
  EXPECT_TRUE(at::allclose(y.select(2, 0), x.select(2, 0), 1e-14, 1e-14));
}

TEST(Rope2d, DotProductDependsOnRelativeOffsetOnly) {
  at::manual_seed(1);
  auto q = at::randn({32}, at::kDouble), k = at::randn({32}, at::kDouble);
  const double base = rotated_dot(q, k, {1, 2}, {4, 7});
  for (auto [dx, dy] : std::vector<std::pair<double, double>>{{3, 0}, {0, 5}, {-2, 11}, {7.5, -1.25}})
    EXPECT_NEAR(rotated_dot(q, k, {1 + dx, 2 + dy}, {4 + dx, 7 + dy}), base, 1e-10) << dx << "," << dy;
}

TEST(Rope2d, BothAxesMatter) {
  at::manual_seed(2);
  auto q = at::randn({32}, at::kDouble), k = at::randn({32}, at::kDouble);
  const double base = rotated_dot(q, k, {0, 0}, {0, 0});
  EXPECT_GT(std::abs(rotated_dot(q, k, {0, 0}, {3, 0}) - base), 1e-3);  // x offset only
  EXPECT_GT(std::abs(rotated_dot(q, k, {0, 0}, {0, 3}) - base), 1e-3);  // y offset only
  // x turns the first half of the pairs, y the second: a y move leaves the x half untouched.
  auto t = nn::rope2d_table(pos({0, 3}), 32);
  auto r = nn::apply_rope2d(q.view({1, 32}), t);
  EXPECT_TRUE(at::allclose(r.narrow(1, 0, 16), q.view({1, 32}).narrow(1, 0, 16)));
  EXPECT_FALSE(at::allclose(r.narrow(1, 16, 16), q.view({1, 32}).narrow(1, 16, 16)));
}

TEST(Rope2d, GridIsRowMajor) {
  auto g = nn::rope2d_grid_table(3, 4, 8, nn::kRope2dTheta, at::kDouble);
  // Token 6 = row 1, col 2 -> (x, y) = (2, 1).
  auto t = nn::rope2d_table(pos({2, 1}), 8);
  EXPECT_TRUE(at::allclose(g.cos[6], t.cos[0]));
  EXPECT_TRUE(at::allclose(g.sin[6], t.sin[0]));
  EXPECT_THROW(nn::rope2d_table(pos({0, 0}), 6), Error);
}
