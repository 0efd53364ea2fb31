#include "core/eval/setok_eval.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>

#include "core/eval/image_metrics.h"
#include "core/eval/label_maps.h"
#include "core/eval/probe_metrics.h"
#include "core/eval/retrieval_metrics.h"
#include "core/eval/segmentation_metrics.h"
#include "core/io/checkpoint.h"
#include "core/nn/state_dict.h"
#include "core/runtime/error.h"
#include "core/train/concept_loss.h"
#include "core/train/text_encoder.h"
#include "core/train/token_head.h"
#include "core/train/word_vocab.h"

namespace fs = std::filesystem;

namespace setok::eval {
namespace {

double mean_of(const std::vector<double>& v) {
  double s = 0;
  std::int64_t n = 0;
  for (double x : v)
    if (std::isfinite(x)) s += x, ++n;
  return n ? s / n : std::nan("");
}

// NaN is not JSON: report an object's undefined figures as null.
void null_non_finite(nlohmann::json& j) {
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it->is_number_float() && !std::isfinite(it->get<double>())) *it = nullptr;
}

std::int64_t finite_count(const std::vector<double>& v) {
  std::int64_t n = 0;
  for (double x : v) n += std::isfinite(x);
  return n;
}

// Class prompt embeddings (template-averaged) from the text encoder saved with the model.
struct ConceptHead {
  bool available = false;
  std::vector<std::string> labels;
  at::Tensor class_emb;                  // [L, d], unit rows
  train::TokenHead token_head{nullptr};  // the model's token head, when it was trained with one
};

ConceptHead load_concept_head(const std::string& dir) {
  ConceptHead h;
  fs::path tw = fs::path(dir) / "text_encoder.safetensors";
  if (dir.empty() || !fs::exists(tw)) return h;
  nlohmann::json cfg = io::read_json_file((fs::path(dir) / "config.json").string());
  if (!cfg.contains("concept")) return h;
  const auto& c = cfg["concept"];
  train::WordVocab vocab = train::WordVocab::from_json(c["vocab"]);
  const auto& te = c["text_encoder"];
  train::TextEncoder enc(train::TextEncoderOptions()
                             .vocab_size(te["vocab_size"])
                             .dim(te["dim"])
                             .layers(te["layers"])
                             .heads(te["heads"])
                             .max_len(te["max_len"])
                             .out_dim(te["out_dim"]));
  io::TensorMap w = io::load_safetensors(tw.string());
  w.erase("logit_scale");
  nn::take_prefixed(w, train::kSemanticHeadPrefix);  // a training checkpoint's patch-class head
  const io::TensorMap head_w = nn::take_prefixed(w, train::kTokenHeadPrefix);
  const std::int64_t head_hidden = train::token_head_width(c);
  if (head_hidden > 0) {
    if (head_w.empty())
      throw Error(tw.string() + ": config.json names a token head but the file has none of its tensors");
    h.token_head = train::TokenHead(te["out_dim"].get<std::int64_t>(), head_hidden);
    nn::load_state_dict(*h.token_head, head_w);
    h.token_head->eval();
  }
  nn::load_state_dict(*enc, w);
  enc->eval();
  h.labels = c["labels"].get<std::vector<std::string>>();
  auto templates = c["templates"].get<std::vector<std::string>>();
  std::vector<at::Tensor> per_template;
  for (const auto& t : templates) {
    std::vector<std::string> prompts;
    for (const auto& l : h.labels) {
      std::string s = t;
      auto p = s.find("{}");
      prompts.push_back(p == std::string::npos ? s + " " + l : s.replace(p, 2, l));
    }
    at::Tensor e = enc->forward(vocab.encode_batch(prompts));
    per_template.push_back(e / e.norm(2, -1, true).clamp_min(1e-6));
  }
  at::Tensor m = at::stack(per_template).mean(0);
  h.class_emb = m / m.norm(2, -1, true).clamp_min(1e-6);
  h.available = true;
  return h;
}

// Objects scored, named right, with a token of their own (train::own_tokens) and named right
// among those: what separates the read-out's errors from the grouping's.
struct ConceptTally {
  std::int64_t objects = 0, right = 0, own = 0, own_right = 0;
  void add(bool is_right, bool is_own) {
    ++objects;
    right += is_right;
    own += is_own;
    own_right += is_own && is_right;
  }
};

// One class's objects: how many, how many named right, and what the others were named instead.
struct ClassTally {
  std::int64_t objects = 0, right = 0;
  std::map<std::int64_t, std::int64_t> wrong;  // predicted class -> times
  void add(bool is_right, std::int64_t got) {
    ++objects;
    if (is_right) {
      ++right;
    } else {
      ++wrong[got];
    }
  }
  // How often its objects' tokens pick it, and what they pick most often instead.
  nlohmann::json to_json(const std::vector<std::string>& labels) const {
    nlohmann::json c = {{"objects", objects},
                        {"top1", static_cast<double>(right) / static_cast<double>(objects)},
                        {"confused_with", nullptr}};
    std::int64_t most = 0;
    for (const auto& [cls, times] : wrong)
      if (times > most) {
        most = times;
        c["confused_with"] = labels[static_cast<std::size_t>(cls)];
      }
    return c;
  }
};

// By the object's area in patches (the sum of the shares of the patches it covers): whether
// concept errors are the small objects', which a few 8-px patches show little of.
struct AreaTallies {
  const std::vector<double> edges = {0, 4, 8, 16, 32};
  std::vector<ConceptTally> buckets = std::vector<ConceptTally>(edges.size());
  void add(double area, bool is_right, bool is_own) {
    const auto bucket = std::upper_bound(edges.begin(), edges.end(), area) - edges.begin() - 1;
    buckets[static_cast<std::size_t>(std::max<std::ptrdiff_t>(bucket, 0))].add(is_right, is_own);
  }
  // Per area bucket [from, to) in patches (to null: no upper bound); empty buckets are left out.
  nlohmann::json to_json() const {
    nlohmann::json areas = nlohmann::json::array();
    for (std::size_t b = 0; b < buckets.size(); ++b) {
      const ConceptTally& a = buckets[b];
      if (a.objects == 0) continue;
      nlohmann::json e = {{"patches_from", edges[b]},
                          {"patches_to", b + 1 < edges.size() ? nlohmann::json(edges[b + 1]) : nlohmann::json()},
                          {"objects", a.objects},
                          {"top1", static_cast<double>(a.right) / a.objects},
                          {"own_token_share", static_cast<double>(a.own) / a.objects},
                          {"top1_own_token", a.own ? static_cast<double>(a.own_right) / a.own : std::nan("")}};
      null_non_finite(e);
      areas.push_back(e);
    }
    return areas;
  }
};

// Reconstruction and grouping by the scenes world's background kind (when the data says it).
struct BackgroundTallies {
  struct KindTally {
    std::vector<double> psnr, ssim, l1, ari;
  };
  std::map<std::string, KindTally> kinds;
  void add(const std::string& kind, double psnr, double ssim, double l1, double ari) {
    if (kind.empty()) return;
    KindTally& k = kinds[kind];
    k.psnr.push_back(psnr);
    k.ssim.push_back(ssim);
    k.l1.push_back(l1);
    k.ari.push_back(ari);
  }
  nlohmann::json to_json() const {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [kind, k] : kinds) {
      nlohmann::json e = {{"images", k.psnr.size()},
                          {"psnr_db", mean_of(k.psnr)},
                          {"ssim", mean_of(k.ssim)},
                          {"l1", mean_of(k.l1)},
                          {"fg_ari", mean_of(k.ari)}};
      null_non_finite(e);
      out[kind] = e;
    }
    return out;
  }
};

// Reconstruction quality, one entry per image.
struct ReconstructionScores {
  // One batch's figures, [B] each.
  struct Batch {
    at::Tensor psnr, ssim, l1, spread_in, spread_out;
  };
  std::vector<double> psnr, ssim, l1, spread_in, spread_out;

  static Batch score(const at::Tensor& pixels, const at::Tensor& recon) {
    at::Tensor a = (pixels + 1) / 2, b = ((recon + 1) / 2).clamp(0, 1);
    at::Tensor p = eval::psnr(b, a), s = eval::ssim(b, a), l = l1_error(b, a);
    at::Tensor sa = pixel_spread(a) * 255.0, sb = pixel_spread(b) * 255.0;
    return {p, s, l, sa, sb};
  }
  void add(const Batch& b, std::int64_t i) {
    spread_in.push_back(b.spread_in[i].item<double>());
    spread_out.push_back(b.spread_out[i].item<double>());
    psnr.push_back(b.psnr[i].item<double>());
    ssim.push_back(b.ssim[i].item<double>());
    l1.push_back(b.l1[i].item<double>());
  }
};

// The tokens' grouping against the instance masks, one entry per image.
struct GroupingScores {
  std::vector<double> ari, ari_whole, ari_unshared, miou, refined_ari, refined_miou;

  // FG-ARI of the patch grouping, and where it is lost (eval::fg_ari_breakdown).
  void add_ari(const at::Tensor& truth, const at::Tensor& full) {
    ari.push_back(foreground_ari(truth, full));
    const FgAriBreakdown lost = fg_ari_breakdown(truth, full);
    ari_whole.push_back(lost.whole);
    ari_unshared.push_back(lost.unshared);
  }
  // mIoU of the patch grouping, then both scores of the same masks at pixel resolution
  // (tokenizer::refine_token_map).
  void add_miou_and_refined(const at::Tensor& truth, const at::Tensor& full, const io::Image& image,
                            const at::Tensor& assign, std::int64_t grid_h, std::int64_t grid_w) {
    miou.push_back(instance_miou(truth, full).matched);
    at::Tensor refined = pixel_edge_labels(image, assign, grid_h, grid_w);
    refined_ari.push_back(foreground_ari(truth, refined));
    refined_miou.push_back(instance_miou(truth, refined).matched);
  }
};

// Patch groupings made from the truth, at the same nearest upsampling, one entry per image that
// has object masks.
struct OracleScores {
  std::vector<double> ari, miou, refined, fg_ari, fg_miou;

  void add(const at::Tensor& truth, const at::Tensor& object_masks, const io::Image& image, std::int64_t grid_h,
           std::int64_t grid_w, int S) {
    if (!(object_masks.defined() && object_masks.numel() > 0)) return;
    // Majority vote: each patch given to whatever covers most of it (an object, or the
    // background), which labels the most pixels right; FG-ARI favours other masks (objects first, below).
    at::Tensor share = object_masks.to(at::kFloat);  // [K, N]
    at::Tensor bg = (1 - share.sum(0, true)).clamp_min(0);
    at::Tensor best = at::cat({bg, share}, 0).argmax(0);
    at::Tensor up = patch_labels(best, grid_h, grid_w, S);
    ari.push_back(foreground_ari(truth, up));
    miou.push_back(instance_miou(truth, up).matched);
    // ... and the same grouping with pixel edges: what the refinement gives a perfect grouping.
    refined.push_back(foreground_ari(truth, pixel_edge_labels(image, best, grid_h, grid_w)));
    // FG-ARI scores object pixels only, so the patch grouping it favours gives each patch to the
    // object covering most of it, and to the background only where no object reaches.
    at::Tensor fg_best = at::where(share.sum(0) > 0, share.argmax(0) + 1, at::zeros_like(best));
    at::Tensor fg_up = patch_labels(fg_best, grid_h, grid_w, S);
    fg_ari.push_back(foreground_ari(truth, fg_up));
    fg_miou.push_back(instance_miou(truth, fg_up).matched);
  }
  void write(nlohmann::json& j) const {
    if (ari.empty()) return;
    j["patch_oracle_fg_ari"] = mean_of(ari);
    j["patch_oracle_miou"] = mean_of(miou);
    j["patch_oracle_fg_ari_refined"] = mean_of(refined);
    j["patch_oracle_fg_ari_objects_first"] = mean_of(fg_ari);
    j["patch_oracle_miou_objects_first"] = mean_of(fg_miou);
  }
};

// For the place probe: each token, the mean encoder feature of its cluster, its geometry, its image.
struct PlaceProbe {
  std::vector<at::Tensor> tokens, means, geometry;
  std::vector<std::int64_t> image;

  // Image i of the batch `t`, image_index in the data.
  void add(const tokenizer::Tokenized& t, std::int64_t i, const at::Tensor& valid, const at::Tensor& assign,
           std::int64_t image_index) {
    const std::int64_t c = t.clusters.masks.size(2);
    at::Tensor geo = token_place(assign, t.grid_h, t.grid_w, c);  // [C, 4]
    at::Tensor keep = at::logical_and(valid.to(at::kCPU), at::logical_not(at::isnan(geo.select(1, 0))));
    if (!keep.any().item<bool>()) return;
    at::Tensor hard = at::one_hot(assign, c).to(t.features.scalar_type());  // [N, C]
    at::Tensor m = at::matmul(hard.t(), t.features[i]) / hard.sum(0).clamp_min(1).unsqueeze(1);
    at::Tensor idx = keep.nonzero().squeeze(1);
    tokens.push_back(t.tokens[i].to(at::kCPU, at::kDouble).index_select(0, idx));
    means.push_back(m.to(at::kCPU, at::kDouble).index_select(0, idx));
    geometry.push_back(geo.index_select(0, idx));
    image.insert(image.end(), idx.size(0), image_index);
  }

  // How well a linear map reads each token's place from it (fitted on the first half of the
  // images, scored on the second), against the same probe on the mean encoder feature of the
  // token's cluster, i.e. what the merger was given. Null when there is too little to fit or score.
  nlohmann::json to_json(std::int64_t n) const {
    nlohmann::json probe = nullptr;
    if (tokens.empty()) return probe;
    at::Tensor tok = at::cat(tokens), mean = at::cat(means), geo = at::cat(geometry);
    at::Tensor img = at::tensor(image);
    at::Tensor fit = (img < n / 2).nonzero().squeeze(1), held = (img >= n / 2).nonzero().squeeze(1);
    if (fit.size(0) >= 2 && held.size(0) >= 2) {
      auto scores = [&](const at::Tensor& x) {
        auto r2 = linear_probe_r2(x.index_select(0, fit), geo.index_select(0, fit), x.index_select(0, held),
                                  geo.index_select(0, held));
        return nlohmann::json{{"r2_x", r2[0]}, {"r2_y", r2[1]}, {"r2_spread_x", r2[2]}, {"r2_spread_y", r2[3]}};
      };
      probe = {{"tokens", scores(tok)},
               {"cluster_mean_features", scores(mean)},
               {"tokens_fit", fit.size(0)},
               {"tokens_held_out", held.size(0)}};
    }
    return probe;
  }
};

// Zero-shot concept scores: each object's token against the class prompts of the model's text encoder.
struct ConceptScores {
  ConceptHead head;
  std::map<std::string, std::int64_t> class_id;
  ConceptTally all;
  std::map<std::string, ClassTally> per_class;
  AreaTallies per_area;
  std::int64_t unknown = 0;

  explicit ConceptScores(ConceptHead h) : head(std::move(h)) {
    for (std::size_t i = 0; i < head.labels.size(); ++i) class_id[head.labels[i]] = static_cast<std::int64_t>(i);
  }
  // One image: its hard token masks [N, C], valid tokens [C], tokens [C, d].
  void add(const at::Tensor& masks, const at::Tensor& valid, const at::Tensor& image_tokens,
           const train::SetokSample& smp) {
    if (!head.available || smp.labels.empty()) return;
    at::Tensor which = train::object_tokens(masks, valid, smp.object_masks);
    at::Tensor v = image_tokens.index_select(0, which);
    if (head.token_head) v = head.token_head->forward(v);
    at::Tensor scores = at::matmul(v / v.norm(2, -1, true).clamp_min(1e-6), head.class_emb.t());
    const std::vector<std::int64_t> pred = top1_predictions(scores);
    const at::Tensor own = train::own_tokens(masks, which, smp.object_masks).contiguous();
    const bool* own_k = own.data_ptr<bool>();
    const at::Tensor area = smp.object_masks.to(at::kDouble).sum(1).contiguous();
    const double* area_k = area.data_ptr<double>();
    for (std::size_t k = 0; k < smp.labels.size(); ++k) {
      auto it = class_id.find(smp.labels[k]);
      if (it == class_id.end()) {
        ++unknown;
        continue;
      }
      const std::int64_t got = pred[k];
      const bool right = got == it->second;
      all.add(right, own_k[k]);
      per_area.add(area_k[k], right, own_k[k]);
      per_class[smp.labels[k]].add(right, got);
    }
  }
  void write(nlohmann::json& j) const {
    if (!head.available) {
      j["concept_top1"] = nullptr;
      return;
    }
    j["concept_top1"] = all.objects ? static_cast<double>(all.right) / all.objects : std::nan("");
    j["concept_objects"] = all.objects;
    j["concept_own_token_share"] = all.objects ? static_cast<double>(all.own) / all.objects : std::nan("");
    j["concept_top1_own_token"] = all.own ? static_cast<double>(all.own_right) / all.own : std::nan("");
    j["concept_top1_shared_token"] =
        all.objects > all.own ? static_cast<double>(all.right - all.own_right) / (all.objects - all.own) : std::nan("");
    // The width of the token head the scores went through (0: the tokens met the text side as they are).
    j["concept_token_head"] = head.token_head ? head.token_head->hidden() : 0;
    j["concept_unknown_labels"] = unknown;
    nlohmann::json classes = nlohmann::json::object();
    for (const auto& [label, tally] : per_class) classes[label] = tally.to_json(head.labels);
    j["concept_per_class"] = classes;
    j["concept_by_area"] = per_area.to_json();
  }
};

// Everything gathered over the images.
struct Tallies {
  explicit Tallies(ConceptHead head) : concepts(std::move(head)) {}
  ReconstructionScores recon;
  GroupingScores grouping;
  OracleScores oracle;
  BackgroundTallies per_background;
  PlaceProbe probe;
  ConceptScores concepts;
  std::vector<std::int64_t> tokens, objects;
};

// Image i of a batch (image_index in the data): every figure of it, in one fixed order.
void score_image(Tallies& e, const ReconstructionScores::Batch& r, const tokenizer::Tokenized& t,
                 const at::Tensor& pixels, const train::SetokSample& smp, std::int64_t i, std::int64_t image_index,
                 int S) {
  e.recon.add(r, i);
  at::Tensor valid = t.clusters.token_valid[i];
  at::Tensor assign = t.clusters.masks[i].masked_fill(~valid.unsqueeze(0), -1).argmax(1);  // [N]
  at::Tensor full = patch_labels(assign, t.grid_h, t.grid_w, S);
  at::Tensor truth = smp.instance_map.reshape({S * S});
  e.grouping.add_ari(truth, full);
  e.per_background.add(smp.background, e.recon.psnr.back(), e.recon.ssim.back(), e.recon.l1.back(),
                       e.grouping.ari.back());
  e.probe.add(t, i, valid, assign, image_index);
  const io::Image image = to_image(pixels[i]);
  e.grouping.add_miou_and_refined(truth, full, image, assign, t.grid_h, t.grid_w);
  e.oracle.add(truth, smp.object_masks, image, t.grid_h, t.grid_w, S);
  e.tokens.push_back(t.clusters.num_tokens[i].item<std::int64_t>());
  e.objects.push_back(static_cast<std::int64_t>(smp.labels.size()));
  e.concepts.add(t.clusters.masks[i], valid, t.tokens[i], smp);
}

// Images [start, end) of the data: tokenized and reconstructed together, then scored one by one.
void score_batch(Tallies& e, tokenizer::SetokModel& model, const train::SetokDataset& data, const SetokEvalOptions& o,
                 std::int64_t start, std::int64_t end, int S) {
  std::vector<train::SetokSample> samples;
  std::vector<at::Tensor> px;
  for (std::int64_t i = start; i < end; ++i) {
    samples.push_back(data.get(static_cast<std::size_t>(i)));
    px.push_back(samples.back().pixels);
  }
  at::Tensor pixels = at::stack(px);
  tokenizer::Tokenized t = model->tokenize(pixels, o.cluster.value_or(model->config().cluster));
  at::Tensor recon = model->reconstruct(pixels, t);
  const ReconstructionScores::Batch r = ReconstructionScores::score(pixels, recon);
  for (std::int64_t i = 0; i < end - start; ++i) score_image(e, r, t, pixels, samples[i], i, start + i, S);
}

// The report: the means over the images, then the diagnoses; NaN written as null.
nlohmann::json report(const Tallies& e, std::int64_t n, double secs) {
  TokenCountAgreement agree = token_count_agreement(e.tokens, e.objects);
  double tok_mean = 0;
  for (auto x : e.tokens) tok_mean += static_cast<double>(x);
  nlohmann::json j = {
      {"images", n},
      {"fg_ari", mean_of(e.grouping.ari)},
      {"fg_ari_images", finite_count(e.grouping.ari)},
      {"miou", mean_of(e.grouping.miou)},
      {"tokens_per_image", n ? tok_mean / n : 0.0},
      {"tokens_within_one_of_objects_plus_one", agree.within_one},
      {"tokens_objects_pearson", agree.pearson},
      {"psnr_db", mean_of(e.recon.psnr)},
      {"ssim", mean_of(e.recon.ssim)},
      {"l1", mean_of(e.recon.l1)},
      // Per-channel standard deviation over the image, of 255, averaged over images: a flat
      // reconstruction has a small one whatever its PSNR.
      {"pixel_spread_input", mean_of(e.recon.spread_in)},
      {"pixel_spread_reconstruction", mean_of(e.recon.spread_out)},
      {"seconds", secs},
  };
  j["fg_ari_refined"] = mean_of(e.grouping.refined_ari);
  // Where FG-ARI is lost (eval::fg_ari_breakdown; diagnoses, reading the ground truth).
  j["fg_ari_if_objects_whole"] = mean_of(e.grouping.ari_whole);
  j["fg_ari_if_tokens_unshared"] = mean_of(e.grouping.ari_unshared);
  j["token_place_probe"] = e.probe.to_json(n);
  j["miou_refined"] = mean_of(e.grouping.refined_miou);
  e.oracle.write(j);
  e.concepts.write(j);
  if (!e.per_background.kinds.empty()) j["by_background"] = e.per_background.to_json();
  null_non_finite(j);
  return j;
}

}  // namespace

nlohmann::json evaluate_setok(tokenizer::SetokModel& model, const std::string& model_dir,
                              const train::SetokDataset& data, const SetokEvalOptions& o) {
  c10::InferenceMode guard;
  model->eval();
  Tallies e(load_concept_head(model_dir));
  const std::int64_t n = o.limit > 0 ? std::min<std::int64_t>(o.limit, data.size()) : data.size();
  const int S = static_cast<int>(model->config().vision.image_size);
  auto t0 = std::chrono::steady_clock::now();
  for (std::int64_t start = 0; start < n; start += o.batch_size) {
    const std::int64_t end = std::min<std::int64_t>(n, start + o.batch_size);
    score_batch(e, model, data, o, start, end, S);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report(e, n, secs);
}

}  // namespace setok::eval
