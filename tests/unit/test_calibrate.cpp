// Post-training calibration of σ and β: it picks the grid's best point by its stated criterion,
// agrees with the evaluator, leaves the model as it was, and writes only the two settings.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "core/eval/setok_calibrate.h"
#include "core/eval/setok_eval.h"
#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/nn/state_dict.h"
#include "core/runtime/error.h"
#include "core/tokenizer/setok_model.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tiny_setok.h"
#include "tests/support/toy_scenes.h"

using namespace setok;
using setok::test::tiny_model;

TEST(Calibrate, PicksTheBestGridPointAndLeavesTheModelUnchanged) {
  tokenizer::SetokModel m = tiny_model();
  test::ToyScenes val(24);
  eval::CalibrationOptions o;
  o.bandwidths = {0.05, 0.3, 2.0};
  o.betas = {0.0, 1.0};
  const float bw_before = m->cluster->bandwidth();
  const float beta_before = m->config().cluster.beta;
  eval::Calibration c = eval::calibrate_clustering(m, val, o);
  ASSERT_EQ(c.table.size(), 6u);
  double best = -1;
  for (const auto& row : c.table) best = std::max(best, row["fg_ari"].get<double>() + row["within_one"].get<double>());
  EXPECT_DOUBLE_EQ(c.fg_ari + c.within_one, best);
  EXPECT_FLOAT_EQ(m->cluster->bandwidth(), bw_before);
  EXPECT_FLOAT_EQ(m->config().cluster.beta, beta_before);
  // Different σ must give different token counts on this data (the grid is not flat).
  std::set<double> counts;
  for (const auto& row : c.table) counts.insert(row["tokens_per_image"].get<double>());
  EXPECT_GT(counts.size(), 1u);

  // The evaluator, given the chosen settings, measures what the calibration reported.
  eval::SetokEvalOptions eo;
  eo.cluster = eval::with_clustering(m->config().cluster, c.bandwidth, c.beta);
  EXPECT_FLOAT_EQ(eo.cluster->bandwidth, static_cast<float>(c.bandwidth));
  nlohmann::json j = eval::evaluate_setok(m, "", val, eo);
  EXPECT_NEAR(j["fg_ari"].get<double>(), c.fg_ari, 1e-9);
  EXPECT_NEAR(j["tokens_within_one_of_objects_plus_one"].get<double>(), c.within_one, 1e-9);
  EXPECT_NEAR(j["tokens_per_image"].get<double>(), c.tokens_per_image, 1e-9);
  int chosen = 0;
  for (const auto& row : c.table)
    if (row["bandwidth"].get<double>() == c.bandwidth && row["beta"].get<double>() == c.beta) {
      ++chosen;
      EXPECT_NEAR(j["fg_ari_refined"].get<double>(), row["fg_ari_refined"].get<double>(), 1e-9);
    }
  EXPECT_EQ(chosen, 1);
}

TEST(Calibrate, SearchesSplitIslandsAndSmallTokensWhenAskedAndWritesTheChoice) {
  tokenizer::SetokModel m = tiny_model();
  test::ToyScenes val(16);
  eval::CalibrationOptions o;
  o.bandwidths = {0.3, 2.0};
  o.betas = {0.0};
  o.islands = {0, 2};
  o.min_region_patches = {0, 3};
  o.edge_passes = {0, 2};
  eval::Calibration c = eval::calibrate_clustering(m, val, o);
  ASSERT_EQ(c.table.size(), 16u);
  double best = -1;
  for (const auto& row : c.table) {
    ASSERT_TRUE(row.contains("split_islands"));
    ASSERT_TRUE(row.contains("min_region_patches"));
    ASSERT_TRUE(row.contains("edge_passes"));
    best = std::max(best, row["fg_ari"].get<double>() + row["within_one"].get<double>());
  }
  EXPECT_DOUBLE_EQ(c.fg_ari + c.within_one, best);
  EXPECT_TRUE(c.islands == 0 || c.islands == 2);
  EXPECT_TRUE(c.min_region_patches == 0 || c.min_region_patches == 3);
  EXPECT_TRUE(c.edge_passes == 0 || c.edge_passes == 2);
  EXPECT_EQ(m->config().cluster.split_islands, 0);  // the model is left as it was
  EXPECT_EQ(m->config().cluster.min_region_patches, 0);
  EXPECT_EQ(m->config().cluster.edge_passes, 0);
  // The evaluator agrees with the chosen row.
  eval::SetokEvalOptions eo;
  eo.cluster =
      eval::with_clustering(m->config().cluster, c.bandwidth, c.beta, c.islands, c.min_region_patches, c.edge_passes);
  EXPECT_EQ(eo.cluster->split_islands, c.islands);
  EXPECT_EQ(eo.cluster->min_region_patches, c.min_region_patches);
  EXPECT_EQ(eo.cluster->edge_passes, c.edge_passes);
  nlohmann::json j = eval::evaluate_setok(m, "", val, eo);
  EXPECT_NEAR(j["fg_ari"].get<double>(), c.fg_ari, 1e-9);
  EXPECT_NEAR(j["tokens_per_image"].get<double>(), c.tokens_per_image, 1e-9);
  // Written to a model folder: the setting is there when on and gone when off.
  test::TempDir dir;
  const std::string d = dir / "m";
  io::save_checkpoint(d, m->config().to_json(), nn::state_dict(*m));
  eval::write_clustering(d, 0.4, 0.5, 3);
  EXPECT_EQ(io::read_json_file(dir / "m/config.json")["cluster"]["split_islands"].get<int>(), 3);
  EXPECT_EQ(tokenizer::load_setok(d)->config().cluster.split_islands, 3);
  eval::write_clustering(d, 0.4, 0.5);  // -1: left as it is
  EXPECT_EQ(io::read_json_file(dir / "m/config.json")["cluster"]["split_islands"].get<int>(), 3);
  eval::write_clustering(d, 0.4, 0.5, 0);
  EXPECT_FALSE(io::read_json_file(dir / "m/config.json")["cluster"].contains("split_islands"));
  eval::write_clustering(d, 0.4, 0.5, -1, 2);
  EXPECT_EQ(tokenizer::load_setok(d)->config().cluster.min_region_patches, 2);
  eval::write_clustering(d, 0.4, 0.5, -1, 0);
  EXPECT_FALSE(io::read_json_file(dir / "m/config.json")["cluster"].contains("min_region_patches"));
  eval::write_clustering(d, 0.4, 0.5, -1, -1, 8);
  EXPECT_EQ(tokenizer::load_setok(d)->config().cluster.edge_passes, 8);
  eval::write_clustering(d, 0.4, 0.5, -1, -1, 0);
  EXPECT_FALSE(io::read_json_file(dir / "m/config.json")["cluster"].contains("edge_passes"));
}

TEST(Calibrate, WritesOnlyTheClusterSettingsKeepingDtypesAndOtherFiles) {
  test::TempDir dir;
  tokenizer::SetokModel m = tiny_model();
  const std::string d = dir / "m";
  // A half-precision folder with an extra section and a side file, as `setok convert` makes them.
  io::TensorMap w = nn::state_dict(*m);
  for (auto& [n, t] : w) t = t.to(at::kHalf);
  nlohmann::json cfg = m->config().to_json();
  cfg["concept"] = {{"labels", {"a", "b"}}};
  io::save_checkpoint(d, cfg, w);
  io::save_safetensors(dir / "m/text_encoder.safetensors", {{"x", at::ones({2})}});
  eval::write_clustering(d, 0.4, 0.5);
  nlohmann::json after = io::read_json_file(dir / "m/config.json");
  EXPECT_EQ(after["concept"], cfg["concept"]);
  EXPECT_DOUBLE_EQ(after["cluster"]["bandwidth"].get<double>(), 0.4);
  EXPECT_DOUBLE_EQ(after["cluster"]["beta"].get<double>(), 0.5);
  EXPECT_EQ(after["merger"], cfg["merger"]);
  io::TensorMap w2 = io::load_weights(d);
  ASSERT_EQ(w2.size(), w.size());
  for (const auto& [n, t] : w) {
    EXPECT_EQ(w2.at(n).scalar_type(), at::kHalf) << n;
    if (n != "cluster.log_bandwidth") {
      EXPECT_TRUE(at::equal(w2.at(n), t)) << n;
    }
  }
  EXPECT_NEAR(std::exp(w2.at("cluster.log_bandwidth").to(at::kFloat).item<float>()), 0.4, 0.4 * 1e-3);
  EXPECT_TRUE(std::filesystem::exists(dir / "m/text_encoder.safetensors"));
  tokenizer::SetokModel loaded = tokenizer::load_setok(d);
  EXPECT_NEAR(loaded->cluster->bandwidth(), 0.4, 0.4 * 1e-3);
  EXPECT_FLOAT_EQ(loaded->config().cluster.beta, 0.5f);
}

TEST(Calibrate, RejectsBadInput) {
  tokenizer::SetokModel m = tiny_model();
  EXPECT_THROW(eval::with_clustering(m->config().cluster, 0.0, 1.0), Error);
  EXPECT_THROW(eval::with_clustering(m->config().cluster, 0.3, -1.0), Error);
  eval::CalibrationOptions o;
  o.bandwidths.clear();
  test::ToyScenes val(2);
  EXPECT_THROW(eval::calibrate_clustering(m, val, o), Error);
  test::TempDir dir;
  EXPECT_THROW(eval::write_clustering(dir / "none", 0.3, 1.0), Error);
}
