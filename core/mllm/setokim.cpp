#include "core/mllm/setokim.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/container/sequential.h>

#include "core/io/checkpoint.h"
#include "core/nn/state_dict.h"
#include "core/runtime/error.h"
#include "core/tokenizer/dpc_knn.h"

namespace setok::mllm {

std::string to_string(Connector c) {
  switch (c) {
    case Connector::kSetok:
      return "setok";
    case Connector::kPatchMlp:
      return "patch_mlp";
    case Connector::kFixedK:
      return "fixed_k";
  }
  return "setok";
}

Connector parse_connector(const std::string& s) {
  if (s == "setok") return Connector::kSetok;
  if (s == "patch_mlp") return Connector::kPatchMlp;
  if (s == "fixed_k") return Connector::kFixedK;
  throw Error("connector '" + s + "' is not one of setok, patch_mlp, fixed_k");
}

nlohmann::json SetokimConfig::to_json() const {
  return {{"model_type", "setokim"},
          {"connector", to_string(connector)},
          {"fixed_k", fixed_k},
          {"token_geometry", token_geometry},
          {"token_appearance", token_appearance},
          {"text_config", text.to_json()},
          {"setok_config", vision.to_json()},
          {"trained", trained}};
}

SetokimConfig SetokimConfig::from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw Error("SeTokim config is not a JSON object");
  if (j.value("model_type", std::string()) != "setokim") throw Error("config.json is not a SeTokim model (model_type)");
  SetokimConfig c;
  try {
    c.text = llm::LlamaConfig::from_json(j.at("text_config"));
    c.vision = tokenizer::SetokConfig::from_json(j.at("setok_config"));
    c.connector = parse_connector(j.value("connector", std::string("setok")));
    c.fixed_k = j.value("fixed_k", 8);
    c.token_geometry = j.value("token_geometry", false);
    c.token_appearance = j.value("token_appearance", 0);
    c.trained = j.value("trained", false);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("SeTokim config: ") + e.what());
  }
  if (c.fixed_k < 1) throw Error("SeTokim config: fixed_k must be at least 1");
  if (c.token_appearance != 0 && (c.token_appearance < 4 || c.token_appearance > 32 || !c.token_geometry))
    throw Error("SeTokim config: token_appearance must be 0, or 4 to 32 with token_geometry");
  return c;
}

ProjectorImpl::ProjectorImpl(std::int64_t in, std::int64_t out, bool with_geometry, int appearance)
    : appearance_side_(appearance) {
  if (appearance != 0 && (!with_geometry || appearance < 4 || appearance > 32))
    throw Error("token appearance maps are 4 × 4 to 32 × 32 and need token geometry");
  linear_1 = register_module("linear_1", torch::nn::Linear(in, out));
  linear_2 = register_module("linear_2", torch::nn::Linear(out, out));
  if (with_geometry) geometry = register_module("geometry", torch::nn::Linear(kGeometryDims, out));
  if (appearance > 0)
    this->appearance = register_module("appearance", torch::nn::Linear(std::int64_t{appearance} * appearance, out));
}

void ProjectorImpl::add_appearance(int n) {
  if (!geometry) throw Error("token appearance needs token geometry");
  if (appearance) throw Error("the projector already reads token appearance");
  if (n < 4 || n > 32) throw Error("token appearance maps are 4 × 4 to 32 × 32");
  const auto& w = linear_1->weight;
  appearance = register_module("appearance", torch::nn::Linear(std::int64_t{n} * n, w.size(0)));
  appearance_side_ = n;
  at::NoGradGuard ng;
  appearance->weight.zero_();
  appearance->bias.zero_();
  appearance->to(w.device(), w.scalar_type());
}

void ProjectorImpl::add_geometry() {
  if (geometry) throw Error("the projector already reads token geometry");
  const auto& w = linear_1->weight;
  geometry = register_module("geometry", torch::nn::Linear(kGeometryDims, w.size(0)));
  at::NoGradGuard ng;
  geometry->weight.zero_();
  geometry->bias.zero_();
  geometry->to(w.device(), w.scalar_type());
}

at::Tensor ProjectorImpl::forward(const at::Tensor& x, const at::Tensor& g) {
  at::Tensor h = linear_1(x);
  if (geometry) {
    const std::int64_t dims = kGeometryDims + std::int64_t{appearance_side_} * appearance_side_;
    if (!g.defined() || g.dim() != 2 || g.size(0) != x.size(0) || g.size(1) != dims)
      throw Error("the projector reads token geometry [" + std::to_string(x.size(0)) + ", " + std::to_string(dims) +
                  "] but the visual tokens carry " + (g.defined() ? c10::str(g.sizes()) : std::string("none")));
    const at::Tensor gh = g.to(h.device(), h.scalar_type());
    h = h + geometry(gh.narrow(1, 0, kGeometryDims));
    if (appearance) h = h + appearance(gh.narrow(1, kGeometryDims, dims - kGeometryDims));
  }
  return linear_2(at::gelu(h));
}

SetokimImpl::SetokimImpl(const SetokimConfig& c) : config_(c) {
  setok = register_module("setok", tokenizer::SetokModel(c.vision));
  const auto& vc = c.vision;
  const std::int64_t token_dim = vc.merger.mean_pool_only() ? vc.vision.hidden_size : vc.merger.dim_out();
  const std::int64_t in = c.connector == Connector::kPatchMlp ? vc.vision.hidden_size : token_dim;
  multi_modal_projector =
      register_module("multi_modal_projector", Projector(in, c.text.hidden_size, c.token_geometry, c.token_appearance));
  language_model = register_module("language_model", llm::LlamaForCausalLM(c.text));
}

void SetokimImpl::replace_setok(tokenizer::SetokModel other) {
  auto width = [&](const tokenizer::SetokConfig& vc) {
    if (config_.connector == Connector::kPatchMlp) return vc.vision.hidden_size;
    return vc.merger.mean_pool_only() ? vc.vision.hidden_size : vc.merger.dim_out();
  };
  const std::int64_t have = width(config_.vision), got = width(other->config());
  if (have != got)
    throw Error("the new SeTok gives tokens of width " + std::to_string(got) + ", the projector reads " +
                std::to_string(have));
  setok = replace_module("setok", other);
  config_.vision = other->config();
}

void SetokimImpl::add_token_appearance(int n) {
  multi_modal_projector->add_appearance(n);
  config_.token_appearance = n;
}

void SetokimImpl::add_token_geometry() {
  multi_modal_projector->add_geometry();
  config_.token_geometry = true;
}

void SetokimImpl::grow_vocabulary(std::int64_t vocab) {
  language_model->grow_vocabulary(vocab);
  config_.text.vocab_size = vocab;
}

VisualTokens SetokimImpl::project(VisualTokens raw) {
  raw.embeds = multi_modal_projector->forward(raw.embeds, raw.geometry);
  return raw;
}

VisualTokens SetokimImpl::visual_tokens(const at::Tensor& pixels) {
  if (pixels.dim() != 4 || pixels.size(0) != 1) throw Error("encode_image takes one image [1, 3, S, S]");
  VisualTokens out;
  at::Tensor tokens;  // [C, d_in]
  if (config_.connector == Connector::kSetok) {
    return visual_tokens_batch(pixels)[0];
  } else {
    vision::PatchFeatures pf = setok->encoder->patch_features(pixels);
    out.grid_h = pf.grid_h;
    out.grid_w = pf.grid_w;
    out.features = pf.features[0];
    const std::int64_t n = pf.features.size(1);
    if (config_.connector == Connector::kPatchMlp) {
      tokens = pf.features[0];
      out.assignment = at::arange(n, at::TensorOptions().dtype(at::kLong).device(pixels.device()));
    } else {
      const int k = static_cast<int>(std::min<std::int64_t>(config_.fixed_k, n));
      at::Tensor assign = tokenizer::dpc_knn(pf.features.detach(), k, config_.vision.cluster.knn)[0];  // [N]
      at::Tensor masks = at::one_hot(assign, k).to(pf.features.scalar_type()).unsqueeze(0);            // [1,N,K]
      at::Tensor valid = at::ones({1, k}, at::TensorOptions().dtype(at::kBool).device(pixels.device()));
      tokens = setok->merger->forward(pf.features, masks, valid, pf.grid_h, pf.grid_w)[0];
      out.assignment = assign;
    }
  }
  out.embeds = tokens;
  if (config_.token_geometry)
    out.geometry =
        token_geometry(pixels[0], out.assignment, out.count(), out.grid_h, out.grid_w, config_.token_appearance);
  return out;
}

std::vector<VisualTokens> SetokimImpl::visual_tokens_batch(const at::Tensor& pixels) {
  if (pixels.dim() != 4 || pixels.size(0) < 1) throw Error("visual_tokens_batch takes images [B, 3, S, S]");
  std::vector<VisualTokens> out;
  if (config_.connector != Connector::kSetok) {
    for (std::int64_t b = 0; b < pixels.size(0); ++b) out.push_back(visual_tokens(pixels.narrow(0, b, 1)));
    return out;
  }
  tokenizer::Tokenized t = setok->tokenize(pixels);
  for (std::int64_t b = 0; b < pixels.size(0); ++b) {
    VisualTokens v;
    const std::int64_t c = t.clusters.num_tokens[b].item<std::int64_t>();
    v.embeds = t.tokens[b].narrow(0, 0, c);
    at::Tensor valid = t.clusters.token_valid[b];
    v.assignment = t.clusters.masks[b].detach().masked_fill(~valid.unsqueeze(0), -1).argmax(1);
    v.grid_h = t.grid_h;
    v.grid_w = t.grid_w;
    v.features = t.features[b];
    if (config_.token_geometry)
      v.geometry = token_geometry(pixels[b], v.assignment, c, v.grid_h, v.grid_w, config_.token_appearance);
    out.push_back(std::move(v));
  }
  return out;
}

at::Tensor SetokimImpl::embed_sequence(const std::vector<std::int64_t>& ids, std::int64_t img_begin,
                                       std::int64_t img_end, const std::vector<VisualTokens>& images,
                                       std::vector<ImageSpan>* spans) {
  if (ids.empty()) throw Error("empty token sequence");
  auto dev = language_model->model->embed_tokens->weight.device();
  at::Tensor text = language_model->embed(at::tensor(ids, at::kLong).to(dev).view({1, -1}))[0];  // [T, D]
  std::vector<at::Tensor> parts;
  std::size_t image = 0;
  std::int64_t pos = 0, out_len = 0;
  bool open = false;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] == img_begin) {
      if (open) throw Error("[Img] inside an image");
      open = true;
    } else if (ids[i] == img_end) {
      if (!open) throw Error("[/Img] without [Img]");
      open = false;
      if (image >= images.size())
        throw Error("the prompt has more images (" + std::to_string(image + 1) + "+) than were given (" +
                    std::to_string(images.size()) + ")");
      // Text up to and including [Img], then the image, then [/Img] starts the next text run.
      const std::int64_t end = static_cast<std::int64_t>(i);
      parts.push_back(text.narrow(0, pos, end - pos));
      out_len += end - pos;
      const VisualTokens& v = images[image];
      // An answer's image may be empty (an edit that writes no new token); an input's never is.
      if (!v.embeds.defined()) throw Error("image " + std::to_string(image) + " has no visual tokens");
      parts.push_back(v.embeds.to(text.scalar_type()));
      if (spans) spans->push_back({out_len, v.count(), image});
      out_len += v.count();
      pos = end;
      ++image;
    }
  }
  if (open) throw Error("[Img] without [/Img]");
  if (image != images.size())
    throw Error("the prompt has " + std::to_string(image) + " image(s) but " + std::to_string(images.size()) +
                " were given");
  parts.push_back(text.narrow(0, pos, static_cast<std::int64_t>(ids.size()) - pos));
  return at::cat(parts, 0).unsqueeze(0);
}

Setokim load_setokim(const std::string& dir) {
  io::Checkpoint ck = io::load_checkpoint(dir);
  Setokim m(SetokimConfig::from_json(ck.config));
  try {
    nn::load_state_dict(*m, ck.tensors);
  } catch (const Error& e) {
    throw Error(dir + ": " + e.what());
  }
  m->eval();
  return m;
}

void save_setokim(const std::string& dir, Setokim& model) {
  io::save_checkpoint(dir, model->config().to_json(), nn::state_dict(*model));
}

}  // namespace setok::mllm
