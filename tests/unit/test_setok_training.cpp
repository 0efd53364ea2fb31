// SeTok training: it learns, resumes exactly, stops on NaN, and reports progress.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/eval/setok_eval.h"
#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/runtime/error.h"
#include "core/tokenizer/setok_model.h"
#include "core/train/setok_trainer.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tiny_setok.h"
#include "tests/support/toy_scenes.h"

using namespace setok;
using namespace setok::train;
using setok::test::FineTuneFixture;
using setok::test::tiny_config;

namespace {
// Trains `c` on `data`; one progress key's value at every logged step.
std::vector<double> train_recording(const SetokTrainConfig& c, const SetokDataset& data, const char* key) {
  std::vector<double> values;
  ProgressWriter p(ProgressMode::kNone, [&](const nlohmann::json& e) {
    if (e["event"] == "step") values.push_back(e.at(key).get<double>());
  });
  train_setok(c, "", p, &data);
  return values;
}

// The mean of v[from, to).
double mean_over(const std::vector<double>& v, std::size_t from, std::size_t to) {
  double sum = 0;
  for (std::size_t i = from; i < to; ++i) sum += v[i];
  return sum / static_cast<double>(to - from);
}

// A model folder's text_encoder.safetensors.
io::TensorMap text_weights(const std::string& dir) {
  return io::load_safetensors((std::filesystem::path(dir) / "text_encoder.safetensors").string());
}
}  // namespace

TEST(SetokTraining, LearnsToReconstructAndReportsProgress) {
  test::TempDir d;
  test::ToyScenes data(64);
  std::vector<nlohmann::json> events;
  ProgressWriter p(ProgressMode::kNone, [&](const nlohmann::json& e) { events.push_back(e); });
  TrainSummary s = train_setok(tiny_config(d / "run", 40), "", p, &data);
  EXPECT_EQ(s.steps_done, 40);
  std::vector<double> rec;
  for (const auto& e : events)
    if (e["event"] == "step") {
      rec.push_back(e["loss_rec"].get<double>());
      for (const char* k : {"step", "epoch", "loss", "loss_rec", "loss_concept", "lr", "images_per_s", "memory_mb",
                            "eta_s", "tokens_per_image", "data_wait_s"})
        EXPECT_TRUE(e.contains(k)) << k;
    }
  ASSERT_EQ(rec.size(), 40u);
  double first = (rec[0] + rec[1] + rec[2]) / 3, last = (rec[37] + rec[38] + rec[39]) / 3;
  EXPECT_LT(last, 0.8 * first) << "reconstruction loss falls: " << first << " -> " << last;
  EXPECT_EQ(events.back()["event"], "done");
  // The final model loads as a SeTok model, marked trained.
  tokenizer::SetokModel m = tokenizer::load_setok(s.model_dir);
  EXPECT_TRUE(m->config().trained);
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(s.model_dir) / "text_encoder.safetensors"));
}

TEST(SetokTraining, PauseAndResumeContinueBitForBit) {
  // With and without the semantic head, whose weights travel in the checkpoint.
  for (double semantic : {0.0, 0.5}) {
    SCOPED_TRACE(semantic);
    test::TempDir d;
    test::ToyScenes data(32);
    ProgressWriter quiet(ProgressMode::kNone);
    auto config = [&](const std::string& out) {
      SetokTrainConfig c = tiny_config(out, 6);
      c.extras.semantic_weight = semantic;
      return c;
    };
    train_setok(config(d / "straight"), "", quiet, &data);
    SetokTrainConfig paused = config(d / "paused");
    paused.stop_at = 3;
    TrainSummary half = train_setok(paused, "", quiet, &data);
    EXPECT_EQ(half.steps_done, 3);
    TrainSummary rest = train_setok(config(d / "paused"), d / "paused/checkpoint", quiet, &data);
    EXPECT_EQ(rest.steps_done, 3);
    auto a = io::load_weights(d / "straight/model"), b = io::load_weights(d / "paused/model");
    ASSERT_EQ(a.size(), b.size());
    for (const auto& [k, v] : a) EXPECT_TRUE(v.equal(b.at(k))) << k;
    // A checkpoint folder evaluates like a model folder, its concept scores included, whether
    // or not it holds the training-only semantic head.
    const std::string ckpt = d / "paused/checkpoint";
    tokenizer::SetokModel from_ckpt = tokenizer::load_setok(ckpt);
    eval::SetokEvalOptions few;
    few.limit = 4;
    const nlohmann::json scores = eval::evaluate_setok(from_ckpt, ckpt, data, few);
    EXPECT_TRUE(scores.contains("concept_top1")) << scores.dump();
    if (semantic == 0.0) {
      // A checkpoint without the head cannot be resumed with it: one clear error.
      SetokTrainConfig more = config(d / "paused");
      more.steps = 8;
      more.extras.semantic_weight = 1.0;
      try {
        train_setok(more, d / "paused/checkpoint", quiet, &data);
        ADD_FAILURE() << "resumed without the semantic head's weights";
      } catch (const setok::Error& e) {
        EXPECT_NE(std::string(e.what()).find("semantic_weight"), std::string::npos) << e.what();
      }
    }
  }
}

TEST(SetokTraining, InitFineTunesATrainedModelKeepingItsArchitecture) {
  test::TempDir d;
  test::ToyScenes data(32);
  ProgressWriter quiet(ProgressMode::kNone);
  TrainSummary trained = train_setok(tiny_config(d / "first", 4), "", quiet, &data);
  const io::TensorMap start = io::load_weights(trained.model_dir);
  // A config that asks for another text encoder and token cap: init's own win, or its weights
  // would not load. At a vanishing rate one step leaves the weights where they were.
  auto tune = [&](const std::string& out, const std::string& init) {
    SetokTrainConfig c = tiny_config(out, 1);
    c.finetune.init = init;
    c.lr = 1e-12;
    c.text.dim(16);
    c.model.cluster.max_tokens = 3;
    return c;
  };
  std::vector<nlohmann::json> events;
  ProgressWriter p(ProgressMode::kNone, [&](const nlohmann::json& e) { events.push_back(e); });
  TrainSummary tuned = train_setok(tune(d / "tuned", trained.model_dir), "", p, &data);
  EXPECT_EQ(tuned.steps_done, 1);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front()["step"], 0);
  const io::TensorMap after = io::load_weights(tuned.model_dir);
  ASSERT_EQ(after.size(), start.size());
  for (const auto& [k, v] : start) EXPECT_TRUE(at::allclose(after.at(k), v, 1e-5, 1e-6)) << k;
  EXPECT_EQ(tokenizer::load_setok(tuned.model_dir)->config().cluster.max_tokens,
            tokenizer::load_setok(trained.model_dir)->config().cluster.max_tokens);
  // The same step from scratch lands elsewhere: the comparison above can fail.
  SetokTrainConfig fresh = tune(d / "fresh", "");
  fresh.text.dim(32);
  fresh.model.cluster.max_tokens = tiny_config("", 1).model.cluster.max_tokens;
  const io::TensorMap scratch = io::load_weights(train_setok(fresh, "", quiet, &data).model_dir);
  bool differs = false;
  for (const auto& [k, v] : start) differs = differs || !at::allclose(scratch.at(k), v, 1e-5, 1e-6);
  EXPECT_TRUE(differs);
  // A folder that is not a SeTok model: one clear error.
  try {
    train_setok(tune(d / "bad", d / "nothing-here"), "", quiet, &data);
    ADD_FAILURE() << "trained from a folder without a model";
  } catch (const setok::Error& e) {
    EXPECT_NE(std::string(e.what()).find("config.json"), std::string::npos) << e.what();
  }
}

TEST(SetokTraining, InitWithoutASemanticHeadStartsOneForAFineTune) {
  // A model trained without semantic_weight can be fine-tuned with it (the head starts afresh);
  // only resuming a checkpoint without the head is refused (PauseAndResumeContinueBitForBit).
  FineTuneFixture f;
  SetokTrainConfig c = f.tuned("tuned", 3);
  c.extras.semantic_weight = 1.0;
  std::vector<double> acc;
  ProgressWriter p(ProgressMode::kNone, [&](const nlohmann::json& e) {
    if (e["event"] == "step") acc.push_back(e.at("semantic_acc").get<double>());
  });
  TrainSummary tuned = train_setok(c, "", p, &f.data);
  EXPECT_EQ(tuned.steps_done, 3);
  EXPECT_FALSE(acc.empty()) << "the head was trained and reported";
  // The final model leaves the training-only head out, as a model trained from scratch does.
  auto text = text_weights(tuned.model_dir);
  for (const auto& [k, v] : text) EXPECT_EQ(k.rfind("semantic_head.", 0), std::string::npos) << k;
  // Its checkpoint holds the head, so the run resumes with it.
  SetokTrainConfig more = c;
  more.steps = 4;
  EXPECT_EQ(train_setok(more, f.d / "tuned/checkpoint", f.quiet, &f.data).steps_done, 1);
}

TEST(SetokTraining, MergerAbsolutePositionJoinsAModelTrainedWithoutIt) {
  // merger_absolute_position on an init model without the table: the run starts from that model's
  // weights with the table's layer drawn afresh, the layer learns, and the result (and its
  // checkpoint) has it.
  FineTuneFixture f;
  EXPECT_FALSE(io::load_weights(f.first.model_dir).count("merger.position_proj.weight"));
  SetokTrainConfig c = f.tuned("tuned", 3);
  c.finetune.merger_absolute_position = true;
  c.finetune.freeze = {"vision_model", "cluster"};
  std::vector<double> losses;
  ProgressWriter p(ProgressMode::kNone, [&](const nlohmann::json& e) {
    if (e["event"] == "step") losses.push_back(e.at("loss").get<double>());
  });
  TrainSummary tuned = train_setok(c, "", p, &f.data);
  const io::TensorMap w = io::load_weights(tuned.model_dir);
  ASSERT_TRUE(w.count("merger.position_proj.weight"));
  EXPECT_GT(w.at("merger.position_proj.weight").abs().sum().item<double>(), 0.0);
  auto cfg = io::read_json_file((std::filesystem::path(tuned.model_dir) / "config.json").string());
  EXPECT_TRUE(cfg["merger"]["absolute_position"].get<bool>());
  // Every other weight started as the init model's: the encoder, frozen here, is unchanged.
  const io::TensorMap w0 = io::load_weights(f.first.model_dir);
  for (const auto& [k, v] : w0) {
    if (k.rfind("vision_model.", 0) == 0) {
      EXPECT_TRUE(w.at(k).equal(v)) << k;
    }
  }
  ASSERT_EQ(losses.size(), 3u);
  for (double l : losses) EXPECT_TRUE(std::isfinite(l));
  SetokTrainConfig more = c;
  more.steps = 4;
  EXPECT_EQ(train_setok(more, f.d / "tuned/checkpoint", f.quiet, &f.data).steps_done, 1);
}

TEST(SetokTraining, ReinitDrawsAModuleAfreshFromTheConfig) {
  // reinit: ["detokenizer"] with init: the decoder comes from this config's model section (here
  // with other norm groups and the query position table) and its first weights are a fresh draw;
  // the rest is the init model's.
  FineTuneFixture f;
  SetokTrainConfig c = f.tuned("tuned", 1);
  c.finetune.reinit = {"detokenizer"};
  c.finetune.freeze = {"vision_model", "cluster", "merger"};
  c.model.detokenizer.decoder_norm_groups(2).query_position(true);
  c.lr = 1e-9;  // one step that moves nothing visibly: the weights are those it started with
  TrainSummary tuned = train_setok(c, "", f.quiet, &f.data);
  auto cfg = io::read_json_file((std::filesystem::path(tuned.model_dir) / "config.json").string());
  EXPECT_EQ(cfg["detokenizer"]["decoder_norm_groups"].get<int>(), 2);
  EXPECT_TRUE(cfg["detokenizer"]["query_position"].get<bool>());
  const io::TensorMap before = io::load_weights(f.first.model_dir), after = io::load_weights(tuned.model_dir);
  EXPECT_TRUE(after.count("detokenizer.query_position_proj.weight"));
  int kept = 0, drawn = 0;
  for (const auto& [k, v] : before) {
    if (k.rfind("merger.", 0) == 0) kept += after.at(k).equal(v);
    if (k.rfind("detokenizer.", 0) == 0 && v.dim() >= 2) drawn += !at::allclose(after.at(k), v, 1e-3, 1e-4);
  }
  EXPECT_GT(kept, 10);
  EXPECT_GT(drawn, 10);
  EXPECT_THROW(SetokTrainConfig::from_json({{"reinit", {"vision_model"}}}), setok::Error);
}

TEST(SetokTraining, GrowAddsDetokenizerLayersThatStartAsTheIdentity) {
  // grow: ["detokenizer"] with one more block and one more residual block per decoder stage: the
  // init model's weights load unchanged, and the added layers start as the identity, so the grown
  // model draws the init model's pictures until training moves it (here one step at lr 1e-9).
  FineTuneFixture f;
  SetokTrainConfig c = f.tuned("grown", 1);
  c.finetune.grow = {"detokenizer"};
  c.finetune.freeze = {"vision_model", "cluster", "merger"};
  const tokenizer::DetokenizerOptions d0 = c.model.detokenizer;  // the init model's
  c.model.detokenizer.layers(d0.layers() + 1).decoder_res_blocks(d0.decoder_res_blocks() + 1);
  c.lr = 1e-9;
  TrainSummary grown = train_setok(c, "", f.quiet, &f.data);
  auto cfg = io::read_json_file((std::filesystem::path(grown.model_dir) / "config.json").string());
  EXPECT_EQ(cfg["detokenizer"]["layers"].get<int64_t>(), d0.layers() + 1);
  EXPECT_EQ(cfg["detokenizer"]["decoder_res_blocks"].get<int64_t>(), d0.decoder_res_blocks() + 1);
  const io::TensorMap before = io::load_weights(f.first.model_dir), after = io::load_weights(grown.model_dir);
  EXPECT_GT(after.size(), before.size());
  for (const auto& [k, v] : before) EXPECT_TRUE(at::allclose(after.at(k), v, 1e-4, 1e-6)) << k;
  const std::string added_block = "detokenizer.blocks." + std::to_string(d0.layers()) + ".cross_attn.proj.weight";
  ASSERT_TRUE(after.count(added_block));
  EXPECT_LT(after.at(added_block).abs().max().item<double>(), 1e-6);

  {
    tokenizer::SetokModel a = tokenizer::load_setok(f.first.model_dir), b = tokenizer::load_setok(grown.model_dir);
    a->eval();
    b->eval();
    at::NoGradGuard ng;
    std::vector<at::Tensor> px;
    for (std::size_t i = 0; i < 4; ++i) px.push_back(f.data.get(i).pixels);
    const at::Tensor pixels = at::stack(px);
    const tokenizer::Tokenized t = a->tokenize(pixels);
    const at::Tensor ra = a->reconstruct(pixels, t), rb = b->reconstruct(pixels, t);
    EXPECT_TRUE(at::allclose(ra, rb, 1e-4, 1e-5)) << (ra - rb).abs().max().item<double>();
  }

  // ... and then they learn: a few steps at a normal rate move the added layers off zero.
  SetokTrainConfig more = f.tuned("grown-more", 3);
  more.finetune.grow = c.finetune.grow;
  more.finetune.freeze = c.finetune.freeze;
  more.model.detokenizer = c.model.detokenizer;
  EXPECT_GT(
      io::load_weights(train_setok(more, "", f.quiet, &f.data).model_dir).at(added_block).abs().max().item<double>(),
      1e-5);

  // Only depth may change, and only up; grow and reinit of one module, or another module, are refused.
  SetokTrainConfig wider = f.tuned("wider", 1);
  wider.finetune.grow = {"detokenizer"};
  wider.model.detokenizer.dim(d0.dim() * 2);
  EXPECT_THROW(train_setok(wider, "", f.quiet, &f.data), setok::Error);
  EXPECT_THROW(SetokTrainConfig::from_json({{"grow", {"merger"}}}), setok::Error);
  SetokTrainConfig no_init = tiny_config(f.d / "no-init", 1);
  no_init.finetune.grow = {"detokenizer"};
  EXPECT_THROW(train_setok(no_init, "", f.quiet, &f.data), setok::Error) << "grow without a model to grow";
  EXPECT_THROW(SetokTrainConfig::from_json({{"grow", {"detokenizer"}}, {"reinit", {"detokenizer"}}}), setok::Error);
}

TEST(SetokTraining, FrozenModulesKeepTheirWeightsWhileTheRestLearns) {
  FineTuneFixture f;
  SetokTrainConfig c = f.tuned("tuned", 3);
  c.finetune.freeze = {"vision_model", "cluster"};
  TrainSummary tuned = train_setok(c, "", f.quiet, &f.data);
  const io::TensorMap before = io::load_weights(f.first.model_dir), after = io::load_weights(tuned.model_dir);
  int frozen = 0, moved = 0;
  for (const auto& [k, v] : before) {
    const bool same = after.at(k).equal(v);
    if (k.rfind("vision_model.", 0) == 0 || k.rfind("cluster.", 0) == 0) {
      EXPECT_TRUE(same) << k;
      ++frozen;
    } else if (k.rfind("merger.", 0) == 0 && !same) {
      ++moved;
    }
  }
  EXPECT_GT(frozen, 10);
  EXPECT_GT(moved, 10) << "the merger learns";
  try {
    SetokTrainConfig::from_json({{"freeze", {"encoder"}}});
    ADD_FAILURE() << "an unknown module was accepted";
  } catch (const setok::Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown module 'encoder'"), std::string::npos) << e.what();
  }
}

TEST(SetokTraining, TextSideAloneLearnsAgainstFrozenTokens) {
  // Every module of the tokenizer frozen and neither the picture nor the decoder's masks weighed:
  // only the text encoder (and the temperature) learn, against the tokens as they are, and the
  // stage draws nothing (its reconstruction loss is 0 at every step).
  FineTuneFixture f;
  SetokTrainConfig c = f.text_stage("text", 3);
  std::vector<double> rec;
  ProgressWriter p(ProgressMode::kNone, [&](const nlohmann::json& e) {
    if (e["event"] == "step") rec.push_back(e.at("loss_rec").get<double>());
  });
  TrainSummary tuned = train_setok(c, "", p, &f.data);
  ASSERT_EQ(rec.size(), 3u);
  for (double r : rec) EXPECT_EQ(r, 0.0);
  const io::TensorMap before = io::load_weights(f.first.model_dir), after = io::load_weights(tuned.model_dir);
  for (const auto& [k, v] : before) EXPECT_TRUE(after.at(k).equal(v)) << k;
  const io::TensorMap text0 = text_weights(f.first.model_dir), text1 = text_weights(tuned.model_dir);
  int moved = 0;
  for (const auto& [k, v] : text0) moved += !text1.at(k).equal(v);
  EXPECT_GT(moved, 5) << "the text encoder learns";
}

TEST(SetokTraining, TokenHeadLearnsOnFrozenTokensTravelsWithTheModelAndScoresItsConcepts) {
  // A head added to a trained model in a text-side stage (the tokenizer frozen): it learns, is
  // saved with the model and named in its config, a later fine-tune keeps it, and the evaluator's
  // concept scores go through it.
  FineTuneFixture f;
  SetokTrainConfig c = f.text_stage("head", 40);
  c.extras.concept_head = 16;
  TrainSummary tuned = train_setok(c, "", f.quiet, &f.data);
  const std::filesystem::path dir = tuned.model_dir;
  const nlohmann::json cfg = io::read_json_file((dir / "config.json").string());
  EXPECT_EQ(cfg["concept"]["token_head"]["hidden"], 16);
  io::TensorMap text = text_weights(dir.string());
  ASSERT_TRUE(text.count("token_head.fc2.weight"));
  EXPECT_GT(text.at("token_head.fc2.weight").abs().max().item<double>(), 0.0) << "the head left the identity";
  const io::TensorMap before = io::load_weights(f.first.model_dir), after = io::load_weights(dir.string());
  for (const auto& [k, v] : before) EXPECT_TRUE(after.at(k).equal(v)) << k;

  eval::SetokEvalOptions eo;
  tokenizer::SetokModel model = tokenizer::load_setok(dir.string());
  const nlohmann::json scored = eval::evaluate_setok(model, dir.string(), f.data, eo);
  EXPECT_EQ(scored["concept_token_head"], 16);
  EXPECT_GT(scored["concept_top1"].get<double>(), 0.5) << "three colours; chance is a third";

  // A head whose output is one vector whatever the token: every object gets the same class, so the
  // evaluator must score through the head for this to show.
  const std::filesystem::path broken = f.d / "broken";
  std::filesystem::create_directories(broken);
  std::filesystem::copy(dir, broken, std::filesystem::copy_options::recursive);
  io::TensorMap bt = text;
  bt["token_head.fc2.weight"] = at::zeros_like(bt.at("token_head.fc2.weight"));
  bt["token_head.fc2.bias"] = at::randn(bt.at("token_head.fc2.bias").sizes()) * 1e4;
  io::save_safetensors((broken / "text_encoder.safetensors").string(), bt);
  const nlohmann::json constant = eval::evaluate_setok(model, broken.string(), f.data, eo);
  int picked = 0;
  for (const auto& [label, e] : constant["concept_per_class"].items()) {
    const double t = e["top1"].get<double>();
    EXPECT_TRUE(t == 0.0 || t == 1.0) << label << " " << t;
    picked += t == 1.0;
  }
  EXPECT_LE(picked, 1);
  EXPECT_LT(constant["concept_top1"].get<double>(), scored["concept_top1"].get<double>());

  // A fine-tune from it without naming a head keeps the head (at a vanishing rate, to the bit
  // of what was loaded); one naming another width is refused.
  SetokTrainConfig more = tiny_config(f.d / "more", 1);
  more.finetune.init = dir.string();
  more.lr = 1e-12;
  TrainSummary kept = train_setok(more, "", f.quiet, &f.data);
  io::TensorMap text2 = text_weights(kept.model_dir);
  ASSERT_TRUE(text2.count("token_head.fc1.weight"));
  EXPECT_TRUE(at::allclose(text2.at("token_head.fc1.weight"), text.at("token_head.fc1.weight"), 1e-5, 1e-7));
  more.extras.concept_head = 8;
  more.out = f.d / "other";
  try {
    train_setok(more, "", f.quiet, &f.data);
    ADD_FAILURE() << "a head of another width was accepted";
  } catch (const setok::Error& e) {
    EXPECT_NE(std::string(e.what()).find("concept_head"), std::string::npos) << e.what();
  }
  // A config that names a head whose tensors are missing: one clear error from the evaluator.
  text.erase("token_head.fc1.weight");
  text.erase("token_head.fc1.bias");
  text.erase("token_head.fc2.weight");
  text.erase("token_head.fc2.bias");
  text.erase("token_head.norm.weight");
  text.erase("token_head.norm.bias");
  io::save_safetensors((broken / "text_encoder.safetensors").string(), text);
  EXPECT_THROW(eval::evaluate_setok(model, broken.string(), f.data, eo), setok::Error);
  // Its checkpoint holds the head, so the run resumes with it; a checkpoint trained without one
  // is not resumed with one (its optimiser state has no place for it).
  SetokTrainConfig resumed = c;
  resumed.steps = 41;
  EXPECT_EQ(train_setok(resumed, f.d / "head/checkpoint", f.quiet, &f.data).steps_done, 1);
  SetokTrainConfig first_again = tiny_config(f.d / "first", 3);
  first_again.extras.concept_head = 16;
  try {
    train_setok(first_again, f.d / "first/checkpoint", f.quiet, &f.data);
    ADD_FAILURE() << "a checkpoint without a head was resumed with one";
  } catch (const setok::Error& e) {
    EXPECT_NE(std::string(e.what()).find("no token head"), std::string::npos) << e.what();
  }
}

TEST(SetokTraining, EncoderLearningRateScaleSlowsOnlyTheEncoder) {
  // Two fine-tunes of one model, the same but for encoder_lr_scale: at 0.01 the vision encoder's
  // weights move about a hundredth as far as at 1 (AdamW steps scale with the rate), the merger's
  // as far.
  FineTuneFixture f;
  auto tune = [&](const char* name, double scale) {
    SetokTrainConfig c = f.tuned(name, 3);
    c.finetune.encoder_lr_scale = scale;
    return io::load_weights(train_setok(c, "", f.quiet, &f.data).model_dir);
  };
  const io::TensorMap before = io::load_weights(f.first.model_dir), full = tune("full", 1.0), slow = tune("slow", 0.01);
  auto moved = [&](const io::TensorMap& after, const std::string& prefix) {
    double sum = 0;
    for (const auto& [k, v] : before)
      if (k.rfind(prefix, 0) == 0) sum += (after.at(k).to(at::kDouble) - v.to(at::kDouble)).abs().sum().item<double>();
    return sum;
  };
  const double enc_full = moved(full, "vision_model."), enc_slow = moved(slow, "vision_model.");
  const double merger_full = moved(full, "merger."), merger_slow = moved(slow, "merger.");
  ASSERT_GT(enc_full, 0);
  ASSERT_GT(merger_full, 0);
  EXPECT_LT(enc_slow, 0.05 * enc_full) << "the encoder at a hundredth of the rate";
  EXPECT_GT(merger_slow, 0.5 * merger_full) << "the merger at the full rate";
  EXPECT_LT(merger_slow, 2.0 * merger_full);
  EXPECT_THROW(SetokTrainConfig::from_json({{"encoder_lr_scale", 0.0}}), setok::Error);
}

TEST(SetokTraining, DecoderMaskLossTeachesTheDecoderWhereTokensLie) {
  // A broadcast detokenizer trained on its masks alone (no reconstruction, no concept loss) learns
  // to put each place under the token that the clustering gave it.
  test::TempDir d;
  test::ToyScenes data(64);
  SetokTrainConfig c = tiny_config(d / "run", 40);
  c.model.detokenizer.broadcast(true).broadcast_hidden(32);
  c.objective.rec_weight = 0.0;
  c.objective.concept_weight = 0.0;
  c.extras.decoder_mask_weight = 1.0;
  c.finetune.freeze = {"vision_model", "cluster"};  // a fixed grouping to learn
  const std::vector<double> loss = train_recording(c, data, "loss_decoder_mask");
  ASSERT_EQ(loss.size(), 40u);
  const double first = mean_over(loss, 0, 5), last = mean_over(loss, 35, 40);
  EXPECT_GT(first, 0.0);
  EXPECT_LT(last, 0.7 * first) << "first " << first << ", last " << last;
  // Without a broadcast detokenizer the loss has no masks to score: refused before training.
  SetokTrainConfig plain = tiny_config(d / "plain", 1);
  plain.extras.decoder_mask_weight = 1.0;
  ProgressWriter quiet(ProgressMode::kNone);
  try {
    train_setok(plain, "", quiet, &data);
    ADD_FAILURE() << "trained decoder masks without a broadcast detokenizer";
  } catch (const setok::Error& e) {
    EXPECT_NE(std::string(e.what()).find("broadcast"), std::string::npos) << e.what();
  }
}

TEST(SetokTraining, SemanticLossTeachesPatchesTheirObjectsLabels) {
  // The toy world's labels are the squares' colours; the head over the encoder's patch features
  // must classify the patches of objects well above chance (1/3) within a few dozen steps, and
  // from the patches alone (no reconstruction, no concept loss).
  test::TempDir d;
  test::ToyScenes data(64);
  SetokTrainConfig c = tiny_config(d / "run", 40);
  c.objective.rec_weight = 0.0;
  c.objective.concept_weight = 0.0;
  c.extras.semantic_weight = 1.0;
  const std::vector<double> acc = train_recording(c, data, "semantic_acc");
  ASSERT_EQ(acc.size(), 40u);
  EXPECT_GT(mean_over(acc, 30, 40), 0.8) << "object-patch accuracy over the last 10 steps (first 5: "
                                         << mean_over(acc, 0, 5) << ")";
  EXPECT_THROW(SetokTrainConfig::from_json({{"semantic_weight", -1}}), setok::Error);
}

TEST(SetokTraining, StopsOnNonFiniteLossKeepingTheLastCheckpoint) {
  test::TempDir d;
  test::ToyScenes bad(16, /*poison=*/true);
  ProgressWriter quiet(ProgressMode::kNone);
  try {
    train_setok(tiny_config(d / "run", 5), "", quiet, &bad);
    FAIL() << "trained through NaN";
  } catch (const setok::Error& e) {
    EXPECT_NE(std::string(e.what()).find("not finite"), std::string::npos) << e.what();
  }
  EXPECT_THROW(SetokTrainConfig::from_json({{"steps", 0}}), setok::Error);
  EXPECT_THROW(SetokTrainConfig::from_json({{"lr", "fast"}}), setok::Error);
}

TEST(SetokTraining, ConceptLossTeachesTokensTheirObjectsLabels) {
  // The toy world's labels are the squares' colours: a token that holds one square can be told
  // apart at a glance, so the concept head must get well above chance (1/3) in a few steps.
  test::TempDir d;
  test::ToyScenes data(64);
  SetokTrainConfig c = tiny_config(d / "run", 60);
  c.objective.rec_weight = 0.0;
  const std::vector<double> acc = train_recording(c, data, "concept_acc");
  ASSERT_EQ(acc.size(), 60u);
  EXPECT_GT(mean_over(acc, 50, 60), 0.8) << "concept accuracy over the last 10 steps";
}

TEST(SetokTraining, ObjectBandwidthClustersAboutOneTokenPerObject) {
  // From the same start and batches, training with object_bandwidth logs token counts nearer to
  // objects + 1 than the paper's automatic bandwidth, and logs the bandwidth it used.
  auto run = [](bool on, std::vector<double>* tokens, std::vector<double>* bandwidths) {
    test::TempDir d;
    test::ToyScenes data(32);
    ProgressWriter p(ProgressMode::kNone, [&](const nlohmann::json& e) {
      if (e["event"] != "step") return;
      tokens->push_back(e["tokens_per_image"].get<double>());
      bandwidths->push_back(e["bandwidth"].get<double>());
    });
    SetokTrainConfig c = tiny_config(d / "run", 4);
    c.extras.object_bandwidth = on;
    train_setok(c, "", p, &data);
  };
  std::vector<double> off_tokens, off_bw, on_tokens, on_bw;
  run(false, &off_tokens, &off_bw);
  run(true, &on_tokens, &on_bw);
  ASSERT_EQ(on_tokens.size(), 4u);
  ASSERT_EQ(off_tokens.size(), 4u);
  test::ToyScenes data(32);
  double objects = 0;
  for (std::size_t i = 0; i < data.size(); ++i) objects += static_cast<double>(data.get(i).labels.size()) + 1;
  objects /= static_cast<double>(data.size());
  double err_on = 0, err_off = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    err_on += std::abs(on_tokens[i] - objects);
    err_off += std::abs(off_tokens[i] - objects);
    EXPECT_GE(on_bw[i], 0.05 - 1e-6);
    EXPECT_LE(on_bw[i], 5.0 + 1e-6);
  }
  EXPECT_LT(err_on, err_off) << "objects + 1 per image: " << objects;
  EXPECT_LT(err_on / 4, 1.0) << "tokens per image at steps 1 and 4: " << on_tokens[0] << ", " << on_tokens[3]
                             << " (objects + 1: " << objects << ")";
  EXPECT_TRUE(SetokTrainConfig::from_json({{"object_bandwidth", true}}).extras.object_bandwidth);
}
