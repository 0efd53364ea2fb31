// The training configs the project ships: each is read by its trainer, and unknown keys are refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "core/io/checkpoint.h"
#include "core/runtime/error.h"
#include "core/train/mllm_trainer.h"
#include "core/train/segment_trainer.h"
#include "core/train/setok_trainer.h"

using namespace setok::train;

// Every config the project ships (resources/configs/FOLDER/*.json) is read by its trainer
// (*-segment.json by the mask decoder's, setokim-small/ and ablations/setokim-* by SeTokim's, the rest
// by SeTok's), and a key neither
// knows is refused with its name, so a misspelt option cannot be silently ignored.
TEST(TrainingConfigs, ShippedOnesParseAndUnknownKeysAreRefused) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(SETOK_MODELS).parent_path() / "configs";
  // The Train panel's default (TrainPanel::bundledRecipe): the bundled setok-small's first stage.
  EXPECT_TRUE(fs::is_regular_file(dir / "setok-small" / "01-first.json"));
  int setok = 0, setokim = 0, segment = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.path().extension() != ".json") continue;
    const nlohmann::json j = setok::io::read_json_file(e.path().string());
    const std::string name = fs::relative(e.path(), dir).generic_string();
    if (name.size() > 13 && name.compare(name.size() - 13, 13, "-segment.json") == 0) {
      EXPECT_NO_THROW(SegmentTrainConfig::from_json(j)) << name;
      ++segment;
    } else if (name.rfind("setokim-", 0) == 0 || name.find("/setokim-") != std::string::npos) {
      EXPECT_NO_THROW(setok::train::MllmTrainConfig::from_json(j)) << name;
      ++setokim;
    } else {
      EXPECT_NO_THROW(SetokTrainConfig::from_json(j)) << name;
      ++setok;
    }
  }
  EXPECT_GE(setok, 2);
  EXPECT_GE(setokim, 5);
  EXPECT_GE(segment, 1);
  for (auto parse : {+[](const nlohmann::json& j) { SetokTrainConfig::from_json(j); },
                     +[](const nlohmann::json& j) { setok::train::MllmTrainConfig::from_json(j); },
                     +[](const nlohmann::json& j) { SegmentTrainConfig::from_json(j); }}) {
    try {
      parse({{"steps", 10}, {"drop_sufix_rate", 0.5}});
      ADD_FAILURE() << "an unknown key was accepted";
    } catch (const setok::Error& e) {
      EXPECT_NE(std::string(e.what()).find("unknown key 'drop_sufix_rate'"), std::string::npos) << e.what();
    }
  }
}
