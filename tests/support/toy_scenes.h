#pragma once
// A tiny in-memory world for training tests: 1–3 coloured squares on grey, 64×64, patch 8.
#include <ATen/ATen.h>

#include <nlohmann/json.hpp>
#include <random>

#include "core/data/setok_data.h"
#include "core/tokenizer/setok_config.h"

namespace setok::test {

class ToyScenes : public train::SetokDataset {
 public:
  // kinds: name a background kind per image, as the scenes writer's COCO files do ("photo" for
  // every third image, else "plain"; the pixels are the same either way).
  explicit ToyScenes(std::size_t n, bool poison = false, bool kinds = false) : n_(n), poison_(poison), kinds_(kinds) {}
  std::size_t size() const override { return n_; }
  std::vector<std::string> label_names() const override { return {"blue", "green", "red"}; }
  train::SetokSample get(std::size_t index) const override {
    std::mt19937 rng(static_cast<unsigned>(index) * 7919u + 1);
    at::Tensor img = at::full({3, 64, 64}, 0.5f);
    at::Tensor inst = at::zeros({64, 64}, at::kLong);
    train::SetokSample s;
    const int k = 1 + static_cast<int>(rng() % 3);
    std::vector<at::Tensor> masks;
    for (int o = 0; o < k; ++o) {
      int c = static_cast<int>(rng() % 3), x = static_cast<int>(rng() % 40), y = static_cast<int>(rng() % 40);
      img.narrow(1, y, 24).narrow(2, x, 24).copy_(at::one_hot(at::tensor({static_cast<int64_t>(2 - c)}, at::kLong), 3)
                                                      .to(at::kFloat)
                                                      .view({3, 1, 1})
                                                      .expand({3, 24, 24}));
      inst.narrow(0, y, 24).narrow(1, x, 24).fill_(o + 1);
      s.labels.push_back(label_names()[c]);
    }
    for (int o = 0; o < k; ++o) {
      at::Tensor m = (inst == o + 1).to(at::kFloat).view({1, 1, 64, 64});
      masks.push_back(at::avg_pool2d(m, 8).view({64}));
    }
    s.pixels = img * 2 - 1;
    if (poison_) s.pixels[0][0][0] = std::numeric_limits<float>::quiet_NaN();
    s.object_masks = at::stack(masks);
    s.instance_map = inst;
    if (kinds_) s.background = index % 3 == 0 ? "photo" : "plain";
    return s;
  }

  // A language model small enough for a test's SeTokim (HF LlamaConfig keys).
  static nlohmann::json tiny_text_config() {
    return {{"hidden_size", 32},
            {"intermediate_size", 64},
            {"num_hidden_layers", 1},
            {"num_attention_heads", 4},
            {"num_key_value_heads", 2}};
  }

  static tokenizer::SetokConfig tiny_model() {
    tokenizer::SetokConfig c = tokenizer::SetokConfig::small();
    c.vision.image_size = 64;
    c.vision.patch_size = 8;
    c.vision.hidden_size = 32;
    c.vision.intermediate_size = 64;
    c.vision.num_hidden_layers = 1;
    c.vision.num_attention_heads = 2;
    c.cluster.max_tokens = 6;
    c.merger.dim_in(32).dim(32).dim_out(32).inner_layers(1).inter_layers(1).heads(2);
    c.detokenizer.token_dim(32).dim(32).layers(1).heads(2).image_size(64).patch_size(8).decoder_channels(
        {32, 16, 16, 16});
    return c;
  }

 private:
  std::size_t n_;
  bool poison_, kinds_;
};

}  // namespace setok::test
