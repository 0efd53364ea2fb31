// Editing's bookkeeping, mechanics and FID-setok: the request and answer texts, which tokens an exact edit
// concerns (train::plan_edit), the tokens a selection covers, and SeTokim's editor on a tiny
// untrained model: kept tokens are copied bit for bit, a region confines the edit, same seed same
// picture; the edited picture keeps the input's pixels wherever the edit drew nothing.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <array>

#include "core/eval/edit_eval.h"
#include "core/eval/fid_setok.h"
#include "core/heads/diffusion_head.h"
#include "core/llm/text_tokenizer.h"
#include "core/mllm/edit_composite.h"
#include "core/mllm/edit_request.h"
#include "core/mllm/image_editor.h"
#include "core/mllm/token_order.h"
#include "core/runtime/error.h"
#include "core/train/edit_task.h"
#include "tests/support/toy_chat_model.h"

using namespace setok;
using mllm::TokenEdit;

namespace {

// Tokens on a grid_h × grid_w patch grid: assignment given, embeds and geometry of the right shapes.
mllm::VisualTokens tokens(std::int64_t count, std::vector<std::int64_t> assignment, std::int64_t grid) {
  mllm::VisualTokens t;
  t.embeds = at::randn({count, 4});
  t.geometry = at::randn({count, tokenizer::kGeometryDims});
  t.assignment = at::tensor(assignment, at::kLong);
  t.grid_h = t.grid_w = grid;
  return t;
}

std::vector<std::int64_t> values(const at::Tensor& x) {
  const at::Tensor c = x.to(at::kLong).contiguous();
  return {c.data_ptr<std::int64_t>(), c.data_ptr<std::int64_t>() + c.numel()};
}

}  // namespace

TEST(EditRequest, WordsPerTokenThenTheImage) {
  EXPECT_EQ(mllm::edit_request("Remove the red circle."), "Edit the image: Remove the red circle.");
  EXPECT_NE(mllm::null_edit_request().find("[Null]"), std::string::npos);
  EXPECT_EQ(mllm::edit_answer({TokenEdit::kKeep, TokenEdit::kChange, TokenEdit::kRemove}),
            "keep change remove [Img][/Img]");
  EXPECT_EQ(mllm::edit_answer({}), "[Img][/Img]");
  EXPECT_EQ(eval::edit_kind("edits/test_0000003_recolour.png"), "recolour");
  EXPECT_EQ(eval::edit_kind("b/x.png"), "other");
}

TEST(EditPlan, RecolourChangesTheObjectAndKeepsTheRest) {
  // 2 × 2 patches of 2 × 2 pixels: token 0 the top row, token 1 the bottom row, in both images.
  mllm::VisualTokens in = tokens(2, {0, 0, 1, 1}, 2), out = tokens(2, {0, 0, 1, 1}, 2);
  at::Tensor changed = at::zeros({4, 4}, at::kBool);
  changed.narrow(0, 2, 2).fill_(true);  // the bottom row's pixels
  train::EditPlan p = train::plan_edit(in, out, changed);
  EXPECT_EQ(p.status, (std::vector<TokenEdit>{TokenEdit::kKeep, TokenEdit::kChange}));
  EXPECT_EQ(values(p.written), (std::vector<std::int64_t>{1}));
  // Nothing changed: everything kept, nothing written.
  train::EditPlan none = train::plan_edit(in, out, at::zeros({4, 4}, at::kBool));
  EXPECT_EQ(none.status, (std::vector<TokenEdit>{TokenEdit::kKeep, TokenEdit::kKeep}));
  EXPECT_EQ(none.written.numel(), 0);
}

TEST(EditPlan, RemovedObjectIsRemovedAndTheBackgroundKept) {
  // 4 × 4 patches of one pixel: the background (token 0) and an object on patch 5 (token 1); after
  // the edit the background covers every patch, a sixteenth of it changed.
  std::vector<std::int64_t> a(16, 0);
  a[5] = 1;
  mllm::VisualTokens in = tokens(2, a, 4), out = tokens(1, std::vector<std::int64_t>(16, 0), 4);
  at::Tensor changed = at::zeros({4, 4}, at::kBool);
  changed[1][1] = true;
  train::EditPlan p = train::plan_edit(in, out, changed);
  EXPECT_EQ(p.status, (std::vector<TokenEdit>{TokenEdit::kKeep, TokenEdit::kRemove}));
  EXPECT_EQ(p.written.numel(), 0);
  EXPECT_NEAR(train::changed_share(out, changed)[0].item<double>(), 1.0 / 16, 1e-6);
  EXPECT_THROW(train::changed_pixels(at::zeros({1, 3, 4, 4}), at::zeros({1, 3, 4, 5})), Error);
}

TEST(EditRegion, TokensUnderAMask) {
  mllm::VisualTokens t = tokens(2, {0, 0, 1, 1}, 2);  // token 0 the top half of a 4 × 4 picture
  at::Tensor m = at::zeros({4, 4}, at::kBool);
  m.narrow(0, 0, 2).narrow(1, 0, 2).fill_(true);  // the top-left quarter: half of token 0
  EXPECT_EQ(values(mllm::tokens_under_mask(t, m)), (std::vector<std::int64_t>{1, 0}));
  at::Tensor dot = at::zeros({4, 4}, at::kBool);
  dot[3][1] = true;  // one pixel of token 1: an eighth of it, but all of the mask
  EXPECT_EQ(values(mllm::tokens_under_mask(t, dot)), (std::vector<std::int64_t>{0, 1}));
  EXPECT_THROW(mllm::tokens_under_mask(t, at::zeros({1, 4, 4}, at::kBool)), Error);
}

// An 8 × 8 picture, red above and blue below, read as two tokens of 2 × 2 patches of 4 × 4 pixels
// (token 0 the top row), and an edit of it drawn all grey.
struct TwoHalves {
  io::Image input;
  mllm::VisualTokens read = tokens(2, {0, 0, 1, 1}, 2);
  mllm::EditedImage edit;
  TwoHalves(TokenEdit second, std::int64_t written) {
    input.width = input.height = 8;
    for (int p = 0; p < 64; ++p) {
      const bool top = p < 32;
      input.rgb.insert(input.rgb.end(), {std::uint8_t(top ? 255 : 0), 0, std::uint8_t(top ? 0 : 255)});
    }
    edit.status = {TokenEdit::kKeep, second};
    const std::int64_t kept = second == TokenEdit::kKeep ? 2 : 1;
    edit.tokens.vectors = at::zeros({kept + written, 4});
    if (written > 0) edit.written.vectors = at::zeros({written, 4});
    edit.pixels = at::zeros({1, 3, 8, 8});
    edit.place_owner = at::tensor(std::vector<std::int64_t>{0, 0, kept, kept}, at::kLong);
  }
  std::array<int, 3> at_pixel(const io::Image& im, int x, int y) const {
    const std::size_t i = 3 * static_cast<std::size_t>(y * im.width + x);
    return {im.rgb[i], im.rgb[i + 1], im.rgb[i + 2]};
  }
};

TEST(EditComposite, TheInputsPixelsWhereverTheEditDrewNothing) {
  // The second token removed: its half is drawn, grown by one pixel; the rest is the input's own.
  TwoHalves removed(TokenEdit::kRemove, 0);
  const mllm::EditComposite c = mllm::composite_edit(removed.input, removed.read, removed.edit);
  for (int y = 0; y < 8; ++y) {
    const std::array<int, 3> want = y < 3 ? std::array<int, 3>{255, 0, 0} : std::array<int, 3>{128, 128, 128};
    EXPECT_EQ(removed.at_pixel(c.picture, 5, y), want) << "row " << y;
  }
  EXPECT_DOUBLE_EQ(c.drawn_share(), 5.0 / 8);
  // The second token changed and a token written where the detokenizer's places give it the lower
  // half: drawn there; kept above.
  TwoHalves changed(TokenEdit::kChange, 1);
  const mllm::EditComposite d = mllm::composite_edit(changed.input, changed.read, changed.edit);
  EXPECT_EQ(changed.at_pixel(d.picture, 0, 0), (std::array<int, 3>{255, 0, 0}));
  EXPECT_EQ(changed.at_pixel(d.picture, 7, 7), (std::array<int, 3>{128, 128, 128}));
  // Nothing dropped, nothing written: the input itself.
  TwoHalves kept(TokenEdit::kKeep, 0);
  const mllm::EditComposite k = mllm::composite_edit(kept.input, kept.read, kept.edit);
  EXPECT_EQ(k.picture.rgb, kept.input.rgb);
  EXPECT_DOUBLE_EQ(k.drawn_share(), 0.0);
  // An edit of other tokens is refused.
  TwoHalves other(TokenEdit::kRemove, 0);
  other.edit.status.push_back(TokenEdit::kKeep);
  EXPECT_THROW(mllm::composite_edit(other.input, other.read, other.edit), Error);
}

TEST(ImageEditor, KeepsTokensBitForBitAndHonoursTheRegion) {
  test::TempDir d;
  const std::string dir = test::toy_chat_model(d);
  const llm::TextTokenizer tok = llm::TextTokenizer::load(dir);
  at::manual_seed(0);
  mllm::SetokimConfig cfg = test::tiny(mllm::Connector::kSetok);
  cfg.text.vocab_size = 320;
  cfg.token_geometry = true;
  mllm::Setokim model(cfg);
  model->eval();
  c10::InferenceMode guard;
  const mllm::VisualTokens in = mllm::in_generation_order(model->visual_tokens(test::image()));
  const std::int64_t c = in.count();
  ASSERT_GE(c, 2);
  heads::DiffusionHeadConfig hc;
  hc.token_dim = mllm::packed_tokens(in).size(1);
  hc.condition_dim = cfg.text.hidden_size;
  hc.width = 16;
  hc.depth = 1;
  hc.sample_steps = 2;
  heads::DiffusionHead head(hc);
  head->eval();
  mllm::ImageEditing o;
  o.writing.cfg = 1.0;
  o.writing.max_tokens = 2;
  o.writing.seed = 7;
  const mllm::EditedImage e = mllm::edit_image(*model, *head, tok, in, "make the square blue", o);
  ASSERT_EQ(static_cast<std::int64_t>(e.status.size()), c);
  const auto kept = e.indices(TokenEdit::kKeep);
  EXPECT_EQ(e.tokens.count(), static_cast<std::int64_t>(kept.size()) + e.written.count());
  EXPECT_LE(e.written.count(), 2);
  // The kept tokens lead the edited set, exactly as they were read.
  const at::Tensor packed = mllm::packed_tokens(in);
  for (std::size_t i = 0; i < kept.size(); ++i)
    EXPECT_TRUE(at::equal(e.tokens.packed()[static_cast<std::int64_t>(i)], packed[kept[i]])) << i;
  EXPECT_EQ(e.pixels.size(0), 1);
  // Same seed, same picture.
  EXPECT_TRUE(at::equal(mllm::edit_image(*model, *head, tok, in, "make the square blue", o).pixels, e.pixels));
  // A region over no token keeps them all; regenerating every token keeps none.
  mllm::ImageEditing none = o;
  none.region = at::zeros({c}, at::kBool);
  const mllm::EditedImage n = mllm::edit_image(*model, *head, tok, in, "make the square blue", none);
  EXPECT_EQ(n.indices(TokenEdit::kKeep).size(), static_cast<std::size_t>(c));
  mllm::ImageEditing all = o;
  all.regenerate_all = true;
  EXPECT_EQ(mllm::edit_image(*model, *head, tok, in, "make the square blue", all).indices(TokenEdit::kChange).size(),
            static_cast<std::size_t>(c));
  EXPECT_THROW(mllm::edit_image(*model, *head, tok, in, "  ", o), Error);
  mllm::ImageEditing wrong = o;
  wrong.region = at::ones({c + 1}, at::kBool);
  EXPECT_THROW(mllm::edit_image(*model, *head, tok, in, "x", wrong), Error);
}

TEST(FidSetok, ZeroForOneSetAndTheMeanShiftForAShiftedOne) {
  at::manual_seed(0);
  const at::Tensor a = at::randn({400, 3}, at::kDouble);
  EXPECT_NEAR(eval::frechet_distance(a, a), 0.0, 1e-6);
  // The same spread moved by (1, 2, 2): the distance is the squared shift, 9.
  EXPECT_NEAR(eval::frechet_distance(a, a + at::tensor({1.0, 2.0, 2.0}, at::kDouble)), 9.0, 1e-6);
  // Twice the spread (and the mean): Tr(Σ + 4Σ − 2·2Σ) = Tr(Σ), plus ‖μ‖².
  EXPECT_NEAR(eval::frechet_distance(a, 2 * a), (at::trace(at::cov(a.t())) + a.mean(0).square().sum()).item<double>(),
              1e-6);
  EXPECT_THROW(eval::frechet_distance(a, at::zeros({5, 4}, at::kDouble)), Error);
}
