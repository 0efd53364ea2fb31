#include "core/nn/activation_checkpoint.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/functions/utils.h>

#include "core/nn/precision.h"

namespace setok::nn {
namespace {

// The autocast switches of the forward pass, set again for the second run and put back after.
struct AutocastState {
  bool cpu = detail::autocast_on(at::kCPU), cuda = detail::autocast_on(at::kCUDA);
  void apply() const {
    detail::set_autocast_on(at::kCPU, cpu);
    detail::set_autocast_on(at::kCUDA, cuda);
  }
};

// The backward of a checkpointed block: run it again on the saved input, backpropagate the
// incoming gradient through that run (which accumulates the parameters' gradients as any backward
// does), and hand on the input's gradient.
struct CheckpointBackward : torch::autograd::Node {
  Block block;
  at::Tensor input;  // detached
  bool input_grad = false;
  AutocastState autocast;

  torch::autograd::variable_list apply(torch::autograd::variable_list&& grads) override {
    const AutocastState outer;
    at::AutoGradMode grad_on(true);
    autocast.apply();
    at::Tensor x = input.detach().requires_grad_(input_grad);
    at::Tensor y;
    try {
      y = block(x);
    } catch (...) {
      outer.apply();
      throw;
    }
    outer.apply();
    if (y.requires_grad()) torch::autograd::backward({y}, {grads[0]});
    at::Tensor gx = input_grad ? x.grad() : at::Tensor();
    input = at::Tensor();  // one backward per forward, as a graph that is not retained
    return {gx};
  }
};

}  // namespace

at::Tensor checkpointed(const Block& block, const at::Tensor& x) {
  if (!at::GradMode::is_enabled()) return block(x);
  at::Tensor y;
  {
    at::NoGradGuard no_grad;
    y = block(x);
  }
  auto node = std::shared_ptr<CheckpointBackward>(new CheckpointBackward(), torch::autograd::deleteNode);
  node->block = block;
  node->input = x.detach();
  node->input_grad = x.requires_grad();
  node->set_next_edges(torch::autograd::collect_next_edges(x));
  torch::autograd::set_history(y, node);
  return y;
}

}  // namespace setok::nn
