// Data parallelism's parts: the launch contract read from the environment, and the gradient
// exchange between two ranks (two threads of this process, each its own c10d group on loopback).
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/nn/modules/linear.h>

#include <map>
#include <thread>

#include "core/dist/gradient_sync.h"
#include "core/dist/launcher.h"
#include "core/dist/run_environment.h"
#include "core/runtime/error.h"

using namespace setok;

namespace {

// Linear layers with the same weights in every thread (the global generator is shared).
void fixed(torch::nn::Linear& l, double scale) {
  at::NoGradGuard ng;
  l->weight.copy_(at::arange(l->weight.numel(), at::kFloat).view(l->weight.sizes()) * scale);
  l->bias.fill_(scale);
}

dist::RunEnvironment read(const std::map<std::string, std::string>& vars) {
  return dist::read_run_environment([&](const std::string& k) -> std::optional<std::string> {
    auto it = vars.find(k);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  });
}

}  // namespace

TEST(RunEnvironment, TorchrunsAndSlurmsVariables) {
  const dist::RunEnvironment none = read({});
  EXPECT_FALSE(none.distributed());
  const dist::RunEnvironment t = read({{"RANK", "3"},
                                       {"WORLD_SIZE", "4"},
                                       {"LOCAL_RANK", "1"},
                                       {"LOCAL_WORLD_SIZE", "2"},
                                       {"MASTER_ADDR", "10.0.0.7"},
                                       {"MASTER_PORT", "29400"}});
  EXPECT_TRUE(t.distributed());
  EXPECT_EQ(t.rank, 3);
  EXPECT_EQ(t.world_size, 4);
  EXPECT_EQ(t.local_rank, 1);
  EXPECT_EQ(t.master_addr, "10.0.0.7");
  EXPECT_EQ(t.master_port, 29400);
  const dist::RunEnvironment s = read({{"SLURM_PROCID", "5"},
                                       {"SLURM_NTASKS", "8"},
                                       {"SLURM_LOCALID", "1"},
                                       {"MASTER_ADDR", "node1"},
                                       {"MASTER_PORT", "29500"}});
  EXPECT_EQ(s.rank, 5);
  EXPECT_EQ(s.world_size, 8);
  EXPECT_EQ(s.local_rank, 1);
  EXPECT_THROW(read({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "a"}}), Error);
  EXPECT_THROW(read({{"RANK", "x"}, {"WORLD_SIZE", "2"}}), Error);
  EXPECT_THROW(read({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "0"}}), Error);
  EXPECT_THROW(read({{"WORLD_SIZE", "2"}}), Error);  // no rank: not started by a launcher
}

// Each rank's model gets its own input; rank 1 leaves `spare` out of its forward, and neither uses
// `unused`. After the exchange every gradient is the mean of the two ranks'.
TEST(GradientSync, MeanOverTwoRanksWhileBackwardRuns) {
  const int port = dist::free_port();
  at::Tensor grads[2][3];
  bool had_unused[2] = {true, true};
  std::string errors[2];
  auto rank = [&](int r) {
    try {
      dist::RunEnvironment env;
      env.rank = r, env.world_size = 2, env.master_port = port;
      dist::ProcessGroup g(env, std::chrono::seconds(20));
      torch::nn::Linear main(3, 2), spare(3, 2), unused(3, 2);
      fixed(main, 0.1), fixed(spare, -0.2), fixed(unused, 0.3);
      std::vector<at::Tensor> params{main->weight, main->bias, spare->weight, unused->weight};
      dist::GradientSync sync(g, params, /*bucket_bytes=*/32, /*first_bucket_bytes=*/32);  // several buckets
      const at::Tensor x = at::full({4, 3}, r + 1.0);
      at::Tensor loss = main(x).square().sum();
      if (r == 0) loss = loss + spare(x).sum();
      sync.begin();
      loss.backward();
      sync.finish();
      grads[r][0] = main->weight.grad().clone();
      grads[r][1] = spare->weight.grad().defined() ? spare->weight.grad().clone() : at::Tensor();
      had_unused[r] = unused->weight.grad().defined();
    } catch (const std::exception& e) {
      errors[r] = e.what();
    }
  };
  std::thread t0(rank, 0), t1(rank, 1);
  t0.join();
  t1.join();
  ASSERT_EQ(errors[0], "");
  ASSERT_EQ(errors[1], "");
  // The reference: both inputs' gradients, averaged.
  torch::nn::Linear main(3, 2), spare(3, 2);
  fixed(main, 0.1), fixed(spare, -0.2);
  for (int r = 0; r < 2; ++r) {
    const at::Tensor x = at::full({4, 3}, r + 1.0);
    at::Tensor loss = main(x).square().sum() / 2;
    if (r == 0) loss = loss + spare(x).sum() / 2;
    loss.backward();
  }
  for (int r = 0; r < 2; ++r) {
    EXPECT_TRUE(at::allclose(grads[r][0], main->weight.grad(), 1e-5, 1e-6)) << r;
    ASSERT_TRUE(grads[r][1].defined()) << "a gradient one rank made reaches every rank";
    EXPECT_TRUE(at::allclose(grads[r][1], spare->weight.grad(), 1e-5, 1e-6)) << r;
    EXPECT_FALSE(had_unused[r]) << "a parameter no rank used keeps no gradient";
  }
}
