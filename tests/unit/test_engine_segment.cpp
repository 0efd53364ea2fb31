// The engine's segment requests: a SeTokim without a mask decoder says so in one line, queued hover
// previews give way to newer ones, and an image encoded once (encode_only, as the studio does when
// an image opens) serves later queries by its key alone. The queries that need a trained decoder
// skip until the bundled SeTokim has one.
#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "core/engine/engine.h"
#include "core/heads/segmenter.h"
#include "core/tokenizer/setok_model.h"
#include "tests/support/halves_image.h"
#include "tests/support/temp_dir.h"

using namespace setok;
using namespace setok::engine;
namespace fs = std::filesystem;

namespace {

using test::halves_image;

// The bundled SeTokim's files without any mask decoder, in DIR/name; empty when none is bundled.
std::string setokim_without_decoder(const test::TempDir& d) {
  const std::string bundled = tokenizer::default_setokim_model();
  if (bundled.empty()) return {};
  const fs::path dir = d.path() / "setokim-no-decoder";
  fs::create_directories(dir);
  for (const auto& f : fs::directory_iterator(bundled))
    if (f.path().filename().string().rfind("mask_decoder", 0) != 0)
      fs::create_symlink(fs::absolute(f.path()), dir / f.path().filename());
  return dir.string();
}

SegmentRequest click(std::uint64_t id, std::uint64_t key, float x, float y) {
  SegmentRequest r;
  r.id = id;
  r.image_key = key;
  r.query.clicks.push_back({x, y, true});
  return r;
}

}  // namespace

TEST(EngineSegment, AModelWithoutAMaskDecoderSaysSoInOneLine) {
  test::TempDir d;
  const std::string dir = setokim_without_decoder(d);
  if (dir.empty()) GTEST_SKIP() << "no SeTokim is bundled";
  ASSERT_FALSE(heads::Segmenter::has_decoder(dir));
  EngineOptions o;
  o.setokim_dir = dir;
  Engine e(o);
  SegmentRequest r = click(3, 7, 10, 10);
  r.image = halves_image();
  const SegmentOutcome out = e.run(r);
  EXPECT_EQ(out.status, Status::kError);
  EXPECT_EQ(out.id, 3u);
  EXPECT_EQ(out.image_key, 7u);
  EXPECT_NE(out.error.find("has no mask decoder"), std::string::npos) << out.error;
  EXPECT_EQ(out.error.find('\n'), std::string::npos) << "one line";
  EXPECT_TRUE(out.result.candidates.empty());
  SegmentRequest enc;
  enc.image = halves_image();
  enc.image_key = 8;
  enc.encode_only = true;
  EXPECT_EQ(e.run(enc).status, Status::kError) << "encoding needs the decoder's model too";
}

// Previews waiting behind a running request give way to the newest; other requests never do.
TEST(EngineSegment, NewerPreviewsSupersedeQueuedOnes) {
  test::TempDir d;
  const std::string dir = setokim_without_decoder(d);
  if (dir.empty()) GTEST_SKIP() << "no SeTokim is bundled";
  EngineOptions o;
  o.setokim_dir = dir;
  Engine e(o);
  std::mutex mu;
  std::condition_variable cv;
  bool reached = false, open = false;
  std::vector<std::pair<std::uint64_t, Status>> seen;
  auto sink = [&](SegmentOutcome r) {
    std::lock_guard<std::mutex> l(mu);
    seen.push_back({r.id, r.status});
  };
  auto gate = [&](float) {
    std::unique_lock<std::mutex> l(mu);
    reached = true;
    cv.notify_all();
    cv.wait(l, [&] { return open; });
    return true;
  };
  SegmentRequest first = click(1, 1, 5, 5);
  first.image = halves_image();
  e.submit(first, sink, gate, true);
  {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return reached; });
  }
  for (std::uint64_t i = 2; i <= 4; ++i) e.submit(click(i, 1, 5, 5), sink, {}, true);
  e.submit(click(5, 1, 5, 5), sink, {}, false);  // a click, not a preview: always runs
  {
    std::lock_guard<std::mutex> l(mu);
    open = true;
  }
  cv.notify_all();
  e.wait_idle();
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[0].first, 1u);
  EXPECT_EQ(seen[1], std::make_pair(std::uint64_t{2}, Status::kSuperseded));
  EXPECT_EQ(seen[2], std::make_pair(std::uint64_t{3}, Status::kSuperseded));
  EXPECT_EQ(seen[3].first, 4u);
  EXPECT_NE(seen[3].second, Status::kSuperseded);
  EXPECT_EQ(seen[4].first, 5u);
  EXPECT_NE(seen[4].second, Status::kSuperseded);
}

TEST(EngineSegment, AnImageEncodedOnceServesLaterQueriesByItsKey) {
  const std::string dir = tokenizer::default_setokim_model();
  if (dir.empty() || !heads::Segmenter::has_decoder(dir)) GTEST_SKIP() << "the bundled SeTokim has no mask decoder yet";
  Engine e;
  const io::Image img = halves_image();
  SegmentRequest enc;
  enc.image = img;
  enc.image_key = 42;
  enc.encode_only = true;
  const SegmentOutcome a = e.run(enc);
  ASSERT_TRUE(a.ok()) << a.error;
  EXPECT_TRUE(a.result.candidates.empty()) << "encode_only: no masks";
  EXPECT_GT(a.result.ms.encode_ms, 0.0);
  EXPECT_EQ(a.result.width, img.width);
  EXPECT_EQ(a.result.height, img.height);

  const SegmentOutcome b = e.run(click(2, 42, 16, 24));  // no image: the key names it
  ASSERT_TRUE(b.ok()) << b.error;
  EXPECT_EQ(b.image_key, 42u);
  EXPECT_EQ(b.result.ms.encode_ms, 0.0) << "the encoding was reused";
  ASSERT_FALSE(b.result.candidates.empty());
  EXPECT_EQ(b.result.mask().mask.size(), static_cast<std::size_t>(img.width) * img.height);

  // The same query with the image given outright (no key) encodes it again and answers the same.
  SegmentRequest fresh = click(3, 0, 16, 24);
  fresh.image = img;
  const SegmentOutcome c = e.run(fresh);
  ASSERT_TRUE(c.ok()) << c.error;
  EXPECT_GT(c.result.ms.encode_ms, 0.0);
  EXPECT_EQ(c.result.mask().mask, b.result.mask().mask);

  const SegmentOutcome unknown = e.run(click(4, 99, 16, 24));
  EXPECT_EQ(unknown.status, Status::kError);
  EXPECT_NE(unknown.error.find("not encoded"), std::string::npos) << unknown.error;
  // A few images are kept, the oldest go.
  for (std::uint64_t key = 100; key < 110; ++key) {
    SegmentRequest more = enc;
    more.image_key = key;
    ASSERT_TRUE(e.run(more).ok());
  }
  EXPECT_EQ(e.run(click(5, 42, 16, 24)).status, Status::kError) << "42 was forgotten";
  EXPECT_TRUE(e.run(click(6, 109, 16, 24)).ok());
}
