#include "core/eval/caption_metrics.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>

#include "core/runtime/error.h"

namespace setok::eval {
namespace {

using Ngram = std::string;  // words joined by single spaces: unambiguous since words hold no space
using Counts = std::map<Ngram, int>;

// All n-grams of order 1..max_n with their counts.
Counts ngram_counts(const std::vector<std::string>& words, int max_n) {
  Counts c;
  for (int n = 1; n <= max_n; ++n)
    for (std::size_t i = 0; i + n <= words.size(); ++i) {
      std::string g = words[i];
      for (int k = 1; k < n; ++k) g += ' ' + words[i + k];
      ++c[g];
    }
  return c;
}

int order_of(const Ngram& g) { return 1 + static_cast<int>(std::count(g.begin(), g.end(), ' ')); }

// TF-IDF vector split by n-gram order, with each order's L2 norm.
struct Vec {
  std::vector<std::map<Ngram, double>> w;
  std::vector<double> norm;
  int64_t length = 0;  // words
};

Vec tfidf(const std::vector<std::string>& words, const std::map<Ngram, int>& df, double log_images, int max_n) {
  Vec v;
  v.w.resize(max_n);
  v.norm.assign(max_n, 0.0);
  v.length = static_cast<int64_t>(words.size());
  for (const auto& [g, tf] : ngram_counts(words, max_n)) {
    auto it = df.find(g);
    // An n-gram no reference uses has df 0, taken as 1 (as the toolkit does): it still weighs on
    // the candidate's norm, which is how CIDEr punishes words the references never say.
    const double idf = log_images - std::log(std::max(1.0, it == df.end() ? 0.0 : static_cast<double>(it->second)));
    const int n = order_of(g) - 1;
    v.w[n][g] = tf * idf;
    v.norm[n] += (tf * idf) * (tf * idf);
  }
  for (double& x : v.norm) x = std::sqrt(x);
  return v;
}

// Per-order similarity of candidate c to reference r, CIDEr-D's two changes to CIDEr included:
// candidate weights clipped to the reference's (repeating a word cannot buy score) and the
// Gaussian length penalty (short or padded captions cannot game the cosine).
std::vector<double> similarity(const Vec& c, const Vec& r, double sigma) {
  const double delta = static_cast<double>(c.length - r.length);
  const double penalty = std::exp(-(delta * delta) / (2 * sigma * sigma));
  std::vector<double> s(c.w.size(), 0.0);
  for (std::size_t n = 0; n < c.w.size(); ++n) {
    for (const auto& [g, wc] : c.w[n]) {
      auto it = r.w[n].find(g);
      if (it != r.w[n].end()) s[n] += std::min(wc, it->second) * it->second;
    }
    // A zero vector (no n-grams of this order, or only n-grams every image shares) scores 0.
    if (c.norm[n] != 0 && r.norm[n] != 0) s[n] /= c.norm[n] * r.norm[n];
    s[n] *= penalty;
  }
  return s;
}

}  // namespace

std::vector<std::string> tokenize_caption(std::string_view text) {
  std::vector<std::string> words;
  std::string cur;
  for (char ch : text) {
    const auto u = static_cast<unsigned char>(ch);
    if (std::isspace(u) || std::ispunct(u)) {
      if (!cur.empty()) words.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += static_cast<char>(std::tolower(u));  // bytes ≥ 0x80 (UTF-8) pass through unchanged
    }
  }
  if (!cur.empty()) words.push_back(std::move(cur));
  return words;
}

CiderResult cider_d(const std::vector<std::string>& candidates, const std::vector<std::vector<std::string>>& references,
                    const CiderOptions& options) {
  if (candidates.size() != references.size()) throw Error("CIDEr-D: one list of references per candidate");
  if (options.max_n < 1 || !(options.sigma > 0)) throw Error("CIDEr-D: max_n ≥ 1 and sigma > 0");
  CiderResult out;
  if (candidates.empty()) {
    out.corpus = std::nan("");
    return out;
  }
  const int max_n = options.max_n;
  std::vector<std::vector<std::vector<std::string>>> ref_words(references.size());
  // Document frequency: the number of images whose references (any of them) contain the n-gram.
  std::map<Ngram, int> df;
  for (std::size_t i = 0; i < references.size(); ++i) {
    if (references[i].empty()) throw Error("CIDEr-D: image " + std::to_string(i) + " has no reference");
    std::set<Ngram> seen;
    for (const auto& r : references[i]) {
      ref_words[i].push_back(tokenize_caption(r));
      for (const auto& [g, count] : ngram_counts(ref_words[i].back(), max_n)) seen.insert(g);
    }
    for (const auto& g : seen) ++df[g];
  }
  const double log_images = std::log(static_cast<double>(references.size()));
  out.per_image.reserve(candidates.size());
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const Vec c = tfidf(tokenize_caption(candidates[i]), df, log_images, max_n);
    double sum = 0;  // over references and orders
    for (const auto& words : ref_words[i]) {
      const auto s = similarity(c, tfidf(words, df, log_images, max_n), options.sigma);
      for (double x : s) sum += x;
    }
    // Mean over orders, mean over references, ×10 (the toolkit's scale, so a score is comparable
    // with published CIDEr-D figures).
    out.per_image.push_back(10.0 * sum / max_n / static_cast<double>(ref_words[i].size()));
  }
  double total = 0;
  for (double x : out.per_image) total += x;
  out.corpus = total / static_cast<double>(out.per_image.size());
  return out;
}

}  // namespace setok::eval
