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
  at::Tensor class_emb;  // [L, d], unit rows
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
    if (head_w.empty()) throw Error(tw.string() + ": config.json names a token head but the file has none of its tensors");
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

}  // namespace

nlohmann::json evaluate_setok(tokenizer::SetokModel& model, const std::string& model_dir,
                              const train::SetokDataset& data, const SetokEvalOptions& o) {
  c10::InferenceMode guard;
  model->eval();
  ConceptHead head = load_concept_head(model_dir);
  std::map<std::string, std::int64_t> class_id;
  for (std::size_t i = 0; i < head.labels.size(); ++i) class_id[head.labels[i]] = static_cast<std::int64_t>(i);
  const std::int64_t n = o.limit > 0 ? std::min<std::int64_t>(o.limit, data.size()) : data.size();
  const int S = static_cast<int>(model->config().vision.image_size);
  std::vector<double> ari, miou, psnr_v, ssim_v, l1_v, spread_in, spread_out, oracle_ari, oracle_miou, refined_ari, refined_miou, oracle_refined, oracle_fg_ari, oracle_fg_miou, ari_unshared, ari_whole;
  std::vector<std::int64_t> tokens, objects;
  std::int64_t concept_unknown = 0;
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
  ConceptTally concept_all;
  struct ClassTally {
    std::int64_t objects = 0, right = 0;
    std::map<std::int64_t, std::int64_t> wrong;  // predicted class -> times
  };
  std::map<std::string, ClassTally> per_class;
  // By the object's area in patches (the sum of the shares of the patches it covers): whether
  // concept errors are the small objects', which a few 8-px patches show little of.
  const std::vector<double> area_edges = {0, 4, 8, 16, 32};
  std::vector<ConceptTally> per_area(area_edges.size());
  // Reconstruction and grouping by the scenes world's background kind (when the data says it).
  struct KindTally {
    std::vector<double> psnr, ssim, l1, ari;
  };
  std::map<std::string, KindTally> per_background;
  // For the place probe: each token, the mean encoder feature of its cluster, its geometry, its image.
  std::vector<at::Tensor> probe_tokens, probe_means, probe_geometry;
  std::vector<std::int64_t> probe_image;
  auto t0 = std::chrono::steady_clock::now();
  for (std::int64_t start = 0; start < n; start += o.batch_size) {
    const std::int64_t end = std::min<std::int64_t>(n, start + o.batch_size);
    std::vector<train::SetokSample> samples;
    std::vector<at::Tensor> px;
    for (std::int64_t i = start; i < end; ++i) {
      samples.push_back(data.get(static_cast<std::size_t>(i)));
      px.push_back(samples.back().pixels);
    }
    at::Tensor pixels = at::stack(px);
    tokenizer::Tokenized t = model->tokenize(pixels, o.cluster.value_or(model->config().cluster));
    at::Tensor recon = model->reconstruct(pixels, t);
    at::Tensor a = (pixels + 1) / 2, b = ((recon + 1) / 2).clamp(0, 1);
    at::Tensor p = psnr(b, a), s = ssim(b, a), l = l1_error(b, a);
    at::Tensor sa = pixel_spread(a) * 255.0, sb = pixel_spread(b) * 255.0;
    for (std::int64_t i = 0; i < end - start; ++i) {
      spread_in.push_back(sa[i].item<double>());
      spread_out.push_back(sb[i].item<double>());
      psnr_v.push_back(p[i].item<double>());
      ssim_v.push_back(s[i].item<double>());
      l1_v.push_back(l[i].item<double>());
      const auto& smp = samples[i];
      at::Tensor valid = t.clusters.token_valid[i];
      at::Tensor assign = t.clusters.masks[i].masked_fill(~valid.unsqueeze(0), -1).argmax(1);  // [N]
      at::Tensor full = patch_labels(assign, t.grid_h, t.grid_w, S);
      at::Tensor truth = smp.instance_map.reshape({S * S});
      ari.push_back(foreground_ari(truth, full));
      {
        const FgAriBreakdown lost = fg_ari_breakdown(truth, full);
        ari_whole.push_back(lost.whole);
        ari_unshared.push_back(lost.unshared);
      }
      if (!smp.background.empty()) {
        KindTally& k = per_background[smp.background];
        k.psnr.push_back(psnr_v.back());
        k.ssim.push_back(ssim_v.back());
        k.l1.push_back(l1_v.back());
        k.ari.push_back(ari.back());
      }
      {
        const std::int64_t c = t.clusters.masks.size(2);
        at::Tensor geo = token_place(assign, t.grid_h, t.grid_w, c);  // [C, 4]
        at::Tensor keep = at::logical_and(valid.to(at::kCPU), at::logical_not(at::isnan(geo.select(1, 0))));
        if (keep.any().item<bool>()) {
          at::Tensor hard = at::one_hot(assign, c).to(t.features.scalar_type());  // [N, C]
          at::Tensor means = at::matmul(hard.t(), t.features[i]) / hard.sum(0).clamp_min(1).unsqueeze(1);
          at::Tensor idx = keep.nonzero().squeeze(1);
          probe_tokens.push_back(t.tokens[i].to(at::kCPU, at::kDouble).index_select(0, idx));
          probe_means.push_back(means.to(at::kCPU, at::kDouble).index_select(0, idx));
          probe_geometry.push_back(geo.index_select(0, idx));
          probe_image.insert(probe_image.end(), idx.size(0), start + i);
        }
      }
      miou.push_back(instance_miou(truth, full).matched);
      // The same masks at pixel resolution (tokenizer::refine_token_map).
      const io::Image image = to_image(pixels[i]);
      at::Tensor refined = pixel_edge_labels(image, assign, t.grid_h, t.grid_w);
      refined_ari.push_back(foreground_ari(truth, refined));
      refined_miou.push_back(instance_miou(truth, refined).matched);
      // Patch groupings made from the truth, at the same nearest upsampling. Majority vote: each
      // patch given to whatever covers most of it (an object, or the background), which labels
      // the most pixels right; FG-ARI favours other masks (objects first, below).
      if (smp.object_masks.defined() && smp.object_masks.numel() > 0) {
        at::Tensor share = smp.object_masks.to(at::kFloat);  // [K, N]
        at::Tensor bg = (1 - share.sum(0, true)).clamp_min(0);
        at::Tensor best = at::cat({bg, share}, 0).argmax(0);
        at::Tensor up = patch_labels(best, t.grid_h, t.grid_w, S);
        oracle_ari.push_back(foreground_ari(truth, up));
        oracle_miou.push_back(instance_miou(truth, up).matched);
        // ... and the same grouping with pixel edges: what the refinement gives a perfect grouping.
        oracle_refined.push_back(foreground_ari(truth, pixel_edge_labels(image, best, t.grid_h, t.grid_w)));
        // FG-ARI scores object pixels only, so the patch grouping it favours gives each patch to the
        // object covering most of it, and to the background only where no object reaches.
        at::Tensor fg_best = at::where(share.sum(0) > 0, share.argmax(0) + 1, at::zeros_like(best));
        at::Tensor fg_up = patch_labels(fg_best, t.grid_h, t.grid_w, S);
        oracle_fg_ari.push_back(foreground_ari(truth, fg_up));
        oracle_fg_miou.push_back(instance_miou(truth, fg_up).matched);
      }
      tokens.push_back(t.clusters.num_tokens[i].item<std::int64_t>());
      objects.push_back(static_cast<std::int64_t>(smp.labels.size()));
      if (head.available && !smp.labels.empty()) {
        at::Tensor which = train::object_tokens(t.clusters.masks[i], valid, smp.object_masks);
        at::Tensor v = t.tokens[i].index_select(0, which);
        if (head.token_head) v = head.token_head->forward(v);
        at::Tensor scores = at::matmul(v / v.norm(2, -1, true).clamp_min(1e-6), head.class_emb.t());
        const std::vector<std::int64_t> pred = top1_predictions(scores);
        const at::Tensor own = train::own_tokens(t.clusters.masks[i], which, smp.object_masks).contiguous();
        const bool* own_k = own.data_ptr<bool>();
        const at::Tensor area = smp.object_masks.to(at::kDouble).sum(1).contiguous();
        const double* area_k = area.data_ptr<double>();
        for (std::size_t k = 0; k < smp.labels.size(); ++k) {
          auto it = class_id.find(smp.labels[k]);
          if (it == class_id.end()) {
            ++concept_unknown;
            continue;
          }
          const std::int64_t got = pred[k];
          const bool right = got == it->second;
          const auto bucket = std::upper_bound(area_edges.begin(), area_edges.end(), area_k[k]) - area_edges.begin() - 1;
          concept_all.add(right, own_k[k]);
          per_area[static_cast<std::size_t>(std::max<std::ptrdiff_t>(bucket, 0))].add(right, own_k[k]);
          ClassTally& tally = per_class[smp.labels[k]];
          ++tally.objects;
          if (right) {
            ++tally.right;
          } else {
            ++tally.wrong[got];
          }
        }
      }
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  TokenCountAgreement agree = token_count_agreement(tokens, objects);
  double tok_mean = 0;
  for (auto x : tokens) tok_mean += static_cast<double>(x);
  nlohmann::json j = {
      {"images", n},
      {"fg_ari", mean_of(ari)},
      {"fg_ari_images", finite_count(ari)},
      {"miou", mean_of(miou)},
      {"tokens_per_image", n ? tok_mean / n : 0.0},
      {"tokens_within_one_of_objects_plus_one", agree.within_one},
      {"tokens_objects_pearson", agree.pearson},
      {"psnr_db", mean_of(psnr_v)},
      {"ssim", mean_of(ssim_v)},
      {"l1", mean_of(l1_v)},
      // Per-channel standard deviation over the image, of 255, averaged over images: a flat
      // reconstruction has a small one whatever its PSNR.
      {"pixel_spread_input", mean_of(spread_in)},
      {"pixel_spread_reconstruction", mean_of(spread_out)},
      {"seconds", secs},
  };
  j["fg_ari_refined"] = mean_of(refined_ari);
  // Where FG-ARI is lost (eval::fg_ari_breakdown; diagnoses, reading the ground truth).
  j["fg_ari_if_objects_whole"] = mean_of(ari_whole);
  j["fg_ari_if_tokens_unshared"] = mean_of(ari_unshared);
  {
    // How well a linear map reads each token's place from it (fitted on the first half of the
    // images, scored on the second), against the same probe on the mean encoder feature of the
    // token's cluster, i.e. what the merger was given.
    nlohmann::json probe = nullptr;
    if (!probe_tokens.empty()) {
      at::Tensor tok = at::cat(probe_tokens), mean = at::cat(probe_means), geo = at::cat(probe_geometry);
      at::Tensor img = at::tensor(probe_image);
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
    }
    j["token_place_probe"] = probe;
  }
  j["miou_refined"] = mean_of(refined_miou);
  if (!oracle_ari.empty()) {
    j["patch_oracle_fg_ari"] = mean_of(oracle_ari);
    j["patch_oracle_miou"] = mean_of(oracle_miou);
    j["patch_oracle_fg_ari_refined"] = mean_of(oracle_refined);
    j["patch_oracle_fg_ari_objects_first"] = mean_of(oracle_fg_ari);
    j["patch_oracle_miou_objects_first"] = mean_of(oracle_fg_miou);
  }
  if (head.available) {
    j["concept_top1"] = concept_all.objects ? static_cast<double>(concept_all.right) / concept_all.objects : std::nan("");
    j["concept_objects"] = concept_all.objects;
    j["concept_own_token_share"] = concept_all.objects ? static_cast<double>(concept_all.own) / concept_all.objects : std::nan("");
    j["concept_top1_own_token"] = concept_all.own ? static_cast<double>(concept_all.own_right) / concept_all.own : std::nan("");
    j["concept_top1_shared_token"] = concept_all.objects > concept_all.own
                                         ? static_cast<double>(concept_all.right - concept_all.own_right) / (concept_all.objects - concept_all.own)
                                         : std::nan("");
    // The width of the token head the scores went through (0: the tokens met the text side as they are).
    j["concept_token_head"] = head.token_head ? head.token_head->hidden() : 0;
    j["concept_unknown_labels"] = concept_unknown;
    // Per class: how often its objects' tokens pick it, and what they pick most often instead.
    nlohmann::json classes = nlohmann::json::object();
    for (const auto& [label, tally] : per_class) {
      nlohmann::json c = {{"objects", tally.objects},
                          {"top1", static_cast<double>(tally.right) / static_cast<double>(tally.objects)},
                          {"confused_with", nullptr}};
      std::int64_t most = 0;
      for (const auto& [cls, times] : tally.wrong)
        if (times > most) {
          most = times;
          c["confused_with"] = head.labels[static_cast<std::size_t>(cls)];
        }
      classes[label] = c;
    }
    j["concept_per_class"] = classes;
    // Per area bucket [from, to) in patches (to null: no upper bound); empty buckets are left out.
    nlohmann::json areas = nlohmann::json::array();
    for (std::size_t b = 0; b < per_area.size(); ++b) {
      const ConceptTally& a = per_area[b];
      if (a.objects == 0) continue;
      nlohmann::json e = {{"patches_from", area_edges[b]},
                          {"patches_to", b + 1 < area_edges.size() ? nlohmann::json(area_edges[b + 1]) : nlohmann::json()},
                          {"objects", a.objects},
                          {"top1", static_cast<double>(a.right) / a.objects},
                          {"own_token_share", static_cast<double>(a.own) / a.objects},
                          {"top1_own_token", a.own ? static_cast<double>(a.own_right) / a.own : std::nan("")}};
      null_non_finite(e);
      areas.push_back(e);
    }
    j["concept_by_area"] = areas;
  } else {
    j["concept_top1"] = nullptr;
  }
  if (!per_background.empty()) {
    nlohmann::json kinds = nlohmann::json::object();
    for (const auto& [kind, k] : per_background) {
      nlohmann::json e = {{"images", k.psnr.size()}, {"psnr_db", mean_of(k.psnr)}, {"ssim", mean_of(k.ssim)},
                          {"l1", mean_of(k.l1)},     {"fg_ari", mean_of(k.ari)}};
      null_non_finite(e);
      kinds[kind] = e;
    }
    j["by_background"] = kinds;
  }
  null_non_finite(j);
  return j;
}

}  // namespace setok::eval
