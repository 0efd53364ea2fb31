#pragma once
// CIDEr-D (Vedantam et al. 2015) as the coco-caption toolkit computes it, so our figures compare
// with published ones. Definition and deviations: docs/design/metrics.md.
#include <string>
#include <string_view>
#include <vector>

namespace setok::eval {

// Lowercase (ASCII), every ASCII punctuation character a word break, split on whitespace. Stands in
// for the toolkit's PTB tokenizer + punctuation removal: "A dog's toy." → {"a", "dog", "s", "toy"}
// (PTB would give "'s" for "s"; either way one token, so n-gram counts line up).
std::vector<std::string> tokenize_caption(std::string_view text);

struct CiderOptions {
  int max_n = 4;       // n-grams of order 1..max_n, averaged with equal weight
  double sigma = 6.0;  // Gaussian length penalty exp(−Δlen² / 2σ²)
};

struct CiderResult {
  double corpus = 0;              // mean of per_image (the figure papers report)
  std::vector<double> per_image;  // one score per candidate, in the input order
};

// candidates[i] is the generated caption of image i, references[i] its ground-truth captions (at
// least one each). Document frequencies come from the references of all images given, so a score
// depends on the whole evaluation set: score the set at once, not image by image.
CiderResult cider_d(const std::vector<std::string>& candidates, const std::vector<std::vector<std::string>>& references,
                    const CiderOptions& options = {});

}  // namespace setok::eval
