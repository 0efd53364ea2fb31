// setok train setok and setok eval setok end to end, on a small generated scenes world.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/io/safetensors.h"
#include "tests/support/run_process.h"
#include "tests/support/toy_scenes.h"

using namespace setok::test;

namespace {
ProcessResult setok_cli(const std::string& args) { return run_command(shell_quote(SETOK_CLI) + " " + args, 600); }

std::vector<nlohmann::json> json_lines(const std::string& out) {
  std::vector<nlohmann::json> v;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) v.push_back(nlohmann::json::parse(line));
  return v;
}

struct TrainCli : ::testing::Test {
  static void SetUpTestSuite() {
    dir = new TempDir();
    auto r = setok_cli("data scenes --out " + shell_quote(*dir / "data") +
                       " --count 16 --seed 3 --split train --size 64 --no-edits");
    ASSERT_EQ(r.rc, 0) << r.err;
    nlohmann::json cfg = {{"model", ToyScenes::tiny_model().to_json()},
                          {"train_data", *dir / "data"},
                          {"out", *dir / "run"},
                          {"batch_size", 4},
                          {"steps", 4},
                          {"warmup_steps", 1},
                          {"checkpoint_every", 2},
                          {"log_every", 1},
                          {"grouping_weight", 0.5},
                          {"text_encoder", {{"dim", 32}, {"layers", 1}, {"heads", 2}}}};
    write_bytes(*dir / "cfg.json", cfg.dump());
  }
  static void TearDownTestSuite() { delete dir; }
  static TempDir* dir;
};
TempDir* TrainCli::dir = nullptr;
}  // namespace

TEST_F(TrainCli, TrainsWithJsonProgressThenEvaluates) {
  auto r = setok_cli("train setok --config " + shell_quote(*dir / "cfg.json") + " --progress jsonl");
  ASSERT_EQ(r.rc, 0) << r.err;
  auto events = json_lines(r.out);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front()["event"], "start");
  EXPECT_EQ(events.back()["event"], "done");
  int steps = 0, checkpoints = 0;
  for (const auto& e : events) {
    steps += e["event"] == "step";
    checkpoints += e["event"] == "checkpoint";
  }
  EXPECT_EQ(steps, 4);
  EXPECT_EQ(checkpoints, 2);
  EXPECT_TRUE(std::filesystem::exists(*dir / "run/model/model.safetensors"));

  auto ev = setok_cli("eval setok -m " + shell_quote(*dir / "run/model") + " --data " + shell_quote(*dir / "data") +
                      " --json");
  ASSERT_EQ(ev.rc, 0) << ev.err;
  auto j = nlohmann::json::parse(ev.out);
  EXPECT_EQ(j["images"], 16);
  EXPECT_GT(j["psnr_db"].get<double>(), 0.0);
  EXPECT_GE(j["concept_top1"].get<double>(), 0.0);
  EXPECT_LE(j["concept_top1"].get<double>(), 1.0);
  // The per-class figures add up to the overall ones, and a miss names a class of the model.
  double objects = 0, right = 0;
  for (const auto& [label, c] : j["concept_per_class"].items()) {
    objects += c["objects"].get<double>();
    right += c["top1"].get<double>() * c["objects"].get<double>();
    if (c["top1"].get<double>() < 1.0) {
      EXPECT_TRUE(c["confused_with"].is_string()) << label;
    } else {
      EXPECT_TRUE(c["confused_with"].is_null()) << label;
    }
  }
  EXPECT_EQ(objects, j["concept_objects"].get<double>());
  EXPECT_NEAR(right / objects, j["concept_top1"].get<double>(), 1e-9);
  // So do the figures by object area, whose buckets rise from 0 patches.
  double by_area = 0, right_by_area = 0, from = -1;
  for (const auto& a : j["concept_by_area"]) {
    EXPECT_GT(a["patches_from"].get<double>(), from);
    from = a["patches_from"].get<double>();
    by_area += a["objects"].get<double>();
    right_by_area += a["top1"].get<double>() * a["objects"].get<double>();
  }
  EXPECT_EQ(by_area, objects);
  EXPECT_NEAR(right_by_area / by_area, j["concept_top1"].get<double>(), 1e-9);
  EXPECT_GE(j["tokens_per_image"].get<double>(), 1.0);
  EXPECT_TRUE(j.contains("fg_ari"));
  EXPECT_TRUE(j.contains("miou"));
}

TEST_F(TrainCli, PausesAndResumes) {
  auto r = setok_cli("train setok --config " + shell_quote(*dir / "cfg.json") + " --out " + shell_quote(*dir / "p") +
                     " --stop-at 2 --progress jsonl");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(json_lines(r.out).back()["event"], "paused");
  auto c = setok_cli("train setok --config " + shell_quote(*dir / "cfg.json") + " --out " + shell_quote(*dir / "p") +
                     " --resume " + shell_quote(*dir / "p/checkpoint") + " --progress jsonl");
  ASSERT_EQ(c.rc, 0) << c.err;
  auto ev = json_lines(c.out);
  EXPECT_EQ(ev.front()["step"], 2);
  EXPECT_EQ(ev.back()["event"], "done");
}

TEST_F(TrainCli, BadConfigOrDataIsOneLine) {
  write_bytes(*dir / "bad.json", "{\"steps\": -3}");
  for (std::string args :
       {"train setok --config " + shell_quote(*dir / "bad.json"),
        "train setok --config " + shell_quote(*dir / "absent.json"),
        "train setok --config " + shell_quote(*dir / "cfg.json") + " --data " + shell_quote(*dir / "nowhere"),
        "eval setok -m " + shell_quote(*dir / "nowhere") + " --data " + shell_quote(*dir / "data")}) {
    SCOPED_TRACE(args);
    auto r = setok_cli(args);
    EXPECT_EQ(r.rc, 1) << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_EQ(r.err.rfind("setok: ", 0), 0u) << r.err;
  }
}

TEST_F(TrainCli, SetOverridesTheConfigAndTheModelIsCalibratedOnValidation) {
  auto r =
      setok_cli("train setok --config " + shell_quote(*dir / "cfg.json") + " --out " + shell_quote(*dir / "s") +
                " --set steps=2 --set model.merger.use_position=false --set val_data=" + shell_quote(*dir / "data") +
                " --progress jsonl");
  ASSERT_EQ(r.rc, 0) << r.err;
  auto events = json_lines(r.out);
  int steps = 0;
  nlohmann::json calibrated;
  for (const auto& e : events) {
    steps += e["event"] == "step";
    if (e["event"] == "calibrated") calibrated = e;
  }
  EXPECT_EQ(steps, 2);
  ASSERT_FALSE(calibrated.is_null()) << r.out;
  auto cfg = nlohmann::json::parse(read_bytes(*dir / "s/model/config.json"));
  EXPECT_FALSE(cfg["merger"]["use_position"].get<bool>());
  EXPECT_NEAR(cfg["cluster"]["bandwidth"].get<double>(), calibrated["bandwidth"].get<double>(), 1e-6);
  EXPECT_NEAR(cfg["cluster"]["beta"].get<double>(), calibrated["beta"].get<double>(), 1e-6);
  EXPECT_TRUE(cfg.contains("concept"));

  // The same choice again from the calibrate command, dry run: nothing changes on disk.
  auto c = setok_cli("calibrate -m " + shell_quote(*dir / "s/model") + " --data " + shell_quote(*dir / "data") +
                     " --split train --dry-run --json");
  ASSERT_EQ(c.rc, 0) << c.err;
  auto j = nlohmann::json::parse(c.out);
  EXPECT_FALSE(j["written"].get<bool>());
  EXPECT_EQ(j["grid"].size(), 40u);
  EXPECT_NEAR(j["bandwidth"].get<double>(), calibrated["bandwidth"].get<double>(), 1e-6);
  EXPECT_EQ(nlohmann::json::parse(read_bytes(*dir / "s/model/config.json")), cfg);

  for (std::string bad : {"--set steps", "--set =3", "--set model.cluster.max_tokens=0"}) {
    SCOPED_TRACE(bad);
    auto b = setok_cli("train setok --config " + shell_quote(*dir / "cfg.json") + " --out " + shell_quote(*dir / "b") +
                       " " + bad);
    EXPECT_EQ(b.rc, 1) << b.err;
    EXPECT_EQ(count_lines(b.err), 1) << b.err;
  }
}

TEST_F(TrainCli, ConvertsAModelToHalfPrecisionThatEvaluatesTheSame) {
  auto t = setok_cli("train setok --config " + shell_quote(*dir / "cfg.json") + " --out " + shell_quote(*dir / "run") +
                     " --steps 2 --progress none");
  ASSERT_EQ(t.rc, 0) << t.err;
  auto r = setok_cli("convert -m " + shell_quote(*dir / "run/model") + " --out " + shell_quote(*dir / "half") +
                     " --dtype f16 --json");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto full_bytes = std::filesystem::file_size(*dir / "run/model/model.safetensors");
  const auto half_bytes = std::filesystem::file_size(*dir / "half/model.safetensors");
  EXPECT_LT(half_bytes, full_bytes * 6 / 10);
  EXPECT_TRUE(std::filesystem::exists(*dir / "half/text_encoder.safetensors"));
  auto ev = [&](const std::string& m) {
    auto e = setok_cli("eval setok -m " + shell_quote(m) + " --data " + shell_quote(*dir / "data") + " --json");
    EXPECT_EQ(e.rc, 0) << e.err;
    return nlohmann::json::parse(e.out);
  };
  auto a = ev(*dir / "run/model"), b = ev(*dir / "half");
  EXPECT_NEAR(a["psnr_db"].get<double>(), b["psnr_db"].get<double>(), 0.05);
  EXPECT_NEAR(a["tokens_per_image"].get<double>(), b["tokens_per_image"].get<double>(), 0.25);
  auto same = setok_cli("convert -m " + shell_quote(*dir / "run/model") + " --out " + shell_quote(*dir / "run/model") +
                        " --dtype f16");
  EXPECT_EQ(same.rc, 1);
  EXPECT_EQ(count_lines(same.err), 1) << same.err;
}

// SetokimStagesTrainResumeExactlyAndLearn, step by step: each step checks one thing, and they run in
// order, later ones starting from what earlier ones wrote (mllm.json, the tok, s1 and s8 models).
namespace {

// A SeTok to read images with, and the SeTokim config: stage I (captions + text), then stage II
// (conversations).
void write_setokim_config(const TempDir& dir) {
  auto s = setok_cli("train setok --config " + shell_quote(dir / "cfg.json") + " --out " + shell_quote(dir / "tok") +
                     " --steps 2 --progress none");
  ASSERT_EQ(s.rc, 0) << s.err;
  nlohmann::json cfg = {{"setok_model", dir / "tok/model"},
                        {"text_config", ToyScenes::tiny_text_config()},
                        {"tokenizer_vocab", 400},
                        {"captions", dir / "data/annotations/captions_train.json"},
                        {"conversations", dir / "data/annotations/llava_train.json"},
                        {"batch_size", 4},
                        {"steps", 4},
                        {"warmup_steps", 1},
                        {"checkpoint_every", 0},
                        {"log_every", 1},
                        {"lr", 3e-3}};
  write_bytes(dir / "mllm.json", cfg.dump());
}

// Stage I trains; paused at 2 and resumed, it ends with the same weights as straight through.
void stage_one_trains_and_resumes_exactly(const TempDir& dir) {
  auto a = setok_cli("train mllm --stage 1 --config " + shell_quote(dir / "mllm.json") + " --out " +
                     shell_quote(dir / "s1") + " --progress jsonl");
  ASSERT_EQ(a.rc, 0) << a.err;
  auto events = json_lines(a.out);
  EXPECT_EQ(events.front()["event"], "start");
  EXPECT_EQ(events.back()["event"], "done");
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.model"})
    EXPECT_TRUE(std::filesystem::exists(dir / ("s1/model/" + std::string(f)))) << f;
  auto p = setok_cli("train mllm --stage 1 --config " + shell_quote(dir / "mllm.json") + " --out " +
                     shell_quote(dir / "p1") + " --stop-at 2 --progress none");
  ASSERT_EQ(p.rc, 0) << p.err;
  auto r = setok_cli("train mllm --stage 1 --config " + shell_quote(dir / "mllm.json") + " --out " +
                     shell_quote(dir / "p1") + " --resume " + shell_quote(dir / "p1/checkpoint") + " --progress none");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(read_bytes(dir / "p1/model/model.safetensors"), read_bytes(dir / "s1/model/model.safetensors"));
}

// Stage II from stage I: answers only; the loss falls on a small set it can memorise. *whole: the
// run's start event.
void stage_two_learns(const TempDir& dir, nlohmann::json* whole) {
  auto b = setok_cli("train mllm --stage 2 --config " + shell_quote(dir / "mllm.json") + " --out " +
                     shell_quote(dir / "s2") + " --set init=" + shell_quote(dir / "s1/model") +
                     " --steps 40 --progress jsonl");
  ASSERT_EQ(b.rc, 0) << b.err;
  std::vector<double> loss;
  for (const auto& e : json_lines(b.out))
    if (e["event"] == "step") loss.push_back(e["loss"].get<double>());
  ASSERT_EQ(loss.size(), 40u);
  const double first = (loss[0] + loss[1] + loss[2]) / 3, last = (loss[37] + loss[38] + loss[39]) / 3;
  EXPECT_LT(last, 0.7 * first) << first << " -> " << last;
  *whole = json_lines(b.out).front();
}

// split_turns: one example per question–answer pair instead of one per conversation.
void split_turns_gives_more_examples(const TempDir& dir, const nlohmann::json& whole) {
  auto split = setok_cli("train mllm --stage 2 --config " + shell_quote(dir / "mllm.json") + " --out " +
                         shell_quote(dir / "s3") + " --set init=" + shell_quote(dir / "s1/model") +
                         " --set split_turns=true --steps 1 --progress jsonl");
  ASSERT_EQ(split.rc, 0) << split.err;
  auto split_start = json_lines(split.out).front();
  ASSERT_EQ(split_start["event"], "start");
  EXPECT_GT(split_start["examples"].get<int>(), 3 * whole["examples"].get<int>());
}

// LoRA on the language model: pause and resume continue exactly (the adapters travel in the
// checkpoint), and the final model is a plain SeTokim with the adapters merged.
void lora_resumes_exactly_and_merges(const TempDir& dir) {
  const std::string lora = " --set init=" + shell_quote(dir / "s1/model") + " --set " +
                           shell_quote("lora={\"rank\": 4, \"targets\": [\"q_proj\", \"v_proj\"]}");
  auto l1 = setok_cli("train mllm --stage 2 --config " + shell_quote(dir / "mllm.json") + " --out " +
                      shell_quote(dir / "l1") + lora + " --steps 4 --progress none");
  ASSERT_EQ(l1.rc, 0) << l1.err;
  auto l2 = setok_cli("train mllm --stage 2 --config " + shell_quote(dir / "mllm.json") + " --out " +
                      shell_quote(dir / "l2") + lora + " --steps 4 --stop-at 2 --progress none");
  ASSERT_EQ(l2.rc, 0) << l2.err;
  EXPECT_TRUE(std::filesystem::exists(dir / "l2/checkpoint/lora.safetensors"));
  auto l3 = setok_cli("train mllm --stage 2 --config " + shell_quote(dir / "mllm.json") + " --out " +
                      shell_quote(dir / "l2") + lora + " --steps 4 --resume " + shell_quote(dir / "l2/checkpoint") +
                      " --progress none");
  ASSERT_EQ(l3.rc, 0) << l3.err;
  EXPECT_EQ(read_bytes(dir / "l2/model/model.safetensors"), read_bytes(dir / "l1/model/model.safetensors"));
  EXPECT_FALSE(std::filesystem::exists(dir / "l1/model/lora.safetensors"));
  EXPECT_NE(read_bytes(dir / "l1/model/model.safetensors"), read_bytes(dir / "s1/model/model.safetensors"));
  auto chat = setok_cli("chat -m " + shell_quote(dir / "l1/model") + " --max-tokens 2 hello");
  EXPECT_EQ(chat.rc, 0) << chat.err;
}

// Freezing parts of the SeTok: the merger then trains with the language model (more trainable
// parameters than with the whole SeTok frozen, fewer than all).
void freezing_part_of_setok_trains_the_rest(const TempDir& dir, const nlohmann::json& whole) {
  auto part = setok_cli("train mllm --stage 2 --config " + shell_quote(dir / "mllm.json") + " --out " +
                        shell_quote(dir / "s4") + " --set init=" + shell_quote(dir / "s1/model") + " --set " +
                        shell_quote("freeze=[\"setok.vision_model\", \"setok.cluster\", \"setok.detokenizer\"]") +
                        " --steps 1 --progress jsonl");
  ASSERT_EQ(part.rc, 0) << part.err;
  auto part_start = json_lines(part.out).front();
  EXPECT_GT(part_start["trainable"].get<std::int64_t>(), whole["trainable"].get<std::int64_t>());
  EXPECT_LT(part_start["trainable"].get<std::int64_t>(), part_start["parameters"].get<std::int64_t>());
}

// The vision encoder learning too (end-to-end stage II; the batch's images go through it in one
// pass): its weights move, the frozen detokenizer's do not.
void end_to_end_moves_the_vision_weights(const TempDir& dir) {
  auto e2e = setok_cli("train mllm --stage 2 --config " + shell_quote(dir / "mllm.json") + " --out " +
                       shell_quote(dir / "s7") + " --set init=" + shell_quote(dir / "s1/model") + " --set " +
                       shell_quote("freeze=[\"setok.cluster\", \"setok.detokenizer\"]") + " --steps 2 --progress none");
  ASSERT_EQ(e2e.rc, 0) << e2e.err;
  const auto before = setok::io::load_safetensors(dir / "s1/model/model.safetensors");
  const auto after = setok::io::load_safetensors(dir / "s7/model/model.safetensors");
  int vision_moved = 0, vision = 0, detok = 0;
  for (const auto& [name, t] : after) {
    if (name.rfind("setok.vision_model.", 0) == 0) {
      ++vision;
      vision_moved += at::equal(t, before.at(name)) ? 0 : 1;
    }
    if (name.rfind("setok.detokenizer.", 0) == 0) {
      ++detok;
      EXPECT_TRUE(at::equal(t, before.at(name))) << name;
    }
  }
  EXPECT_GT(vision, 0);
  EXPECT_GT(detok, 0);
  EXPECT_GT(vision_moved, vision / 2) << vision_moved << " of " << vision << " vision tensors changed";
}

// Token geometry turned on for a model trained without it: the new layer starts at zero (the
// rest of the projector as in stage I), learns, and the model answers with it.
void token_geometry_learns(const TempDir& dir) {
  auto geo =
      setok_cli("train mllm --stage 2 --config " + shell_quote(dir / "mllm.json") + " --out " +
                shell_quote(dir / "s8") + " --set init=" + shell_quote(dir / "s1/model") +
                " --set token_geometry=true --set " + shell_quote("freeze=[\"setok\"]") + " --steps 2 --progress none");
  ASSERT_EQ(geo.rc, 0) << geo.err;
  const auto s8 = setok::io::load_safetensors(dir / "s8/model/model.safetensors");
  ASSERT_TRUE(s8.count("multi_modal_projector.geometry.weight"));
  EXPECT_GT(s8.at("multi_modal_projector.geometry.weight").abs().sum().item<float>(), 0.0f);
  EXPECT_TRUE(nlohmann::json::parse(read_bytes(dir / "s8/model/config.json"))["token_geometry"].get<bool>());
  auto ask = setok_cli("chat -m " + shell_quote(dir / "s8/model") + " --image " +
                       shell_quote(dir / "data/images/train_0000000.png") + " --max-tokens 2 hello");
  EXPECT_EQ(ask.rc, 0) << ask.err;
}

// Token appearance on top of that model: its layer starts at zero and learns, the config keeps it;
// asking for another size than the init model reads is one line.
void token_appearance_learns(const TempDir& dir) {
  auto look =
      setok_cli("train mllm --stage 2 --config " + shell_quote(dir / "mllm.json") + " --out " +
                shell_quote(dir / "s9") + " --set init=" + shell_quote(dir / "s8/model") +
                " --set token_appearance=8 --set " + shell_quote("freeze=[\"setok\"]") + " --steps 2 --progress jsonl");
  ASSERT_EQ(look.rc, 0) << look.err;
  const auto s9 = setok::io::load_safetensors(dir / "s9/model/model.safetensors");
  // Everything but the frozen SeTok trains, the geometry and appearance layers included.
  std::int64_t not_setok = 0;
  for (const auto& [name, t] : s9)
    if (name.rfind("setok.", 0) != 0) not_setok += t.numel();
  auto start = nlohmann::json::parse(look.out.substr(0, look.out.find('\n')));
  EXPECT_EQ(start["event"], "start");
  EXPECT_EQ(start["trainable"].get<std::int64_t>(), not_setok);
  ASSERT_TRUE(s9.count("multi_modal_projector.appearance.weight"));
  EXPECT_EQ(s9.at("multi_modal_projector.appearance.weight").size(1), 64);
  EXPECT_GT(s9.at("multi_modal_projector.appearance.weight").abs().sum().item<float>(), 0.0f);
  EXPECT_EQ(nlohmann::json::parse(read_bytes(dir / "s9/model/config.json"))["token_appearance"].get<int>(), 8);
  auto other = setok_cli("train mllm --stage 2 --config " + shell_quote(dir / "mllm.json") + " --out " +
                         shell_quote(dir / "s10") + " --set init=" + shell_quote(dir / "s9/model") +
                         " --set token_appearance=16 --steps 1 --progress none");
  EXPECT_EQ(other.rc, 1);
  EXPECT_EQ(count_lines(other.err), 1) << other.err;
  EXPECT_NE(other.err.find("appearance"), std::string::npos) << other.err;
  auto bare = setok_cli("train mllm --stage 2 --config " + shell_quote(dir / "mllm.json") + " --out " +
                        shell_quote(dir / "s11") + " --set init=" + shell_quote(dir / "s1/model") +
                        " --set token_appearance=8 --steps 1 --progress none");
  EXPECT_EQ(bare.rc, 1);
  EXPECT_EQ(count_lines(bare.err), 1) << bare.err;
  EXPECT_NE(bare.err.find("token_geometry=true"), std::string::npos) << bare.err;
}

// An unknown part to freeze is one line.
void unknown_frozen_part_is_one_line(const TempDir& dir) {
  auto unknown = setok_cli("train mllm --stage 2 --config " + shell_quote(dir / "mllm.json") + " --out " +
                           shell_quote(dir / "s5") + " --set " + shell_quote("freeze=[\"setok.nothing\"]") +
                           " --steps 1 --progress none");
  EXPECT_EQ(unknown.rc, 1);
  EXPECT_EQ(count_lines(unknown.err), 1) << unknown.err;
}

// Another SeTok under stage I's projector and language model (setok_model beside init): the
// result reads images with the new SeTok's weights and calibration.
void another_setok_under_stage_one(const TempDir& dir) {
  auto t2 = setok_cli("train setok --config " + shell_quote(dir / "cfg.json") + " --out " + shell_quote(dir / "tok2") +
                      " --steps 2 --set seed=7 --progress none");
  ASSERT_EQ(t2.rc, 0) << t2.err;
  auto sw = setok_cli("train mllm --stage 2 --config " + shell_quote(dir / "mllm.json") + " --out " +
                      shell_quote(dir / "s6") + " --set init=" + shell_quote(dir / "s1/model") +
                      " --set setok_model=" + shell_quote(dir / "tok2/model") + " --set " +
                      shell_quote("freeze=[\"setok\"]") + " --steps 1 --progress none");
  ASSERT_EQ(sw.rc, 0) << sw.err;
  const auto tok2 = setok::io::load_safetensors(dir / "tok2/model/model.safetensors");
  const auto s1 = setok::io::load_safetensors(dir / "s1/model/model.safetensors");
  const auto s6 = setok::io::load_safetensors(dir / "s6/model/model.safetensors");
  int vision = 0, differs_from_s1 = 0;
  for (const auto& [name, t] : tok2) {
    if (name.rfind("detokenizer.", 0) == 0 && !s6.count("setok." + name)) continue;
    ASSERT_TRUE(s6.count("setok." + name)) << name;
    EXPECT_TRUE(s6.at("setok." + name).to(at::kFloat).equal(t.to(at::kFloat))) << name;
    differs_from_s1 += !s1.at("setok." + name).to(at::kFloat).equal(t.to(at::kFloat));
    ++vision;
  }
  EXPECT_GT(vision, 10);
  EXPECT_GT(differs_from_s1, 0);  // the two SeToks really differ
  EXPECT_TRUE(s6.at("multi_modal_projector.linear_1.weight").sizes() ==
              s1.at("multi_modal_projector.linear_1.weight").sizes());
  auto c6 = nlohmann::json::parse(read_bytes(dir / "s6/model/config.json"));
  auto ct = nlohmann::json::parse(read_bytes(dir / "tok2/model/config.json"));
  EXPECT_EQ(c6["setok_config"]["cluster"], ct["cluster"]);
}

// Another SeTok's detokenizer in a SeTokim's copy (`setok convert --detokenizer-from`): every other
// tensor is kept to the bit, the detokenizer's tensors and settings are the other SeTok's.
void detokenizer_swap_keeps_what_is_read(const TempDir& dir) {
  auto r = setok_cli("convert -m " + shell_quote(dir / "s1/model") + " --out " + shell_quote(dir / "sw") +
                     " --detokenizer-from " + shell_quote(dir / "tok2/model") + " --json");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto s1 = setok::io::load_safetensors(dir / "s1/model/model.safetensors");
  const auto sw = setok::io::load_safetensors(dir / "sw/model.safetensors");
  const auto tok2 = setok::io::load_safetensors(dir / "tok2/model/model.safetensors");
  int kept = 0, swapped = 0;
  for (const auto& [name, t] : sw) {
    if (name.rfind("setok.detokenizer.", 0) == 0) {
      ASSERT_TRUE(tok2.count(name.substr(6))) << name;
      EXPECT_TRUE(t.equal(tok2.at(name.substr(6)))) << name;
      ++swapped;
    } else {
      ASSERT_TRUE(s1.count(name)) << name;
      EXPECT_TRUE(t.equal(s1.at(name))) << name;
      ++kept;
    }
  }
  EXPECT_GT(kept, 10);
  EXPECT_GT(swapped, 10);
  auto cw = nlohmann::json::parse(read_bytes(dir / "sw/config.json"));
  auto ct = nlohmann::json::parse(read_bytes(dir / "tok2/model/config.json"));
  EXPECT_EQ(cw["setok_config"]["detokenizer"], ct["detokenizer"]);
  EXPECT_TRUE(std::filesystem::exists(dir / "sw/tokenizer.model"));
  for (const std::string& bad : {"convert -m " + shell_quote(dir / "s1/model") + " --out " + shell_quote(dir / "sw2"),
                                 "convert -m " + shell_quote(dir / "s1/model") + " --out " + shell_quote(dir / "sw3") +
                                     " --detokenizer-from " + shell_quote(dir / "s1/model")}) {
    auto e = setok_cli(bad);
    EXPECT_EQ(e.rc, 1) << bad;
    EXPECT_EQ(count_lines(e.err), 1) << e.err;
  }
}

// A SeTok whose tokens have another width is a one-line error.
void setok_of_another_width_is_one_line(const TempDir& dir) {
  auto wide =
      setok_cli("train setok --config " + shell_quote(dir / "cfg.json") + " --out " + shell_quote(dir / "tok3") +
                " --steps 1 --set model.merger.dim_out=48 --set model.detokenizer.token_dim=48 --progress none");
  ASSERT_EQ(wide.rc, 0) << wide.err;
  auto misfit = setok_cli("train mllm --stage 2 --config " + shell_quote(dir / "mllm.json") + " --out " +
                          shell_quote(dir / "s7") + " --set init=" + shell_quote(dir / "s1/model") +
                          " --set setok_model=" + shell_quote(dir / "tok3/model") + " --steps 1 --progress none");
  EXPECT_EQ(misfit.rc, 1);
  EXPECT_EQ(count_lines(misfit.err), 1) << misfit.err;
  EXPECT_NE(misfit.err.find("width"), std::string::npos) << misfit.err;
}

// Dropping the questions' fixed prompt from every example trains as usual, and the rules travel
// with the checkpoint's training config.
void question_rules_train_and_travel(const TempDir& dir) {
  auto plain = setok_cli(
      "train mllm --stage 2 --config " + shell_quote(dir / "mllm.json") + " --out " + shell_quote(dir / "s12") +
      " --set init=" + shell_quote(dir / "s1/model") + " --set " +
      shell_quote("drop_suffix=\"Answer with a single word or number.\"") + " --set drop_suffix_rate=1 --set " +
      shell_quote("question_rewrites=[{\"from\": \"How many\", \"to\": [\"Count the\", \"How many\"]}]") +
      " --set question_rewrite_rate=1 --steps 2 --progress none");
  EXPECT_EQ(plain.rc, 0) << plain.err;
  auto st = nlohmann::json::parse(read_bytes(dir / "s12/checkpoint/trainer_state.json"));
  EXPECT_EQ(st["train_config"]["question_rewrites"][0]["from"], "How many") << st.dump();
  EXPECT_EQ(st["train_config"]["question_rewrites"][0]["to"].size(), 2u);
  EXPECT_EQ(st["train_config"]["question_rewrite_rate"], 1.0);
}

// Bad question rewrites, rates and keys are one line each.
void bad_question_rules_are_one_line(const TempDir& dir) {
  for (const char* bad_rule :
       {"question_rewrites={\"from\": \"a\"}", "question_rewrites=[{\"from\": \"a\", \"to\": []}]",
        "question_rewrites=[{\"to\": [\"b\"]}]", "question_rewrite_rate=-0.5"}) {
    auto r = setok_cli("train mllm --stage 2 --config " + shell_quote(dir / "mllm.json") + " --out " +
                       shell_quote(dir / "s14") + " --set " + shell_quote(bad_rule) + " --steps 1 --progress none");
    EXPECT_EQ(r.rc, 1) << bad_rule;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("question_rewrite"), std::string::npos) << r.err;
  }
  auto rate = setok_cli("train mllm --stage 2 --config " + shell_quote(dir / "mllm.json") + " --out " +
                        shell_quote(dir / "s13") + " --set drop_suffix_rate=1.5 --steps 1 --progress none");
  EXPECT_EQ(rate.rc, 1);
  EXPECT_EQ(count_lines(rate.err), 1) << rate.err;
  EXPECT_NE(rate.err.find("drop_suffix_rate"), std::string::npos) << rate.err;
  auto typo = setok_cli("train mllm --stage 2 --config " + shell_quote(dir / "mllm.json") + " --out " +
                        shell_quote(dir / "s14") + " --set drop_sufix_rate=0.5 --steps 1 --progress none");
  EXPECT_EQ(typo.rc, 1);
  EXPECT_EQ(count_lines(typo.err), 1) << typo.err;
  EXPECT_NE(typo.err.find("unknown key 'drop_sufix_rate'"), std::string::npos) << typo.err;
}

// Referring requests (Stage II's [SEG]): the language model's vocabulary grows by one row for [SEG],
// the model learns to answer a request with it, and `setok chat` says why a model without a mask
// decoder draws no mask.
void referring_requests_teach_seg(const TempDir& dir) {
  auto r = setok_cli("train mllm --stage 2 --config " + shell_quote(dir / "mllm.json") + " --out " +
                     shell_quote(dir / "r1") + " --set init=" + shell_quote(dir / "s1/model") +
                     " --set referring=" + shell_quote(dir / "data/annotations/refs_train.json") +
                     " --set referring_rate=1 --steps 40 --progress jsonl");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto events = json_lines(r.out);
  EXPECT_GT(events.front()["referring_examples"].get<int>(), 16);
  std::vector<double> loss;  // every answer is [SEG] </s>: the loss falls fast
  for (const auto& e : events)
    if (e["event"] == "step") loss.push_back(e["loss"].get<double>());
  ASSERT_EQ(loss.size(), 40u);
  EXPECT_LT(loss[39], 0.5 * loss[0]) << loss[0] << " -> " << loss[39];
  const auto vocab = [&](const char* m) {
    return nlohmann::json::parse(read_bytes(dir / (std::string(m) + "/model/config.json")))["text_config"]["vocab_size"]
        .get<int>();
  };
  EXPECT_EQ(vocab("r1"), vocab("s1") + 1);
  const auto refs = nlohmann::json::parse(read_bytes(dir / "data/annotations/refs_train.json"));
  const std::string image = dir / ("data/" + refs[0]["file_name"].get<std::string>());
  const std::string sent = refs[0]["sentences"][0]["sent"].get<std::string>();
  auto chat = setok_cli("chat -m " + shell_quote(dir / "r1/model") + " --image " + shell_quote(image) + " " +
                        shell_quote("Segment " + sent + "."));
  EXPECT_EQ(chat.rc, 0) << chat.err;
  if (chat.out.find("[SEG]") != std::string::npos)  // a tiny model may still say more than [SEG]
    EXPECT_NE(chat.err.find("has no mask decoder"), std::string::npos) << chat.err;
  auto bad = setok_cli("train mllm --stage 2 --config " + shell_quote(dir / "mllm.json") + " --out " +
                       shell_quote(dir / "r2") + " --set referring_rate=0.5 --steps 1 --progress none");
  EXPECT_EQ(bad.rc, 1);
  EXPECT_EQ(count_lines(bad.err), 1) << bad.err;
}

// Generation requests (L_vis): the vocabulary grows by [SEG] and [Null], the diffusion head is saved
// beside the model, the answer's text is learnt, a stopped run resumes to the same head, and
// `setok generate` draws the same image for the same seed.
void generation_requests_teach_writing(const TempDir& dir) {
  const std::string common = "train mllm --stage 2 --config " + shell_quote(dir / "mllm.json") +
                             " --set init=" + shell_quote(dir / "s1/model") +
                             " --set generation=" + shell_quote(dir / "data/annotations/prompts_train.jsonl") +
                             " --set generation_rate=1 --set token_geometry=true --set " +
                             shell_quote(
                                 "diffusion_head={\"width\": 32, \"depth\": 1, \"train_steps\": 50, "
                                 "\"sample_steps\": 5}") +
                             " ";
  auto r = setok_cli(common + "--out " + shell_quote(dir / "g1") + " --steps 30 --progress jsonl");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto events = json_lines(r.out);
  EXPECT_EQ(events.front()["generation_examples"].get<int>(), 16);
  EXPECT_GT(events.front()["diffusion_head_parameters"].get<int>(), 1000);
  std::vector<double> text, vis;
  for (const auto& e : events)
    if (e["event"] == "step") text.push_back(e["loss_text"].get<double>()), vis.push_back(e["loss_vis"].get<double>());
  ASSERT_EQ(text.size(), 30u);
  EXPECT_LT(text[29], 0.6 * text[0]) << "the answer [Img] [/Img] </s> is not learnt";
  for (double v : vis) EXPECT_GT(v, 0.0);
  for (const char* f : {"diffusion_head.json", "diffusion_head.safetensors"})
    EXPECT_TRUE(std::filesystem::exists(dir / ("g1/model/" + std::string(f)))) << f;
  const auto vocab = [&](const char* m) {
    return nlohmann::json::parse(read_bytes(dir / (std::string(m) + "/model/config.json")))["text_config"]["vocab_size"]
        .get<int>();
  };
  EXPECT_EQ(vocab("g1"), vocab("s1") + 2);
  // Stopped at 2 and resumed: the same head and model as 4 steps straight.
  ASSERT_EQ(setok_cli(common + "--out " + shell_quote(dir / "g2") + " --steps 4 --progress none").rc, 0);
  ASSERT_EQ(setok_cli(common + "--out " + shell_quote(dir / "g3") + " --steps 4 --stop-at 2 --progress none").rc, 0);
  auto resumed = setok_cli(common + "--out " + shell_quote(dir / "g3") + " --steps 4 --resume " +
                           shell_quote(dir / "g3/checkpoint") + " --progress none");
  ASSERT_EQ(resumed.rc, 0) << resumed.err;
  for (const char* f : {"model.safetensors", "diffusion_head.safetensors"})
    EXPECT_TRUE(read_bytes(dir / ("g3/model/" + std::string(f))) == read_bytes(dir / ("g2/model/" + std::string(f))))
        << f << " differs after resuming";
  // Same seed, same picture; each image has between 1 and --max-tokens tokens.
  const std::string gen = "generate " + shell_quote("a red circle") + " -m " + shell_quote(dir / "g1/model") +
                          " --max-tokens 4 --steps 3 --json -o ";
  auto a = setok_cli(gen + shell_quote(dir / "a.png") + " --seed 3");
  ASSERT_EQ(a.rc, 0) << a.err;
  const int tokens = nlohmann::json::parse(a.out)["tokens"].get<int>();
  EXPECT_GE(tokens, 1);
  EXPECT_LE(tokens, 4);
  ASSERT_EQ(setok_cli(gen + shell_quote(dir / "b.png") + " --seed 3 --tokens " + shell_quote(dir / "b.safetensors")).rc,
            0);
  EXPECT_TRUE(read_bytes(dir / "a.png") == read_bytes(dir / "b.png")) << "the same seed drew another image";
  // The written set, drawn by the model's own SeTok from the file alone, is the same picture (f16).
  auto drawn = setok_cli("detokenize " + shell_quote(dir / "b.safetensors") + " -m " + shell_quote(dir / "g1/model") +
                         " -o " + shell_quote(dir / "c2.png") + " --json");
  ASSERT_EQ(drawn.rc, 0) << drawn.err;
  EXPECT_EQ(nlohmann::json::parse(drawn.out)["count"], tokens);
  // Batch: one image per prompt, named after its image field.
  auto batch =
      setok_cli("generate --prompts " + shell_quote(dir / "data/annotations/prompts_train.jsonl") + " -m " +
                shell_quote(dir / "g1/model") + " --max-tokens 2 --steps 2 --json --out " + shell_quote(dir / "gb"));
  ASSERT_EQ(batch.rc, 0) << batch.err;
  EXPECT_TRUE(std::filesystem::exists(dir / "gb/train_0000000.png"));
  const auto bj = nlohmann::json::parse(batch.out);
  EXPECT_EQ(bj["count"], 16);
  const auto& parts = bj["ms_per_image_parts"];
  EXPECT_LE(parts["language_model"].get<double>() + parts["diffusion_head"].get<double>() +
                parts["detokenizer"].get<double>(),
            bj["ms_per_image"].get<double>());
  EXPECT_GT(parts["diffusion_head"].get<double>(), 0.0);
  // Errors: a model without a head, an empty prompt, generation without token geometry.
  for (const std::string& bad :
       {"generate x -m " + shell_quote(dir / "s1/model") + " -o " + shell_quote(dir / "c.png"),
        "generate '' -m " + shell_quote(dir / "g1/model") + " -o " + shell_quote(dir / "c.png")}) {
    auto e = setok_cli(bad);
    EXPECT_EQ(e.rc, 1) << bad;
    EXPECT_EQ(count_lines(e.err), 1) << e.err;
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "c.png"));
  // The judge learns the world's objects, and judges the pictures g1 draws against their prompts.
  auto judge = setok_cli("train judge --data " + shell_quote(dir / "data") + " --val-split train --out " +
                         shell_quote(dir / "judge") + " --steps 30 --json");
  ASSERT_EQ(judge.rc, 0) << judge.err;
  const auto jm = nlohmann::json::parse(judge.out);
  EXPECT_GT(jm["held_out"]["objects"].get<int>(), 16);
  EXPECT_GT(jm["train"]["colour_top1"].get<double>(), 0.3);  // 8 colours: chance is 0.125
  EXPECT_TRUE(std::filesystem::exists(dir / "judge/judge.safetensors"));
  auto ev = setok_cli("eval generate -m " + shell_quote(dir / "g1/model") + " --data " + shell_quote(dir / "data") +
                      " --split train --limit 3 --steps 2 --teacher-forced --seeds 2 --judge " +
                      shell_quote(dir / "judge") + " --out " + shell_quote(dir / "drawn") + " --json");
  ASSERT_EQ(ev.rc, 0) << ev.err;
  const auto em = nlohmann::json::parse(ev.out);
  for (const char* k : {"generated", "reference_pictures", "reference_through_tokens", "teacher_forced"}) {
    EXPECT_EQ(em[k]["pictures"], 3) << k;
    EXPECT_GE(em[k]["accuracy"].get<double>(), 0.0) << k;
    EXPECT_LE(em[k]["objects_in_place"].get<double>(), em[k]["objects_found"].get<double>()) << k;
  }
  EXPECT_GT(em["teacher_forced"]["psnr_db"].get<double>(), 0.0);
  // FID-setok against the prompts' pictures, and the spread of two seeds' pictures of each prompt.
  EXPECT_GE(em["fid_setok"]["generated"].get<double>(), 0.0);
  EXPECT_EQ(em["fid_setok"]["pictures"], 3);
  EXPECT_EQ(em["diversity"]["seeds"], 2);
  EXPECT_GE(em["diversity"]["feature_distance"].get<double>(), 0.0);
  EXPECT_LE(em["diversity"]["feature_distance"].get<double>(), 2.0);
  EXPECT_TRUE(std::filesystem::exists(dir / "drawn/train_0000002.png"));
  auto no_data = setok_cli("eval generate -m " + shell_quote(dir / "g1/model") + " --data " +
                           shell_quote(dir / "nowhere") + " --judge " + shell_quote(dir / "judge"));
  EXPECT_EQ(no_data.rc, 1);
  EXPECT_EQ(count_lines(no_data.err), 1) << no_data.err;
  auto no_geometry =
      setok_cli(common + "--out " + shell_quote(dir / "g4") + " --set token_geometry=false --steps 1 --progress none");
  EXPECT_EQ(no_geometry.rc, 1);
  EXPECT_NE(no_geometry.err.find("token geometry"), std::string::npos) << no_geometry.err;
}

// Edit requests: the answer's words (keep / change / remove per input token) are learnt beside the
// new tokens' L_vis; `setok edit` keeps the tokens it does not change, and bad input is one line.
void edit_requests_teach_editing(const TempDir& dir) {
  auto data =
      setok_cli("data scenes --out " + shell_quote(dir / "edata") + " --count 8 --seed 5 --split train --size 64");
  ASSERT_EQ(data.rc, 0) << data.err;
  const std::string edits = dir / "edata/annotations/edits_train.jsonl";
  const std::string common = "train mllm --stage 2 --config " + shell_quote(dir / "mllm.json") +
                             " --set init=" + shell_quote(dir / "s1/model") + " --set edits=" + shell_quote(edits) +
                             " --set edit_rate=1 --set token_geometry=true --set " +
                             shell_quote("diffusion_head={\"width\": 32, \"depth\": 1, \"sample_steps\": 3}") + " ";
  auto r = setok_cli(common + "--out " + shell_quote(dir / "e1") + " --steps 40 --progress jsonl");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto events = json_lines(r.out);
  EXPECT_EQ(events.front()["edit_examples"].get<int>(), count_lines(read_bytes(edits)));
  std::vector<double> text;
  for (const auto& e : events)
    if (e["event"] == "step") text.push_back(e["loss_text"].get<double>());
  ASSERT_EQ(text.size(), 40u);
  EXPECT_LT(text[39], 0.6 * text[0]) << "the answer's words are not learnt";
  EXPECT_TRUE(std::filesystem::exists(dir / "e1/model/diffusion_head.safetensors"));
  // Every triplet of the file, each edit's output named after its edited image.
  auto batch =
      setok_cli("edit --edits " + shell_quote(edits) + " --images " + shell_quote(dir / "edata") + " -m " +
                shell_quote(dir / "e1/model") + " --steps 2 --max-tokens 3 --json --out " + shell_quote(dir / "eb"));
  ASSERT_TRUE(batch.rc == 0 || batch.rc == 1) << batch.err;
  const auto bj = nlohmann::json::parse(batch.out);
  int done = 0;
  std::string first_image, first_instruction;
  for (const auto& it : bj["edits"]) {
    if (it.contains("error")) {  // the only refusal: an edit the model says changes nothing
      EXPECT_NE(it["error"].get<std::string>().find("changes nothing"), std::string::npos) << it.dump();
      continue;
    }
    ++done;
    if (first_image.empty()) first_image = it["image"], first_instruction = it["instruction"];
    EXPECT_EQ(it["kept"].size() + it["changed"].size() + it["removed"].size(), it["tokens_in"].get<std::size_t>());
    EXPECT_EQ(it["tokens_out"].get<std::size_t>(), it["kept"].size() + it["written"].get<std::size_t>());
    EXPECT_TRUE(std::filesystem::exists(it["out"].get<std::string>()));
  }
  EXPECT_EQ(bj["failed"].get<int>() + done, bj["count"].get<int>());
  EXPECT_EQ(batch.rc, bj["failed"].get<int>() > 0 ? 1 : 0);
  ASSERT_GT(done, 0) << "the trained model changed nothing in any training image";
  // One edit: the same seed gives the same picture.
  const std::string one = "edit " + shell_quote(first_image) + " " + shell_quote(first_instruction) + " -m " +
                          shell_quote(dir / "e1/model") + " --steps 2 --max-tokens 3 --seed 4 -o ";
  ASSERT_EQ(setok_cli(one + shell_quote(dir / "x1.png")).rc, 0);
  ASSERT_EQ(setok_cli(one + shell_quote(dir / "x2.png")).rc, 0);
  EXPECT_TRUE(read_bytes(dir / "x1.png") == read_bytes(dir / "x2.png")) << "the same seed edited differently";
  // Bad input: an empty instruction, an unreadable image, a region mask of the wrong size, a model
  // without a diffusion head. One line, exit 1, no output.
  write_bytes(dir / "junk.png", "not an image");
  ASSERT_EQ(
      setok_cli("data scenes --out " + shell_quote(dir / "small") + " --count 1 --split train --size 32 --no-edits").rc,
      0);
  const std::string small_png = dir / "small/images/train_0000000.png";
  const std::string e1 = " -m " + shell_quote(dir / "e1/model") + " -o " + shell_quote(dir / "bad.png");
  for (const std::string& bad :
       {"edit " + shell_quote(first_image) + " ''" + e1, "edit " + shell_quote(dir / "junk.png") + " 'Remove it.'" + e1,
        "edit " + shell_quote(first_image) + " 'Remove it.' --region " + shell_quote(small_png) + e1,
        "edit " + shell_quote(first_image) + " 'Remove it.' -m " + shell_quote(dir / "s1/model") + " -o " +
            shell_quote(dir / "bad.png")}) {
    auto e = setok_cli(bad);
    EXPECT_EQ(e.rc, 1) << bad;
    EXPECT_EQ(count_lines(e.err), 1) << e.err;
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "bad.png"));
}

// Bad configs are one line.
void bad_stage_is_one_line(const TempDir& dir) {
  write_bytes(dir / "bad.json", "{\"stage\": 3}");
  auto bad = setok_cli("train mllm --config " + shell_quote(dir / "bad.json"));
  EXPECT_EQ(bad.rc, 1);
  EXPECT_EQ(count_lines(bad.err), 1) << bad.err;
}

}  // namespace

TEST_F(TrainCli, SetokimStagesTrainResumeExactlyAndLearn) {
  ASSERT_NO_FATAL_FAILURE(write_setokim_config(*dir));
  ASSERT_NO_FATAL_FAILURE(stage_one_trains_and_resumes_exactly(*dir));
  nlohmann::json whole;  // stage II's start event: its examples and trainable parameters
  ASSERT_NO_FATAL_FAILURE(stage_two_learns(*dir, &whole));
  ASSERT_NO_FATAL_FAILURE(split_turns_gives_more_examples(*dir, whole));
  ASSERT_NO_FATAL_FAILURE(generation_requests_teach_writing(*dir));
  ASSERT_NO_FATAL_FAILURE(edit_requests_teach_editing(*dir));
  ASSERT_NO_FATAL_FAILURE(referring_requests_teach_seg(*dir));
  ASSERT_NO_FATAL_FAILURE(lora_resumes_exactly_and_merges(*dir));
  ASSERT_NO_FATAL_FAILURE(freezing_part_of_setok_trains_the_rest(*dir, whole));
  ASSERT_NO_FATAL_FAILURE(end_to_end_moves_the_vision_weights(*dir));
  ASSERT_NO_FATAL_FAILURE(token_geometry_learns(*dir));
  ASSERT_NO_FATAL_FAILURE(token_appearance_learns(*dir));
  ASSERT_NO_FATAL_FAILURE(unknown_frozen_part_is_one_line(*dir));
  ASSERT_NO_FATAL_FAILURE(another_setok_under_stage_one(*dir));
  ASSERT_NO_FATAL_FAILURE(detokenizer_swap_keeps_what_is_read(*dir));
  ASSERT_NO_FATAL_FAILURE(setok_of_another_width_is_one_line(*dir));
  ASSERT_NO_FATAL_FAILURE(question_rules_train_and_travel(*dir));
  ASSERT_NO_FATAL_FAILURE(bad_question_rules_are_one_line(*dir));
  ASSERT_NO_FATAL_FAILURE(bad_stage_is_one_line(*dir));
}

// SetokimEvaluationsRunAndReportTheirFigures, step by step: every evaluation runs on one small
// stage II SeTokim (m2).
namespace {

// A small stage II SeTokim, m2, reading images with a one-step SeTok.
void train_small_setokim(const TempDir& dir) {
  auto s = setok_cli("train setok --config " + shell_quote(dir / "cfg.json") + " --out " + shell_quote(dir / "tok") +
                     " --steps 1 --progress none");
  ASSERT_EQ(s.rc, 0) << s.err;
  nlohmann::json cfg = {{"stage", 2},
                        {"setok_model", dir / "tok/model"},
                        {"text_config",
                         {{"hidden_size", 32},
                          {"intermediate_size", 64},
                          {"num_hidden_layers", 1},
                          {"num_attention_heads", 4},
                          {"num_key_value_heads", 2}}},
                        {"tokenizer_vocab", 400},
                        {"conversations", dir / "data/annotations/llava_train.json"},
                        {"batch_size", 2},
                        {"steps", 2},
                        {"checkpoint_every", 0}};
  write_bytes(dir / "m2.json", cfg.dump());
  auto t = setok_cli("train mllm --config " + shell_quote(dir / "m2.json") + " --out " + shell_quote(dir / "m2") +
                     " --progress none");
  ASSERT_EQ(t.rc, 0) << t.err;
}

// The arguments every evaluation shares: m2 on three training images, the figures as JSON.
std::string eval_args(const TempDir& dir) {
  return " -m " + shell_quote(dir / "m2/model") + " --data " + shell_quote(dir / "data") +
         " --split train --limit 3 --json";
}

// eval vqa --answers: one line per question, agreeing with the summary (*summary).
void vqa_answers_agree_with_the_summary(const TempDir& dir, const std::string& common, nlohmann::json* summary) {
  auto v = setok_cli("eval vqa" + common + " --answers " + shell_quote(dir / "vqa.jsonl"));
  ASSERT_EQ(v.rc, 0) << v.err;
  nlohmann::json& jv = *summary;
  jv = nlohmann::json::parse(v.out);
  std::ifstream in(dir / "vqa.jsonl");
  std::string line;
  int lines = 0, correct = 0;
  std::map<std::string, int> by_type;
  while (std::getline(in, line)) {
    auto q = nlohmann::json::parse(line);
    ++lines;
    correct += q["correct"].get<bool>();
    ++by_type[q["type"].get<std::string>()];
    EXPECT_FALSE(q["question"].get<std::string>().empty());
    EXPECT_NE(q["question"].get<std::string>().find('?'), std::string::npos) << line;
    EXPECT_TRUE(q["prediction"].is_string());
    EXPECT_FALSE(q["answers"].empty());
    EXPECT_TRUE(std::filesystem::exists(dir.path() / "data" / q["image"].get<std::string>())) << line;
  }
  EXPECT_EQ(lines, jv["questions"].get<int>());
  EXPECT_NEAR(static_cast<double>(correct) / lines, jv["accuracy"].get<double>(), 1e-12);
  for (const auto& [type, n] : by_type) EXPECT_EQ(n, jv["by_type"][type]["total"].get<int>()) << type;
}

// --drop-suffix: the same questions, asked without the world's fixed prompt.
void vqa_drops_the_fixed_prompt(const TempDir& dir, const std::string& common, const nlohmann::json& jv) {
  auto d = setok_cli("eval vqa" + common + " --drop-suffix " + shell_quote("Answer with a single word or number.") +
                     " --answers " + shell_quote(dir / "plain.jsonl"));
  ASSERT_EQ(d.rc, 0) << d.err;
  EXPECT_EQ(nlohmann::json::parse(d.out)["questions"], jv["questions"]);
  std::ifstream in(dir / "plain.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    const std::string q = nlohmann::json::parse(line)["question"].get<std::string>();
    EXPECT_EQ(q.find("Answer with"), std::string::npos) << q;
    EXPECT_EQ(q.back(), '?') << q;
  }
  EXPECT_EQ(lines, jv["questions"].get<int>());
}

// --answers into a folder that is not there: one line, before evaluating.
void vqa_answers_nowhere_is_one_line(const TempDir& dir, const std::string& common) {
  auto nowhere = setok_cli("eval vqa" + common + " --answers " + shell_quote(dir / "no/such/folder/a.jsonl"));
  EXPECT_EQ(nowhere.rc, 1);
  EXPECT_EQ(count_lines(nowhere.err), 1) << nowhere.err;
  EXPECT_NE(nowhere.err.find("--answers"), std::string::npos) << nowhere.err;
  EXPECT_EQ(nowhere.out, "");  // refused before evaluating
}

// The VQA summary's figures.
void vqa_figures_are_in_range(const nlohmann::json& jv) {
  EXPECT_EQ(jv["images"], 3);
  EXPECT_GT(jv["questions"].get<int>(), 3);
  EXPECT_GE(jv["accuracy"].get<double>(), 0.0);
  EXPECT_LE(jv["accuracy"].get<double>(), 1.0);
  EXPECT_TRUE(jv["by_type"].contains("count")) << jv.dump();
  EXPECT_GE(jv["visual_tokens_per_image"].get<double>(), 1.0);
  EXPECT_GT(jv["encode_ms_mean"].get<double>(), 0.0);  // the image through SeTok and the projector
}

// eval caption: one line per image, their CIDEr-D averaging to the corpus figure; --answers a
// folder is refused.
void caption_lines_average_to_the_summary(const TempDir& dir, const std::string& common) {
  auto c = setok_cli("eval caption" + common + " --answers " + shell_quote(dir / "caption.jsonl"));
  ASSERT_EQ(c.rc, 0) << c.err;
  auto jc = nlohmann::json::parse(c.out);
  EXPECT_TRUE(jc["cider_d"].is_number());
  std::ifstream in(dir / "caption.jsonl");
  std::string line;
  int lines = 0;
  double sum = 0;
  while (std::getline(in, line)) {
    auto q = nlohmann::json::parse(line);
    ++lines;
    sum += q["cider_d"].get<double>();
    EXPECT_FALSE(q["answers"].empty());
  }
  EXPECT_EQ(lines, jc["images"].get<int>());
  EXPECT_NEAR(sum / lines, jc["cider_d"].get<double>(), 1e-9);
  auto folder = setok_cli("eval caption" + common + " --answers " + shell_quote(dir / "data"));
  EXPECT_EQ(folder.rc, 1);
  EXPECT_NE(folder.err.find("--answers"), std::string::npos) << folder.err;
}

// eval pope: one present and one absent object per image, the lines agreeing with the summary.
void pope_lines_agree_with_the_summary(const TempDir& dir, const std::string& common) {
  auto p = setok_cli("eval pope" + common + " --answers " + shell_quote(dir / "pope.jsonl"));
  ASSERT_EQ(p.rc, 0) << p.err;
  auto jp = nlohmann::json::parse(p.out);
  EXPECT_EQ(jp["questions"], 6);
  std::ifstream in(dir / "pope.jsonl");
  std::string line;
  int lines = 0, correct = 0, present = 0;
  while (std::getline(in, line)) {
    auto q = nlohmann::json::parse(line);
    ++lines;
    correct += q["correct"].get<bool>();
    present += q["answers"][0] == "yes";
  }
  EXPECT_EQ(lines, 6);
  EXPECT_EQ(present, 3);  // one present and one absent object per image
  EXPECT_NEAR(correct / 6.0, jp["accuracy"].get<double>(), 1e-12);
  EXPECT_NEAR(jp["yes_ratio"].get<double>() * 6, std::round(jp["yes_ratio"].get<double>() * 6), 1e-9);
}

// Another wording asks the same objects in its words; one without {object} is one line.
void pope_asks_the_same_objects_in_other_words(const TempDir& dir, const std::string& common) {
  auto w = setok_cli("eval pope" + common + " --question " + shell_quote("Can you see {a} {object} here?") +
                     " --answers " + shell_quote(dir / "pope2.jsonl"));
  ASSERT_EQ(w.rc, 0) << w.err;
  std::ifstream a(dir / "pope.jsonl"), b(dir / "pope2.jsonl");
  std::string la, lb;
  int lines = 0;
  while (std::getline(a, la) && std::getline(b, lb)) {
    auto qa = nlohmann::json::parse(la), qb = nlohmann::json::parse(lb);
    const std::string q = qb["question"];
    ASSERT_EQ(q.rfind("Can you see a", 0), 0u) << q;
    ASSERT_EQ(q.substr(q.size() - 6), " here?") << q;
    // the same object: its name is what sits between the article and " in the image?"
    const std::string first = qa["question"];
    const std::size_t s1 = first.find(' ', 9) + 1, s2 = q.find(' ', 12) + 1;
    EXPECT_EQ(first.substr(s1, first.find(" in the image?") - s1), q.substr(s2, q.size() - 6 - s2));
    EXPECT_EQ(qa["answers"], qb["answers"]);
    ++lines;
  }
  EXPECT_EQ(lines, 6);
  auto nowhere = setok_cli("eval pope" + common + " --question " + shell_quote("Is there a star?"));
  EXPECT_EQ(nowhere.rc, 1);
  EXPECT_EQ(count_lines(nowhere.err), 1) << nowhere.err;
  EXPECT_NE(nowhere.err.find("{object}"), std::string::npos) << nowhere.err;
}

// A SeTok alone is no SeTokim to evaluate: one line.
void vqa_of_a_setok_is_one_line(const TempDir& dir) {
  auto bad = setok_cli("eval vqa -m " + shell_quote(dir / "tok/model") + " --data " + shell_quote(dir / "data"));
  EXPECT_EQ(bad.rc, 1);
  EXPECT_EQ(count_lines(bad.err), 1) << bad.err;
}

}  // namespace

TEST_F(TrainCli, SetokimEvaluationsRunAndReportTheirFigures) {
  ASSERT_NO_FATAL_FAILURE(train_small_setokim(*dir));
  const std::string common = eval_args(*dir);
  nlohmann::json jv;  // eval vqa's summary
  ASSERT_NO_FATAL_FAILURE(vqa_answers_agree_with_the_summary(*dir, common, &jv));
  ASSERT_NO_FATAL_FAILURE(vqa_drops_the_fixed_prompt(*dir, common, jv));
  ASSERT_NO_FATAL_FAILURE(vqa_answers_nowhere_is_one_line(*dir, common));
  ASSERT_NO_FATAL_FAILURE(vqa_figures_are_in_range(jv));
  ASSERT_NO_FATAL_FAILURE(caption_lines_average_to_the_summary(*dir, common));
  ASSERT_NO_FATAL_FAILURE(pope_lines_agree_with_the_summary(*dir, common));
  ASSERT_NO_FATAL_FAILURE(pope_asks_the_same_objects_in_other_words(*dir, common));
  ASSERT_NO_FATAL_FAILURE(vqa_of_a_setok_is_one_line(*dir));
}

TEST_F(TrainCli, ChatAnswersOnceOrInteractivelyAndSavesTheConversation) {
  auto s = setok_cli("train setok --config " + shell_quote(*dir / "cfg.json") + " --out " + shell_quote(*dir / "tok") +
                     " --steps 1 --progress none");
  ASSERT_EQ(s.rc, 0) << s.err;
  nlohmann::json cfg = {{"stage", 2},
                        {"setok_model", *dir / "tok/model"},
                        {"text_config",
                         {{"hidden_size", 32},
                          {"intermediate_size", 64},
                          {"num_hidden_layers", 1},
                          {"num_attention_heads", 4},
                          {"num_key_value_heads", 2}}},
                        {"tokenizer_vocab", 400},
                        {"conversations", *dir / "data/annotations/llava_train.json"},
                        {"batch_size", 2},
                        {"steps", 1},
                        {"checkpoint_every", 0}};
  write_bytes(*dir / "c.json", cfg.dump());
  ASSERT_EQ(setok_cli("train mllm --config " + shell_quote(*dir / "c.json") + " --out " + shell_quote(*dir / "c") +
                      " --progress none")
                .rc,
            0);
  const std::string img = *dir / "data/images/train_0000000.png";
  auto one = setok_cli("chat -m " + shell_quote(*dir / "c/model") + " --image " + shell_quote(img) +
                       " --max-tokens 5 \"how many objects are there?\"");
  ASSERT_EQ(one.rc, 0) << one.err;
  ASSERT_FALSE(one.out.empty());
  EXPECT_EQ(one.out.back(), '\n') << one.out;  // the streamed answer, then a newline
  write_bytes(*dir / "session.txt", "/image " + img + "\nwhat colour is it?\n/bogus\nand the shape?\n/save " +
                                        *dir / "conv.json" + "\n/quit\n");
  // run_command gives the program /dev/null as stdin: a shell in between feeds the session.
  auto inter = run_command("sh -c " + shell_quote(shell_quote(SETOK_CLI) + " chat -m " + shell_quote(*dir / "c/model") +
                                                  " --max-tokens 4 < " + shell_quote(*dir / "session.txt")),
                           120);
  ASSERT_EQ(inter.rc, 0) << inter.err;
  auto conv = nlohmann::json::parse(read_bytes(*dir / "conv.json"));
  ASSERT_EQ(conv["messages"].size(), 4u);
  EXPECT_EQ(conv["messages"][0]["images"], nlohmann::json::array({0}));  // image 0 joins the first question
  EXPECT_EQ(conv["images"].size(), 1u);
  EXPECT_EQ(conv["messages"][2]["text"], "and the shape?");
  EXPECT_NE(inter.err.find("unknown command /bogus"), std::string::npos);
  auto none = setok_cli("chat -m " + shell_quote(*dir / "nowhere") + " hi");
  EXPECT_EQ(none.rc, 1);
  EXPECT_EQ(count_lines(none.err), 1);
}
