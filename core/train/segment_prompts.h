#pragma once
// Drawing a training batch's prompts for the mask decoder (see segment_trainer.h).
#include <ATen/core/Tensor.h>

#include <functional>
#include <random>
#include <vector>

#include "core/heads/mask_decoder.h"
#include "core/heads/prompt_batch.h"
#include "core/train/segment_data.h"

namespace setok::train {

enum class PromptKind { kLanguage, kClicks, kBox, kTokenStart };

struct SegmentItem {
  const SegmentImage* image = nullptr;
  const SegmentObject* object = nullptr;
  PromptKind kind = PromptKind::kClicks;
  int rounds = 0;  // extra simulated clicks after the first (clicks)
  heads::PromptSample prompt;
};

struct SegmentBatch {
  at::Tensor features, pixels01, target;  // [B, N, D], [B, 3, S, S], [B, 1, S, S]
  std::vector<SegmentItem> items;
};

struct PromptRates {
  double language = 0.4, box = 0.1, token_start = 0.1;
  int max_click_rounds = 3;
  // Of the clicks items, the share whose first click comes with the SeTok token under it as the
  // dense prompt, as the segmenter asks a lone click (token_under_click.h).
  double click_token = 0;
};

// The first prompt of each drawn object; then click_rounds() adds the simulated clicks.
SegmentBatch draw_batch(const std::vector<std::pair<const SegmentImage*, const SegmentObject*>>& objects,
                        std::int64_t size, const PromptRates& rates, std::mt19937_64& rng);

// Runs the decoder without gradient and adds, round by round, a click in the largest error region of
// its answer (and that answer's logits as the dense prompt) to each clicks item with rounds left.
void click_rounds(heads::MaskDecoderImpl& decoder, SegmentBatch& batch);

// For each of the image's `count` visual tokens, the share of its patches inside the object (the
// object's mask averaged over each patch): [count]. A token above ½ is one the object is made of.
at::Tensor token_inside_fraction(const SegmentImage& image, const SegmentObject& object, std::int64_t count);

// The mask the decoder would show for each item: the best alternative for one lone click, else the
// single mask. low_res [B, M, L, L], iou [B, M] → index [B] long.
at::Tensor shown_mask(const SegmentBatch& batch, const at::Tensor& iou, std::int64_t multimask);

}  // namespace setok::train
