#pragma once
// `setok eval refseg`: a segmenter (heads/segmenter.h) on a dataset folder in RefCOCO's layout
// (images/ + annotations/refs_SPLIT.json + annotations/instances_SPLIT.json, as `setok data scenes`
// writes it). Three figures, each optional:
// - referring: every sentence of every ref alone as the query; cIoU and gIoU (refseg_metrics.h)
//   overall ("all") and, in the scenes world, per kind of expression (expression_kind.h);
// - clicks: per ref's object, RITM's protocol (click_simulator.h) for max_clicks clicks, each query
//   holding every click so far and the previous result's low-resolution logits; mIoU@1/3/5,
//   NoC@85/90 and the objects that never reach 0.90;
// - best_token: per object, the IoU of the best single SeTok token's mask (pixel-edge token map of
//   the engine's SeTok), what selecting tokens alone could reach.
// Each image is encoded once for all its refs and clicks. Masks are compared at the image's
// resolution. Torch-free header.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "core/heads/segmenter.h"

namespace setok::eval {

struct RefsegEvalOptions {
  std::string data_dir;        // images/ + annotations/
  std::string split = "test";  // annotations/refs_SPLIT.json and instances_SPLIT.json
  std::int64_t limit = 0;      // the first N refs (0: all)
  int max_clicks = 20;
  bool language = true;  // score every sentence with the expression alone (skipped, with a note,
                         // when the segmenter does not read language)
  bool clicks = true;    // the click protocol per ref's object
  // The first click starts from the SeTok token under it (SegmentQuery::token_under_click), as the
  // tools do; false: the click alone. Either way the other first click is scored too.
  bool token_under_click = true;
  // Clicks after the first zoom in on the mask (SegmentQuery::zoom), as the tools do; false: never.
  bool zoom = true;
  bool best_token = true;  // the best single SeTok token per object
  // Every sentence asked in a chat too (refseg_chat.h): how often the model answers [SEG], and the
  // masks a chat's user gets. Skipped, with a note, when the model has no [SEG].
  bool chat = true;
  // The SeTok model folder for best_token; empty: the engine's default (the bundled setok-small).
  std::string token_model;
  // When set, one JSON line per object scored, written here (atomically) at the end: "image", "ann_id",
  // "area" (pixels), "sentences" ([{"sent", "kinds", "iou", "mask_area"}]), "clicks" (the IoU after each click),
  // "best_token" (IoU), each figure present when its part ran. For finding what a model gets wrong.
  std::string per_object;
  // Called after each image with the fraction done; returning false cancels: evaluate_refseg then
  // throws setok::Error("cancelled") (a partial score would read as a whole one).
  std::function<bool(float)> progress;
};

// Throws setok::Error when the split's refs or instances file is missing, or per_object's folder
// does not exist (before a model loads).
void check_refseg_split(const RefsegEvalOptions& o);

// {"split", "images", "refs", "sentences",
//  "referring": {"all" | "shortest" | "full" | "with_region" | "position": {"cIoU", "gIoU", "count"},
//                "kinds"},
//  "clicks": {"objects", "empty_objects", "first_click" ("token under it" | "alone"), "mIoU@1",
//             "mIoU@3", "mIoU@5", "NoC@85", "NoC@90", "never_reach_90", "max_clicks", "curve",
//             "mIoU@1_other" (the first click the other way: alone, or from its token)},
//  "best_token": {"objects", "mIoU", "tokens_per_image", "tokenizer"},
//  "chat": {"asked", "seg_answers", "seg_rate", "gIoU", "cIoU", "by_wording"} (refseg_chat.h),
//  "ms_per_query" (every segment call), "ms_per_expression", "ms_per_click", "ms_per_encode", "seconds"}.
// A part not run holds {"skipped": why}; an undefined figure (no expression of a kind) is null.
// Throws setok::Error with a one-line reason (a missing file or image, an image whose size is not
// its annotation's, a ref whose ann_id is not in the instances, nothing to evaluate, cancelled).
nlohmann::json evaluate_refseg(const heads::Segmenter& seg, const RefsegEvalOptions& o);

}  // namespace setok::eval
