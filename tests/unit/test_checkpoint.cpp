// Model folders and sharded checkpoints (model.safetensors.index.json).
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "core/io/checkpoint.h"
#include "core/runtime/error.h"
#include "tests/support/temp_dir.h"

using namespace setok;
using setok::test::TempDir;
using setok::test::write_bytes;

namespace {
io::TensorMap sample() {
  io::TensorMap m;
  for (int i = 0; i < 6; ++i) m["layer." + std::to_string(i) + ".weight"] = at::randn({64, 64});
  m["embed"] = at::randn({100, 16}).to(at::kBFloat16);
  return m;
}
}  // namespace

TEST(Checkpoint, FolderRoundTrip) {
  TempDir d;
  auto m = sample();
  nlohmann::json cfg = {{"model_type", "setok"}, {"hidden_size", 64}};
  io::save_checkpoint(d / "model", cfg, m);
  io::Checkpoint c = io::load_checkpoint(d / "model");
  EXPECT_EQ(c.config, cfg);
  ASSERT_EQ(c.tensors.size(), m.size());
  for (const auto& [k, v] : m) EXPECT_TRUE(c.tensors.at(k).equal(v)) << k;
  auto l = io::list_checkpoint(d / "model");
  EXPECT_EQ(l.kind, "folder");
  EXPECT_EQ(l.config["hidden_size"], 64);
}

TEST(Checkpoint, ShardedRoundTripAndListing) {
  TempDir d;
  auto m = sample();
  io::save_checkpoint(d / "big", {{"x", 1}}, m, /*max_shard_bytes=*/40000);
  EXPECT_TRUE(std::filesystem::exists(d / "big/model.safetensors.index.json"));
  EXPECT_FALSE(std::filesystem::exists(d / "big/model.safetensors"));
  auto l = io::list_checkpoint(d / "big");
  EXPECT_GT(l.files.size(), 2u);
  EXPECT_EQ(l.tensors.size(), m.size());
  auto loaded = io::load_weights(d / "big/model.safetensors.index.json");
  for (const auto& [k, v] : m) EXPECT_TRUE(loaded.at(k).equal(v)) << k;
  // Saving small again replaces the shards' index with a single file.
  io::save_checkpoint(d / "big", {{"x", 1}}, {{"a", at::ones({1})}});
  EXPECT_EQ(io::load_checkpoint(d / "big").tensors.size(), 1u);
}

TEST(Checkpoint, IndexAndShardsMustAgree) {
  TempDir d;
  io::save_checkpoint(d / "s", {{"x", 1}}, sample(), 40000);
  std::string index = d / "s/model.safetensors.index.json";
  auto j = io::read_json_file(index);

  auto expect_error = [&](nlohmann::json bad, const char* needle) {
    write_bytes(index, bad.dump());
    try {
      io::list_checkpoint(d / "s");
      ADD_FAILURE() << "accepted a bad index; wanted " << needle;
    } catch (const setok::Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  auto missing = j;
  missing["weight_map"]["ghost"] = "model-00001-of-00009.safetensors";
  expect_error(missing, "missing");
  auto wrong = j;
  wrong["weight_map"]["ghost"] = wrong["weight_map"]["embed"];
  expect_error(wrong, "not in shard");
  auto escape = j;
  escape["weight_map"]["embed"] = "../evil.safetensors";
  expect_error(escape, "outside");
  auto unlisted = j;
  unlisted["weight_map"].erase("embed");
  expect_error(unlisted, "does not list");
  expect_error(nlohmann::json{{"metadata", {}}}, "weight_map");
  write_bytes(index, "{oops");
  EXPECT_THROW(io::list_checkpoint(d / "s"), setok::Error);
}

TEST(Checkpoint, NotAModelFolder) {
  TempDir d;
  std::filesystem::create_directories(d / "empty");
  EXPECT_THROW(io::list_checkpoint(d / "empty"), setok::Error);
  EXPECT_THROW(io::load_checkpoint(d / "empty"), setok::Error);
  EXPECT_THROW(io::list_checkpoint(d / "nothing-here"), setok::Error);
}
