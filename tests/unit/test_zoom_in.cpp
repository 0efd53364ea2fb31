// Zoom-in: where the crop lands, and that logits survive the trip into the crop and back.
#include "core/heads/zoom_in.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace setok::heads {
namespace {

at::Tensor mask_with_box(int w, int h, int x0, int y0, int x1, int y1) {
  at::Tensor m = at::zeros({h, w}, at::kBool);
  m.narrow(0, y0, y1 - y0).narrow(1, x0, x1 - x0).fill_(true);
  return m;
}

TEST(ZoomIn, CentresASquareOnTheMaskAndTheClicks) {
  ZoomOptions o;
  o.expansion = 2.0f;
  o.min_side = 0.1f;
  o.max_side = 0.8f;
  // A 20 × 10 mask at x 40..60, y 50..60 and a click at (45.5, 70.5): the box is x 40..60, y 50..71.
  const auto r = zoom_roi(mask_with_box(128, 128, 40, 50, 60, 60), {{45.5f, 70.5f}}, o);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->side, 42);  // 2 × 21 (the taller side)
  EXPECT_EQ(r->x0, 29);    // centre 50 − 21
  EXPECT_EQ(r->y0, 40);    // centre 60.5 − 21, rounded
}

TEST(ZoomIn, StaysInsideTheImageAndKeepsItsSmallestSide) {
  ZoomOptions o;
  o.expansion = 1.4f;
  o.min_side = 0.4f;
  o.max_side = 0.8f;
  // A 4 × 4 mask in the bottom right corner: the crop is the smallest (0.4 × 100 = 40), shifted in.
  const auto r = zoom_roi(mask_with_box(200, 100, 196, 96, 200, 100), {}, o);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->side, 40);
  EXPECT_EQ(r->x0, 160);
  EXPECT_EQ(r->y0, 60);
}

TEST(ZoomIn, SnappedCropsStayPutWhenTheMaskGrowsAPixel) {
  ZoomOptions o;
  o.min_side = 0.1f;
  o.snap = 8;
  // 22 and 23 pixels wide: sides 52.8 and 55.2, both 56 once snapped.
  const auto a = zoom_roi(mask_with_box(128, 128, 40, 50, 62, 70), {}, o);
  const auto b = zoom_roi(mask_with_box(128, 128, 40, 50, 63, 70), {}, o);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->side % 8, 0);
  EXPECT_EQ(a->x0 % 4, 0);
  EXPECT_EQ(a->y0 % 4, 0);
  EXPECT_EQ(a->side, b->side);
  EXPECT_EQ(a->x0, b->x0);
  EXPECT_EQ(a->y0, b->y0);
  o.snap = 0;  // without: the crop follows the pixel
  EXPECT_NE(zoom_roi(mask_with_box(128, 128, 40, 50, 62, 70), {}, o)->side,
            zoom_roi(mask_with_box(128, 128, 40, 50, 63, 70), {}, o)->side);
}

TEST(ZoomIn, NoCropForNothingOrForNearlyTheWholeImage) {
  EXPECT_FALSE(zoom_roi(at::zeros({64, 64}, at::kBool), {}).has_value());
  // 50 × 50 of a 64 × 64 image, × 1.4: larger than 0.8 of the image.
  EXPECT_FALSE(zoom_roi(mask_with_box(64, 64, 7, 7, 57, 57), {}).has_value());
  // Clicks alone make a box.
  EXPECT_TRUE(zoom_roi(at::zeros({64, 64}, at::kBool), {{10.f, 10.f}}).has_value());
}

TEST(ZoomIn, CropsTheRightPixels) {
  io::Image img;
  img.width = 5;
  img.height = 4;
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 5; ++x) img.rgb.insert(img.rgb.end(), {std::uint8_t(x), std::uint8_t(y), std::uint8_t(7)});
  const io::Image c = crop_image(img, {2, 1, 3});
  ASSERT_EQ(c.width, 3);
  ASSERT_EQ(c.height, 3);
  ASSERT_EQ(c.rgb.size(), 27u);
  EXPECT_EQ(c.rgb[0], 2);                // x of the crop's (0, 0): 2
  EXPECT_EQ(c.rgb[1], 1);                // its y: 1
  EXPECT_EQ(c.rgb[(2 * 3 + 2) * 3], 4);  // the crop's (2, 2) is the image's (4, 3)
  EXPECT_EQ(c.rgb[(2 * 3 + 2) * 3 + 1], 3);
}

TEST(ZoomIn, LogitsGoIntoTheCropAndBackUnchanged) {
  // A ramp in x over a 64 × 64 image, held at 16 × 16: the crop samples the same ramp.
  const at::Tensor ramp = (at::arange(64, at::kFloat) + 0.5).view({1, 64}).expand({64, 64}).contiguous();
  const at::Tensor low = at::_upsample_bilinear2d_aa(ramp.view({1, 1, 64, 64}), {16, 16}, false);
  const ZoomRoi roi{16, 8, 32};
  const at::Tensor c = crop_logits(low, roi, 64, 64, 8);  // cells of 4 pixels: centres 18, 22, …
  ASSERT_EQ(c.sizes(), (at::IntArrayRef{8, 8}));
  EXPECT_NEAR(c[3][0].item<float>(), 18.0f, 1e-3);
  EXPECT_NEAR(c[5][7].item<float>(), 46.0f, 1e-3);
  // Pasting the crop's own logits back changes nothing inside it and nothing outside.
  const at::Tensor crop_full = crop_logits(ramp.view({1, 1, 64, 64}), roi, 64, 64, 64);
  const at::Tensor back = paste_logits(ramp, crop_full, roi);
  const at::Tensor error = (back - ramp).abs();
  EXPECT_LT(error.narrow(0, 9, 30).narrow(1, 17, 30).max().item<float>(), 0.02f);
  EXPECT_LT(error.max().item<float>(), 0.15f);  // the crop's edge: the resizing filter is cut there
  const at::Tensor flat = paste_logits(at::zeros({64, 64}), at::ones({8, 8}), roi);
  EXPECT_EQ(flat.sum().item<float>(), 32.0f * 32.0f);
  EXPECT_EQ(flat.narrow(0, 8, 32).narrow(1, 16, 32).min().item<float>(), 1.0f);
}

}  // namespace
}  // namespace setok::heads
