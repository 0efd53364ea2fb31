// Detokenizer: a variable number of visual tokens -> pixels (§2.1, D.1).
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/optim/adam.h>

#include <algorithm>
#include <iostream>
#include <vector>

#include "core/nn/state_dict.h"
#include "core/runtime/error.h"
#include "core/tokenizer/detokenizer.h"

using namespace setok;
using tokenizer::Detokenizer;
using tokenizer::DetokenizerOptions;

namespace {
// 32 px from 4 × 4 queries: three ×2 stages, fast enough to run many times.
DetokenizerOptions tiny() {
  return DetokenizerOptions()
      .token_dim(12)
      .dim(16)
      .layers(2)
      .heads(2)
      .image_size(32)
      .patch_size(8)
      .decoder_channels({16, 8, 8, 8})
      .decoder_res_blocks(1);
}

int64_t count_parameters(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}
}  // namespace

TEST(Detokenizer, AnyTokenCountGivesAnImage) {
  at::manual_seed(0);
  Detokenizer detok(tiny());
  for (int64_t c : {1, 7, 32}) {
    auto px = detok->forward(at::randn({2, c, 12}), at::ones({2, c}, at::kBool));
    EXPECT_EQ(px.sizes(), (std::vector<int64_t>{2, 3, 32, 32})) << c << " tokens";
    EXPECT_TRUE(at::isfinite(px).all().item<bool>());
  }
}

TEST(Detokenizer, PaddedTokensDoNotChangePixels) {
  at::manual_seed(1);
  Detokenizer detok(tiny());
  auto tokens = at::randn({1, 5, 12});
  auto px = detok->forward(tokens, at::ones({1, 5}, at::kBool));
  EXPECT_TRUE(px.equal(detok->forward(tokens)));  // undefined token_valid = all valid
  auto padded = at::cat({tokens, 50 * at::randn({1, 9, 12})}, 1);
  auto valid = at::cat({at::ones({1, 5}, at::kBool), at::zeros({1, 9}, at::kBool)}, 1);
  EXPECT_TRUE(at::allclose(detok->forward(padded, valid), px, 1e-5, 1e-5));
  // ...while a real sixth token does change them.
  EXPECT_FALSE(at::allclose(detok->forward(padded, at::ones({1, 14}, at::kBool)), px, 1e-3, 1e-3));
}

TEST(Detokenizer, BatchGivesEachImageItsOwnResult) {
  at::manual_seed(2);
  Detokenizer detok(tiny());
  auto a = at::randn({1, 3, 12}), b = at::randn({1, 6, 12});
  auto batch = at::cat({at::cat({a, at::zeros({1, 3, 12})}, 1), b});
  auto valid = at::ones({2, 6}, at::kBool);
  valid[0].narrow(0, 3, 3).fill_(false);
  auto px = detok->forward(batch, valid);
  EXPECT_TRUE(at::allclose(px[0], detok->forward(a)[0], 1e-5, 1e-5));
  EXPECT_TRUE(at::allclose(px[1], detok->forward(b)[0], 1e-5, 1e-5));
}

TEST(Detokenizer, GradientsReachTokensAndQueries) {
  at::manual_seed(3);
  Detokenizer detok(tiny());
  auto tokens = at::randn({1, 4, 12}).requires_grad_();
  detok->forward(tokens).pow(2).mean().backward();
  EXPECT_GT(tokens.grad().abs().sum().item<double>(), 0.0);
  EXPECT_GT(detok->queries.grad().abs().sum().item<double>(), 0.0);
}

TEST(Detokenizer, UpsamplesWithoutTransposedConvolutions) {
  Detokenizer detok(DetokenizerOptions::small());
  for (const auto& m : detok->modules()) EXPECT_EQ(m->name().find("ConvTranspose"), std::string::npos) << m->name();
}

TEST(Detokenizer, NonPowerOfTwoPatchIsResized) {
  at::manual_seed(4);
  // 28 px from 2 × 2 queries of 14 px: two ×2 stages reach 8, three reach 16, four reach 32 -> resized to 28.
  Detokenizer detok(tiny().image_size(28).patch_size(14).decoder_channels({16, 8, 8, 8, 8}));
  EXPECT_EQ(detok->forward(at::randn({1, 2, 12})).sizes(), (std::vector<int64_t>{1, 3, 28, 28}));
}

TEST(Detokenizer, StateDictRoundTrip) {
  at::manual_seed(5);
  Detokenizer a(tiny()), b(tiny());
  auto tokens = at::randn({1, 3, 12});
  auto sd = nn::state_dict(*a);
  EXPECT_TRUE(sd.count("queries"));
  EXPECT_TRUE(sd.count("blocks.1.cross_attn.v.weight"));
  EXPECT_TRUE(sd.count("decoder.conv_out.weight"));
  EXPECT_FALSE(a->forward(tokens).equal(b->forward(tokens)));
  nn::load_state_dict(*b, sd);
  EXPECT_TRUE(a->forward(tokens).equal(b->forward(tokens)));
}

TEST(Detokenizer, SmallPresetSize) {
  at::manual_seed(6);
  Detokenizer detok(DetokenizerOptions::small());
  const int64_t n = count_parameters(*detok);
  std::cout << "[ params   ] Detokenizer small: " << n << "\n";
  EXPECT_GT(n, 500'000);
  EXPECT_LT(n, 3'000'000);
  at::NoGradGuard no_grad;
  auto px = detok->forward(at::randn({1, 9, 128}));
  EXPECT_EQ(px.sizes(), (std::vector<int64_t>{1, 3, 128, 128}));
  const auto p = DetokenizerOptions::paper();
  EXPECT_EQ(p.layers(), 12);
  EXPECT_EQ(p.token_dim(), 512);
  EXPECT_EQ(p.grid() * p.patch_size(), p.image_size());
}

TEST(Detokenizer, OnlyTheQueryPositionTableTellsTheQueriesApart) {
  // With the learnt queries all alike (here zero), every query reads the same mixture of the tokens
  // and RoPE turns q/k but not the values: the grid the pixel decoder gets is the same at every
  // place, so it can only paint a flat picture. The position table makes each place its own.
  at::manual_seed(7);
  auto tokens = at::randn({1, 3, 12});
  auto spread = [&](Detokenizer& d) {
    at::NoGradGuard no_grad;
    d->queries.zero_();
    at::Tensor grid = d->query_grid(tokens);  // [1, dim, 4, 4]
    EXPECT_EQ(grid.sizes(), (at::IntArrayRef{1, 16, 4, 4}));
    return grid.flatten(2).std(2).mean().item<double>();  // across places, averaged over channels
  };
  Detokenizer learnt(tiny());
  EXPECT_LT(spread(learnt), 1e-5);
  Detokenizer placed(tiny().query_position(true));
  EXPECT_GT(spread(placed), 0.1);
  // And the pixels follow: forward is the pixel decoder on that grid.
  at::NoGradGuard no_grad;
  EXPECT_TRUE(placed->forward(tokens).equal(placed->decoder(placed->query_grid(tokens))));
  auto sd = nn::state_dict(*placed);
  EXPECT_TRUE(sd.count("query_position_proj.weight"));
  EXPECT_FALSE(nn::state_dict(*learnt).count("query_position_proj.weight"));
}

TEST(Detokenizer, BroadcastSaysWhereEachTokenLiesAndIgnoresPadding) {
  at::manual_seed(8);
  Detokenizer detok(tiny().broadcast(true).broadcast_hidden(24));
  auto tokens = at::randn({2, 3, 12});
  auto valid = at::ones({2, 3}, at::kBool);
  valid[1][2] = false;
  at::Tensor logits;
  auto px = detok->forward(tokens, valid, &logits);
  EXPECT_EQ(px.sizes(), (at::IntArrayRef{2, 3, 32, 32}));
  ASSERT_EQ(logits.sizes(), (at::IntArrayRef{2, 16, 3}));  // 4 × 4 places, 3 tokens
  EXPECT_TRUE((logits[1].select(1, 2) <= -1e4 + 1).all().item<bool>()) << "the padded token";
  // Each place has its own logits (the position table).
  EXPECT_GT(logits[0].std(0).mean().item<double>(), 1e-3);
  auto padded = tokens.clone();
  padded[1][2] = 50 * at::randn({12});
  EXPECT_TRUE(at::allclose(detok->forward(padded, valid)[1], px[1], 1e-5, 1e-5));
  auto moved = tokens.clone();
  moved[1][0] = at::randn({12});
  EXPECT_FALSE(at::allclose(detok->forward(moved, valid)[1], px[1], 1e-3, 1e-3)) << "a real token does count";
  // Gradients reach the broadcast MLP through the pixels and through the logits alike.
  detok->zero_grad();
  detok->forward(tokens, valid).pow(2).mean().backward();
  EXPECT_GT(detok->broadcast_place->weight.grad().abs().sum().item<double>(), 0.0);
  at::Tensor l2;
  detok->zero_grad();
  detok->forward(tokens, valid, &l2);
  l2.select(2, 0).sum().backward();
  EXPECT_GT(detok->broadcast_out->weight.grad().abs().sum().item<double>(), 0.0);
  // Without broadcast there are no logits.
  Detokenizer plain(tiny());
  at::Tensor none = at::ones({1});
  plain->forward(tokens, valid, &none);
  EXPECT_FALSE(none.defined());
}

TEST(Detokenizer, RegionsTellTheBroadcastWhereTokensOfOneKindLie) {
  // Two tokens with the same vector: one a random box of the 4 × 4 grid, the other the rest.
  // Only their region descriptors (centre and box, token_geometry's layout) tell them apart, so
  // the broadcast's mask logits can learn the layout with regions and not without.
  auto run = [](bool regions) {
    at::manual_seed(21);
    auto opts = tiny().broadcast(true).broadcast_hidden(32).regions(regions);
    Detokenizer detok(opts);
    torch::optim::Adam opt(detok->parameters(), torch::optim::AdamOptions(1e-2));
    const int64_t g = 4, b = 16;
    auto unit = [&](int64_t i) { return (i + 0.5) / g * 2 - 1; };
    auto batch = [&](at::Tensor& desc, at::Tensor& truth) {
      desc = at::zeros({b, 2, 90});
      truth = at::ones({b, g * g}, at::kLong);
      for (int64_t i = 0; i < b; ++i) {
        auto r = at::randint(0, g, {4}, at::kLong);
        const int64_t x0 = std::min(r[0].item<int64_t>(), r[1].item<int64_t>());
        const int64_t x1 = std::max(r[0].item<int64_t>(), r[1].item<int64_t>());
        const int64_t y0 = std::min(r[2].item<int64_t>(), r[3].item<int64_t>());
        const int64_t y1 = std::max(r[2].item<int64_t>(), r[3].item<int64_t>());
        double sx = 0, sy = 0, n = 0;
        for (int64_t y = y0; y <= y1; ++y)
          for (int64_t x = x0; x <= x1; ++x) {
            truth[i][y * g + x] = 0;
            sx += unit(x), sy += unit(y), n += 1;
          }
        double rx = 0, ry = 0, rn = 0;
        for (int64_t p = 0; p < g * g; ++p)
          if (truth[i][p].item<int64_t>() == 1) rx += unit(p % g), ry += unit(p / g), rn += 1;
        const std::vector<std::vector<double>> geo = {
            {sx / n, sy / n, unit(x0), unit(y0), unit(x1), unit(y1)},
            {rn ? rx / rn : 0, rn ? ry / rn : 0, unit(0), unit(0), unit(g - 1), unit(g - 1)}};
        for (int64_t c = 0; c < 2; ++c) {
          desc[i][c][9] = geo[c][0], desc[i][c][10] = geo[c][1];
          for (int64_t k = 0; k < 4; ++k) desc[i][c][14 + k] = geo[c][2 + k];
        }
      }
    };
    auto tokens = at::randn({1, 1, 12}).expand({b, 2, 12}).contiguous();
    for (int step = 0; step < 150; ++step) {
      at::Tensor desc, truth, logits;
      batch(desc, truth);
      detok->query_grid(tokens, {}, &logits, regions ? desc : at::Tensor());
      auto loss = at::cross_entropy_loss(logits.reshape({-1, 2}), truth.reshape({-1}));
      opt.zero_grad();
      loss.backward();
      opt.step();
    }
    at::NoGradGuard ng;
    at::Tensor desc, truth, logits;
    batch(desc, truth);
    detok->query_grid(tokens, {}, &logits, regions ? desc : at::Tensor());
    // Places where the two tokens tie (no regions) count as wrong.
    auto right = logits.argmax(2).eq(truth).logical_and(logits.select(2, 0).ne(logits.select(2, 1)));
    return right.to(at::kFloat).mean().item<double>();
  };
  EXPECT_GT(run(true), 0.9);
  EXPECT_LT(run(false), 0.1) << "identical tokens without regions tie at every place";
  // Regions need the broadcast decoder, and descriptors of the right shape when on.
  EXPECT_THROW(Detokenizer(tiny().regions(true)), setok::Error);
  Detokenizer detok(tiny().broadcast(true).regions(true).region_appearance(4));
  EXPECT_EQ(detok->options.region_width(), 90 + 16);
  auto tokens = at::randn({1, 2, 12});
  EXPECT_THROW(detok->forward(tokens), setok::Error);
  EXPECT_THROW(detok->forward(tokens, {}, nullptr, at::zeros({1, 2, 90})), setok::Error);
  EXPECT_EQ(detok->forward(tokens, {}, nullptr, at::zeros({1, 2, 106})).sizes(), (at::IntArrayRef{1, 3, 32, 32}));
}
