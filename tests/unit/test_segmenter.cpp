// The segmenter over a tiny untrained SeTokim with a decoder beside it: what it answers (every
// candidate at the image's size, logits to refine with) and what it refuses, in one line.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/heads/mask_decoder.h"
#include "core/heads/segmenter.h"
#include "core/heads/zoom_in.h"
#include "core/mllm/setokim.h"
#include "core/runtime/error.h"
#include "tests/support/toy_chat_model.h"

namespace setok::heads {
namespace {

std::string model_with_decoder(const test::TempDir& d) {
  const std::string dir = test::toy_chat_model(d);
  mllm::SetokimConfig sc = test::tiny(mllm::Connector::kSetok);
  MaskDecoderConfig c;
  c.feature_dim = sc.vision.vision.hidden_size;
  c.grid = sc.vision.vision.image_size / sc.vision.vision.patch_size;
  c.image_size = sc.vision.vision.image_size;
  c.width = 16;
  c.heads = 2;
  c.mlp_dim = 32;
  c.language_dim = sc.text.hidden_size;
  at::manual_seed(3);
  MaskDecoder m(c);
  save_mask_decoder(dir, m);
  return dir;
}

// A clicks-only decoder (language_dim 0), as `train segment` writes it with "language": false.
MaskDecoder clicks_decoder(const MaskDecoderConfig& like) {
  MaskDecoderConfig c = like;
  c.language_dim = 0;
  at::manual_seed(11);
  return MaskDecoder(c);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Segmenter, AnswersEveryPromptWithMasksAtTheImagesSize) {
  test::TempDir d;
  const std::string dir = model_with_decoder(d);
  ASSERT_TRUE(Segmenter::has_decoder(dir));
  auto seg = Segmenter::load(dir);
  EXPECT_TRUE(seg->reads_language());
  const io::Image img = test::toy_chat_image();
  auto enc = seg->encode(img);
  SegmentQuery q;
  q.clicks = {{20.5f, 30.5f, true}};
  SegmentResult r = seg->segment(*enc, q);
  ASSERT_EQ(r.candidates.size(), 4u);
  EXPECT_EQ(r.best, 0);  // a lone click starts from the token under it: the single mask
  SegmentQuery alone = q;
  alone.token_under_click = false;
  SegmentResult ra = seg->segment(*enc, alone);
  EXPECT_GE(ra.best, 1);  // the click alone: the best of the alternatives
  for (const auto& c : r.candidates) EXPECT_EQ(c.mask.size(), static_cast<std::size_t>(img.width * img.height));
  EXPECT_EQ(r.low_res.size(), static_cast<std::size_t>(r.low_res_side * r.low_res_side));
  SegmentQuery again = q;
  again.clicks.push_back({5.5f, 5.5f, false});
  again.previous = r.low_res;
  EXPECT_EQ(seg->segment(*enc, again).best, 0);
  SegmentQuery words;
  words.expression = "the red square";
  SegmentResult w = seg->segment(*enc, words);
  ASSERT_FALSE(w.relevance.empty());
  for (float v : w.relevance) EXPECT_TRUE(v >= 0.0f && v <= 1.0f);
  for (int t : w.referred_tokens) EXPECT_GT(w.relevance.at(static_cast<std::size_t>(t)), 0.5f);
  EXPECT_EQ(seg->segment(img, q).mask().mask, r.mask().mask);  // the same answer without a cached encoding
}

// A hover preview asks only the mask it shows: the same mask, the same estimates, no other masks.
TEST(Segmenter, BestOnlyGivesTheSameShownMaskAndEveryEstimate) {
  test::TempDir d;
  auto seg = Segmenter::load(model_with_decoder(d));
  auto enc = seg->encode(test::toy_chat_image());
  for (bool token : {true, false}) {
    SegmentQuery q;
    q.clicks = {{40.5f, 12.5f, true}};
    q.token_under_click = token;
    const SegmentResult all = seg->segment(*enc, q);
    q.best_only = true;
    const SegmentResult one = seg->segment(*enc, q);
    ASSERT_EQ(one.candidates.size(), all.candidates.size());
    EXPECT_EQ(one.best, all.best);
    EXPECT_EQ(one.mask().mask, all.mask().mask);
    EXPECT_EQ(one.low_res, all.low_res);
    for (std::size_t i = 0; i < all.candidates.size(); ++i) {
      EXPECT_FLOAT_EQ(one.candidates[i].predicted_iou, all.candidates[i].predicted_iou);
      if (static_cast<int>(i) != one.best) {
        EXPECT_TRUE(one.candidates[i].mask.empty());
      }
    }
  }
}

// With click_decoder.json beside the mask decoder, a query without words is the clicks-only
// decoder's (the same answer as a folder holding that decoder alone) and an expression stays the
// mask decoder's.
TEST(Segmenter, AClickDecoderBesideItAnswersTheQueriesWithoutWords) {
  test::TempDir both, words, clicks;
  const std::string dir = model_with_decoder(both), only_words = model_with_decoder(words);
  const std::string only_clicks = model_with_decoder(clicks);
  MaskDecoder c = clicks_decoder(load_mask_decoder(dir)->config());
  save_mask_decoder(dir, c, kClickDecoderConfigFile, kClickDecoderWeightsFile);
  save_mask_decoder(only_clicks, c);
  auto seg = Segmenter::load(dir), seg_words = Segmenter::load(only_words), seg_clicks = Segmenter::load(only_clicks);
  EXPECT_TRUE(seg->reads_language());
  const io::Image img = test::toy_chat_image();
  SegmentQuery q;
  q.clicks = {{20.5f, 30.5f, true}, {50.5f, 8.5f, false}};
  EXPECT_EQ(seg->segment(img, q).low_res, seg_clicks->segment(img, q).low_res);
  EXPECT_NE(seg->segment(img, q).low_res, seg_words->segment(img, q).low_res);
  SegmentQuery w;
  w.expression = "the red square";
  EXPECT_EQ(seg->segment(img, w).low_res, seg_words->segment(img, w).low_res);
  // One that reads language is refused there, in one line naming the file.
  MaskDecoder wrong = load_mask_decoder(dir);
  save_mask_decoder(dir, wrong, kClickDecoderConfigFile, kClickDecoderWeightsFile);
  EXPECT_NE(error_of([&] { Segmenter::load(dir); }).find("click_decoder.json is not a clicks-only decoder"),
            std::string::npos);
}

// A click on a mask that exists looks again at a crop around it: the crop is encoded, and outside
// it every candidate is the previous mask. Words, or zoom off, keep the whole image.
TEST(Segmenter, ClicksOnAMaskZoomInAndKeepThePreviousMaskOutsideTheCrop) {
  test::TempDir d;
  auto seg = Segmenter::load(model_with_decoder(d));
  const io::Image img = test::toy_chat_image();
  auto enc = seg->encode(img);
  SegmentQuery first;
  first.clicks = {{20.5f, 20.5f, true}};
  const int side = seg->segment(*enc, first).low_res_side;
  // The previous mask: a 10 × 10 pixel square at 15..25 (64 × 64 image), as saturated logits.
  at::Tensor square = at::zeros({64, 64});
  square.narrow(0, 15, 10).narrow(1, 15, 10).fill_(1);
  at::Tensor prev = (at::_upsample_bilinear2d_aa(square.view({1, 1, 64, 64}), {side, side}, false) - 0.5) * 40;
  prev = prev.contiguous();
  SegmentQuery q;
  q.clicks = {{20.5f, 20.5f, true}, {23.5f, 17.5f, false}};
  q.previous.assign(prev.data_ptr<float>(), prev.data_ptr<float>() + prev.numel());
  const SegmentResult z = seg->segment(*enc, q);
  EXPECT_GT(z.ms.encode_ms, 0.0);  // the crop, encoded
  EXPECT_GT(z.zoom[2], 0);
  const SegmentResult again = seg->segment(*enc, q);
  EXPECT_EQ(again.ms.encode_ms, 0.0);  // the same crop: its features were kept
  EXPECT_EQ(again.mask().mask, z.mask().mask);
  EXPECT_EQ(again.low_res, z.low_res);
  ASSERT_EQ(z.candidates.size(), 4u);
  EXPECT_EQ(z.low_res.size(), static_cast<std::size_t>(side * side));
  const at::Tensor before = at::upsample_bilinear2d(prev.view({1, 1, side, side}), {64, 64}, false)[0][0].gt(0);
  const std::optional<ZoomRoi> roi = ZoomRoi{z.zoom[0], z.zoom[1], z.zoom[2]};
  ASSERT_LT(roi->side, 64);
  ASSERT_LE(roi->x0 + roi->side, 64);
  ASSERT_LE(roi->y0 + roi->side, 64);
  at::Tensor outside = at::ones({64, 64}, at::kBool);
  outside.narrow(0, roi->y0, roi->side).narrow(1, roi->x0, roi->side).fill_(false);
  for (const MaskCandidate& c : z.candidates) {
    ASSERT_EQ(c.mask.size(), 64u * 64u);
    const at::Tensor m = at::tensor(at::ArrayRef<std::uint8_t>(c.mask)).view({64, 64}).gt(0);
    EXPECT_TRUE(m.masked_select(outside).equal(before.masked_select(outside)));
  }
  SegmentQuery whole = q;
  whole.zoom = false;
  EXPECT_EQ(seg->segment(*enc, whole).zoom[2], 0);
  SegmentQuery words = q;
  words.expression = "the red square";
  EXPECT_EQ(seg->segment(*enc, words).zoom[2], 0);
}

TEST(Segmenter, RefusesBadQueriesInOneLine) {
  test::TempDir d;
  auto seg = Segmenter::load(model_with_decoder(d));
  const io::Image img = test::toy_chat_image();
  auto enc = seg->encode(img);
  SegmentQuery empty;
  empty.expression = "   ";
  EXPECT_NE(error_of([&] { seg->segment(*enc, empty); }).find("nothing to segment"), std::string::npos);
  SegmentQuery outside;
  outside.clicks = {{70, 10, true}};
  EXPECT_NE(error_of([&] { seg->segment(*enc, outside); }).find("outside the image (64x64)"), std::string::npos);
  SegmentQuery box;
  box.box = Box{10, 10, 5, 20};
  EXPECT_NE(error_of([&] { seg->segment(*enc, box); }).find("the box"), std::string::npos);
  SegmentQuery prev;
  prev.clicks = {{3, 3, true}};
  prev.previous = {1.0f, 2.0f};
  EXPECT_NE(error_of([&] { seg->segment(*enc, prev); }).find("previous mask"), std::string::npos);
  EXPECT_NE(error_of([&] { Segmenter::load(d.path().string()); }).find("no mask decoder"), std::string::npos);
  EXPECT_NE(error_of([&] { seg->encode(io::Image{}); }).find("empty"), std::string::npos);
}

}  // namespace
}  // namespace setok::heads
