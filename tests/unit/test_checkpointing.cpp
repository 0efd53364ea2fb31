// Gradient checkpointing changes memory, not gradients: a tiny LLaMA and a tiny SigLIP give the same
// gradients with every block checkpointed as without, also under bf16 autocast, and a checkpointed
// block keeps no activations (its output's graph is one node).
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/torch.h>

#include <map>
#include <set>
#include <string>

#include "core/llm/llama_model.h"
#include "core/nn/activation_checkpoint.h"
#include "core/train/autocast.h"
#include "core/vision/siglip_encoder.h"

using namespace setok;

namespace {

std::map<std::string, at::Tensor> grads_of(torch::nn::Module& m) {
  std::map<std::string, at::Tensor> g;
  for (const auto& p : m.named_parameters())
    if (p.value().grad().defined()) g[p.key()] = p.value().grad().clone();
  m.zero_grad();
  return g;
}

void expect_same(const std::map<std::string, at::Tensor>& a, const std::map<std::string, at::Tensor>& b, double rtol,
                 double atol) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, g] : a) {
    ASSERT_TRUE(b.count(name)) << name;
    EXPECT_TRUE(at::allclose(g, b.at(name), rtol, atol))
        << name << ": largest difference " << (g - b.at(name)).abs().max().item<double>();
  }
}

// How many checkpointed blocks the graph behind `t` holds (so a test cannot pass with none).
int checkpointed_blocks(const at::Tensor& t) {
  std::vector<torch::autograd::Node*> todo{t.grad_fn().get()};
  std::set<torch::autograd::Node*> seen;
  int n = 0;
  while (!todo.empty()) {
    torch::autograd::Node* f = todo.back();
    todo.pop_back();
    if (!f || !seen.insert(f).second) continue;
    n += f->name().find("CheckpointBackward") != std::string::npos;
    for (const auto& e : f->next_edges()) todo.push_back(e.function.get());
  }
  return n;
}

llm::LlamaConfig tiny_llama() {
  llm::LlamaConfig c;
  c.vocab_size = 64, c.hidden_size = 32, c.intermediate_size = 64, c.num_hidden_layers = 3;
  c.num_attention_heads = 4, c.num_key_value_heads = 2, c.max_position_embeddings = 64;
  return c;
}

}  // namespace

TEST(Checkpointing, LlamaGradientsAreTheSame) {
  at::manual_seed(0);
  llm::LlamaForCausalLM m(tiny_llama());
  m->train();
  const at::Tensor ids = at::randint(0, 64, {2, 10}, at::kLong);
  const at::Tensor valid = at::ones({2, 10}, at::kBool).index_put_({1, at::indexing::Slice(7)}, false);
  auto loss = [&] { return m->logits(m->hidden(m->embed(ids), nullptr, valid)).square().mean(); };
  loss().backward();
  const auto plain = grads_of(*m);
  m->checkpointing = true;
  at::Tensor l = loss();
  EXPECT_EQ(checkpointed_blocks(l), 3);
  l.backward();
  expect_same(plain, grads_of(*m), 1e-5, 1e-7);
  {  // the same under bf16 autocast: the second run of each block is in bf16 too
    train::AutocastScope amp(at::kCPU, true);
    m->checkpointing = false;
    at::Tensor l = loss();
    l.backward();
    const auto bf = grads_of(*m);
    m->checkpointing = true;
    loss().backward();
    expect_same(bf, grads_of(*m), 1e-3, 1e-5);
  }
}

TEST(Checkpointing, SiglipGradientsAreTheSame) {
  at::manual_seed(1);
  vision::SiglipVisionConfig c;
  c.hidden_size = 32, c.intermediate_size = 64, c.num_hidden_layers = 3, c.num_attention_heads = 2;
  c.image_size = 32, c.patch_size = 8, c.use_head = false;
  vision::SiglipVisionEncoder enc(c);
  enc->train();
  const at::Tensor px = at::randn({2, 3, 32, 32});
  enc->forward(px).last_hidden_state.square().mean().backward();
  const auto plain = grads_of(*enc);
  enc->checkpointing = true;
  at::Tensor l = enc->patch_features(px, -1).features.square().mean();
  EXPECT_EQ(checkpointed_blocks(l), 3);
  l.backward();
  expect_same(plain, grads_of(*enc), 1e-5, 1e-7);
}

TEST(Checkpointing, ABlockKeepsNoActivations) {
  const at::Tensor w = torch::randn({8, 8}, torch::requires_grad());
  const at::Tensor x = torch::randn({4, 8}, torch::requires_grad());
  int runs = 0;
  nn::Block block = [&runs, w](const at::Tensor& in) {
    ++runs;
    return at::tanh(at::matmul(in, w)).square();
  };
  at::Tensor y = nn::checkpointed(block, x);
  EXPECT_EQ(runs, 1);
  ASSERT_TRUE(y.grad_fn());
  EXPECT_EQ(y.grad_fn()->next_edges().size(), 1u) << "one edge, to x: nothing of the block is kept";
  y.sum().backward();
  EXPECT_EQ(runs, 2) << "backward runs the block again";
  const at::Tensor gx = x.grad().clone(), gw = w.grad().clone();
  x.mutable_grad().zero_();
  w.mutable_grad().zero_();
  block(x).sum().backward();
  EXPECT_TRUE(at::allclose(gx, x.grad()));
  EXPECT_TRUE(at::allclose(gw, w.grad()));
  at::NoGradGuard ng;  // without gradients it is the block itself
  EXPECT_FALSE(nn::checkpointed(block, x).requires_grad());
}
