// The engine's edit and draw requests: a SeTokim without a diffusion head says so in one line; with
// one, a prompt draws a picture on the SeTokim worker, a selection of the wrong size and an empty
// instruction are one-line errors, and a request cancelled from its progress comes back cancelled
// with no picture. (The head here is untrained: the mechanics are checked, not the pictures.)
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/engine/engine.h"
#include "core/tokenizer/setok_model.h"
#include "tests/support/halves_image.h"
#include "tests/support/temp_dir.h"
#include "tests/support/untrained_head.h"

using namespace setok;
using namespace setok::engine;
namespace fs = std::filesystem;

namespace {

using test::halves_image;

// The bundled SeTokim's files (linked) in DIR/name, with an untrained diffusion head when `head`.
std::string bundled_copy(const test::TempDir& d, const std::string& name, bool head) {
  const std::string bundled = tokenizer::default_setokim_model();
  if (bundled.empty()) return {};
  const fs::path dir = d.path() / name;
  fs::create_directories(dir);
  for (const auto& f : fs::directory_iterator(bundled))
    fs::create_symlink(fs::absolute(f.path()), dir / f.path().filename());
  if (head) test::save_untrained_head(dir.string());
  return dir.string();
}

EditOutcome run(Engine& e, EditRequest r, Progress p = {}) {
  EditOutcome out;
  e.submit(
      std::move(r), [&](EditOutcome o) { out = std::move(o); }, std::move(p));
  e.wait_idle();
  return out;
}

}  // namespace

TEST(EngineEdit, NoDiffusionHeadIsOneLine) {
  test::TempDir d;
  const std::string dir = bundled_copy(d, "plain", false);
  if (dir.empty()) GTEST_SKIP() << "no SeTokim is bundled";
  EngineOptions o;
  o.setokim_dir = dir;
  o.background_priority = false;
  Engine e(o);
  EditRequest r;
  r.id = 5;
  r.image = halves_image();
  r.instruction = "Remove the red circle.";
  const EditOutcome out = run(e, r);
  EXPECT_EQ(out.status, Status::kError);
  EXPECT_EQ(out.id, 5u);
  EXPECT_NE(out.error.find("has no diffusion head"), std::string::npos) << out.error;
  EXPECT_EQ(out.error.find('\n'), std::string::npos);
  EXPECT_TRUE(out.picture.empty());
}

TEST(EngineEdit, DrawsOnTheWorkerAndRefusesBadInput) {
  test::TempDir d;
  const std::string dir = bundled_copy(d, "writer", true);
  if (dir.empty()) GTEST_SKIP() << "no SeTokim is bundled";
  EngineOptions o;
  o.setokim_dir = dir;
  o.background_priority = false;
  Engine e(o);
  EditRequest draw;
  draw.prompt = "a red circle in the top left";
  draw.cfg = 1.0;  // the bundled model has no null prompt
  draw.steps = 2;
  bool on_worker = false;
  const EditOutcome a = run(e, draw, [&](float) {
    on_worker = e.on_worker_thread();
    return true;
  });
  ASSERT_TRUE(a.ok()) << a.error;
  EXPECT_TRUE(on_worker);
  EXPECT_GE(a.written, 1);
  EXPECT_FALSE(a.picture.empty());
  EXPECT_EQ(run(e, draw).picture.rgb, a.picture.rgb) << "the same seed drew another picture";
  // Cancelled from its progress: no picture.
  const EditOutcome c = run(e, draw, [](float f) { return f < 0.05f; });
  EXPECT_EQ(c.status, Status::kCancelled);
  EXPECT_TRUE(c.picture.empty());
  // An empty instruction, a selection of the wrong size, an empty prompt.
  EditRequest bad;
  bad.image = halves_image();
  bad.cfg = 1.0;
  bad.instruction = " ";
  EXPECT_NE(run(e, bad).error.find("instruction is empty"), std::string::npos);
  bad.instruction = "Remove the red circle.";
  bad.region.assign(10, 1);
  const EditOutcome wrong = run(e, bad);
  EXPECT_EQ(wrong.status, Status::kError);
  EXPECT_NE(wrong.error.find("not the image's size"), std::string::npos) << wrong.error;
  EditRequest empty;
  EXPECT_NE(run(e, empty).error.find("prompt is empty"), std::string::npos);
}
