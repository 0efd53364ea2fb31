#pragma once
// Segmentation as the tools see it (paper §2.2, Appendix D.1): a SeTokim folder with a mask decoder
// beside it (mask_decoder.json + mask_decoder.safetensors) answers a referring expression, clicks, a
// box, a previous mask to refine, or any mix of them, with candidate masks at the image's own
// resolution. The image is encoded once (encode) and every later query on it runs only the light
// decoder (and, for an expression, the language model over the request), as click tools do.
// Torch-free header: the CLI, the engine and the studio include it.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/io/image.h"

namespace setok::mllm {
class LoadedSetokim;
}

namespace setok::heads {

struct Click {
  float x = 0, y = 0;  // pixel coordinates of the image (0..width, 0..height)
  bool positive = true;
};

struct Box {
  float x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // pixel coordinates, x0 < x1, y0 < y1
};

struct SegmentQuery {
  std::string expression;  // a referring expression ("the small green dress"); empty: none
  // Instead of an expression: the user's own request as typed in a chat ("Please segment the dress.")
  // to which the model answered [SEG]; empty: "Segment {expression}." is asked.
  std::string request;
  std::vector<Click> clicks;
  std::optional<Box> box;
  // The previous result's low-resolution logits (SegmentResult::low_res) to refine; empty: none.
  std::vector<float> previous;
  // A starting mask at the image's resolution (0/1, width * height), e.g. a SeTok token's mask or a
  // brushed mask, given to the decoder as its dense prompt; empty: none. Ignored when `previous` is set.
  std::vector<std::uint8_t> start_mask;
  // A lone click (nothing else in the query) starts from the SeTok token under it: that token's mask
  // is the decoder's dense prompt and the single mask is shown (token_under_click.h). false: the
  // click alone, answered with three alternatives, the best by predicted IoU shown (SAM's way).
  bool token_under_click = true;
  // Clicks after the first look again at a crop around the mask and the clicks (zoom_in.h), where
  // the query has a previous mask and no words; false: always the whole image.
  bool zoom = true;
  // Only the mask to show (a hover preview): the other candidates keep their predicted IoU but no
  // mask (empty), and skip the full-resolution refinement.
  bool best_only = false;
};

struct MaskCandidate {
  std::vector<std::uint8_t> mask;       // 0/1 at the image's resolution, row-major
  float predicted_iou = 0;              // the decoder's estimate of this mask's IoU with what was meant
  std::int64_t area = 0;                // pixels set
  std::array<int, 4> bbox{0, 0, 0, 0};  // x, y, width, height (COCO's order); zeros when empty
};

struct SegmentTimings {
  double encode_ms = 0;    // 0 when the image (or the zoomed crop) was encoded before
  double language_ms = 0;  // the language model over the request (expressions only)
  double decode_ms = 0;    // prompt encoder, two-way transformer, upscaling, pixel refinement
  double total_ms = 0;
};

struct SegmentResult {
  int width = 0, height = 0;
  // The decoder's masks: [0] the single-mask output (used when a query is unambiguous), [1..3] the
  // three alternatives it gives for an ambiguous prompt (one click alone). `best` is the one to show.
  std::vector<MaskCandidate> candidates;
  int best = 0;
  // The best candidate's logits at the decoder's low resolution (low_res_side²), to pass back as
  // SegmentQuery::previous for the next click.
  std::vector<float> low_res;
  int low_res_side = 0;
  // The visual tokens (indices into the image's SeTok tokens) the decoder says the expression
  // refers to, with their relevance in [0, 1]; empty without an expression.
  std::vector<int> referred_tokens;
  std::vector<float> relevance;
  // The crop the decoder looked at (SegmentQuery::zoom): x0, y0, side in the image's pixels; side 0:
  // the whole image.
  std::array<int, 3> zoom{0, 0, 0};
  SegmentTimings ms;
  const MaskCandidate& mask() const { return candidates.at(static_cast<std::size_t>(best)); }
};

// An image as the decoder reads it: the vision encoder's patch features, the visual tokens, their
// patch assignment and the pixels at the model's input size. Opaque; shared read-only.
class EncodedImage;

class Segmenter {
 public:
  // Loads a SeTokim folder and its mask decoder. Throws setok::Error naming what is wrong (no
  // mask decoder in the folder included).
  static std::shared_ptr<const Segmenter> load(const std::string& setokim_dir);
  // The same over a SeTokim already loaded (the studio shares one with chat).
  static std::shared_ptr<const Segmenter> load(std::shared_ptr<const mllm::LoadedSetokim> model);
  // Whether a folder has a mask decoder (mask_decoder.json), without loading anything.
  static bool has_decoder(const std::string& setokim_dir);
  ~Segmenter();
  Segmenter(const Segmenter&) = delete;
  Segmenter& operator=(const Segmenter&) = delete;

  // Runs the vision side once. Throws setok::Error on an empty image.
  std::shared_ptr<const EncodedImage> encode(const io::Image& image) const;
  // Throws setok::Error with a one-line reason for a query with nothing in it, a click or box
  // outside the image, a previous mask of the wrong size, or a start mask of the wrong size.
  SegmentResult segment(const EncodedImage& image, const SegmentQuery& query) const;
  // Both, for one-off calls.
  SegmentResult segment(const io::Image& image, const SegmentQuery& query) const;

  const mllm::LoadedSetokim& model() const { return *model_; }
  std::shared_ptr<const mllm::LoadedSetokim> shared_model() const { return model_; }
  // Whether the decoder was trained with the language model's prompts (else clicks and boxes only).
  bool reads_language() const;

  struct Impl;

 private:
  Segmenter() = default;
  std::shared_ptr<const mllm::LoadedSetokim> model_;
  std::unique_ptr<Impl> impl_;
};

// The mask as a PNG of 0/255 (written atomically).
void save_mask_png(const std::string& path, int width, int height, const std::vector<std::uint8_t>& mask);
// The image with the mask tinted over it (and its outline), for --overlay and screenshots.
io::Image mask_overlay(const io::Image& image, const std::vector<std::uint8_t>& mask);

}  // namespace setok::heads
