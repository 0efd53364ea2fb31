// SeTok evaluation: concept top-1 by object area, the patch oracle, the breakdown by background kind.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/data/setok_data.h"
#include "core/eval/setok_eval.h"
#include "core/tokenizer/setok_model.h"
#include "tests/support/tiny_setok.h"
#include "tests/support/toy_scenes.h"

using namespace setok;
using setok::test::FineTuneFixture;
using setok::test::tiny_model;

// One red, green or blue square per image on grey, 64 × 64 with 8-px patches, of a side and place
// chosen so that its area in patches is known: 12 px at a corner covers 2.25 patches, 16 px on the
// grid 4, 40 px on the grid 25.
class SizedSquares : public train::SetokDataset {
 public:
  std::size_t size() const override { return 3; }
  std::vector<std::string> label_names() const override { return {"blue", "green", "red"}; }
  train::SetokSample get(std::size_t index) const override {
    const int side = std::vector<int>{12, 16, 40}[index], at_px = index == 0 ? 0 : 8;
    at::Tensor img = at::full({3, 64, 64}, 0.5f);
    at::Tensor inst = at::zeros({64, 64}, at::kLong);
    img.select(0, static_cast<int64_t>(index)).narrow(0, at_px, side).narrow(1, at_px, side).fill_(1.0f);
    inst.narrow(0, at_px, side).narrow(1, at_px, side).fill_(1);
    train::SetokSample s;
    s.labels = {std::vector<std::string>{"red", "green", "blue"}[index]};
    s.pixels = img * 2 - 1;
    s.instance_map = inst;
    s.object_masks = at::avg_pool2d((inst == 1).to(at::kFloat).view({1, 1, 64, 64}), 8).view({1, 64});
    return s;
  }
};

TEST(SetokEval, ConceptTop1ByObjectAreaSplitsTheObjectsByTheirPatchesAndAddsUp) {
  FineTuneFixture f;
  tokenizer::SetokModel model = tokenizer::load_setok(f.first.model_dir);
  const nlohmann::json j = eval::evaluate_setok(model, f.first.model_dir, SizedSquares(), eval::SetokEvalOptions());
  const nlohmann::json& areas = j.at("concept_by_area");
  ASSERT_EQ(areas.size(), 3u) << areas.dump();  // the empty buckets [8, 16) and [32, ∞) left out
  const std::vector<std::pair<double, double>> expected = {{0, 4}, {4, 8}, {16, 32}};
  double objects = 0, right = 0;
  for (std::size_t b = 0; b < areas.size(); ++b) {
    EXPECT_EQ(areas[b]["patches_from"].get<double>(), expected[b].first) << areas.dump();
    EXPECT_EQ(areas[b]["patches_to"].get<double>(), expected[b].second) << areas.dump();
    EXPECT_EQ(areas[b]["objects"], 1);
    const double top1 = areas[b]["top1"].get<double>();
    EXPECT_TRUE(top1 == 0.0 || top1 == 1.0) << top1;
    objects += areas[b]["objects"].get<double>();
    right += top1 * areas[b]["objects"].get<double>();
  }
  EXPECT_EQ(objects, j["concept_objects"].get<double>());
  EXPECT_NEAR(right / objects, j["concept_top1"].get<double>(), 1e-12);
}

namespace {
// ToyScenes with every square moved onto the 8-px patch grid: patch masks can then be exact.
class AlignedSquares : public test::ToyScenes {
 public:
  using ToyScenes::ToyScenes;
  train::SetokSample get(std::size_t index) const override {
    train::SetokSample s = ToyScenes::get(index);
    at::Tensor inst = at::zeros({64, 64}, at::kLong);
    at::Tensor img = at::full({3, 64, 64}, 0.0f);
    std::vector<at::Tensor> masks;
    for (std::size_t o = 0; o < s.labels.size(); ++o) {
      const int64_t x = 8 * static_cast<int64_t>((index * 3 + o * 5) % 6), y = 8 * static_cast<int64_t>(o * 2);
      inst.narrow(0, y, 16).narrow(1, x, 16).fill_(static_cast<int64_t>(o) + 1);
      img.narrow(1, y, 16).narrow(2, x, 16).fill_(0.3f * static_cast<float>(o + 1));
    }
    for (std::size_t o = 0; o < s.labels.size(); ++o)
      masks.push_back(
          at::avg_pool2d((inst == static_cast<int64_t>(o) + 1).to(at::kFloat).view({1, 1, 64, 64}), 8).view({64}));
    s.instance_map = inst;
    s.pixels = img;
    s.object_masks = at::stack(masks);
    return s;
  }
};
}  // namespace

TEST(SetokEval, PatchOracleIsExactOnGridAlignedObjectsAndBelowOneOtherwise) {
  tokenizer::SetokModel m = tiny_model();
  nlohmann::json aligned = eval::evaluate_setok(m, "", AlignedSquares(12), eval::SetokEvalOptions());
  EXPECT_DOUBLE_EQ(aligned["patch_oracle_fg_ari"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(aligned["patch_oracle_miou"].get<double>(), 1.0);
  nlohmann::json toy = eval::evaluate_setok(m, "", test::ToyScenes(12), eval::SetokEvalOptions());
  EXPECT_LT(toy["patch_oracle_miou"].get<double>(), 1.0) << "24-px squares at any offset straddle patches";
  EXPECT_GT(toy["patch_oracle_miou"].get<double>(), 0.5);
  // Objects first: every patch an object reaches goes to it, which FG-ARI (object pixels only)
  // rewards and mIoU (the background's pixels in the object's patches) does not.
  EXPECT_DOUBLE_EQ(aligned["patch_oracle_fg_ari_objects_first"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(aligned["patch_oracle_miou_objects_first"].get<double>(), 1.0);
  EXPECT_GT(toy["patch_oracle_fg_ari_objects_first"].get<double>(), toy["patch_oracle_fg_ari"].get<double>() + 0.2);
  EXPECT_LT(toy["patch_oracle_miou_objects_first"].get<double>(), toy["patch_oracle_miou"].get<double>() - 0.05);
}

TEST(SetokEval, SplitsReconstructionAndGroupingByBackgroundKind) {
  tokenizer::SetokModel m = tiny_model();
  nlohmann::json plain = eval::evaluate_setok(m, "", test::ToyScenes(9), eval::SetokEvalOptions());
  EXPECT_FALSE(plain.contains("by_background"));  // data that does not say, no breakdown
  nlohmann::json j = eval::evaluate_setok(m, "", test::ToyScenes(9, false, true), eval::SetokEvalOptions());
  ASSERT_TRUE(j.contains("by_background"));
  const auto& k = j["by_background"];
  ASSERT_EQ(k.size(), 2u);
  EXPECT_EQ(k["photo"]["images"].get<int>(), 3);
  EXPECT_EQ(k["plain"]["images"].get<int>(), 6);
  // The kinds partition the images: their image-weighted means are the whole split's.
  for (const char* key : {"psnr_db", "ssim", "l1"}) {
    const double whole = (3 * k["photo"][key].get<double>() + 6 * k["plain"][key].get<double>()) / 9;
    EXPECT_NEAR(whole, j[key].get<double>(), 1e-9) << key;
    EXPECT_NEAR(j[key].get<double>(), plain[key].get<double>(), 1e-12) << key;  // the same images
  }
  EXPECT_NE(k["photo"]["psnr_db"].get<double>(), k["plain"]["psnr_db"].get<double>());
}
