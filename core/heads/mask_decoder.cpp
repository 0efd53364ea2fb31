#include "core/heads/mask_decoder.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/activation.h>

#include <filesystem>

#include "core/data/json_file.h"
#include "core/io/atomic_file.h"
#include "core/io/safetensors.h"
#include "core/nn/state_dict.h"
#include "core/runtime/error.h"

namespace setok::heads {

namespace tnn = torch::nn;

namespace {

tnn::Sequential mlp3(std::int64_t in, std::int64_t hidden, std::int64_t out) {
  return tnn::Sequential(tnn::Linear(in, hidden), tnn::ReLU(), tnn::Linear(hidden, hidden), tnn::ReLU(),
                         tnn::Linear(hidden, out));
}

}  // namespace

MaskDecoderImpl::MaskDecoderImpl(const MaskDecoderConfig& c) : config_(c) {
  const std::int64_t w = c.width;
  prompt_encoder = register_module("prompt_encoder", PromptEncoder(c));
  feature_proj = register_module("feature_proj", tnn::Linear(c.feature_dim, w));
  feature_norm = register_module("feature_norm", tnn::LayerNorm(tnn::LayerNormOptions({w})));
  iou_token = register_parameter("iou_token", at::randn({1, w}) * 0.02);
  mask_tokens = register_parameter("mask_tokens", at::randn({c.masks(), w}) * 0.02);
  transformer = register_module("transformer", TwoWayTransformer(c.depth, w, c.heads, c.mlp_dim, c.cross_downsample));
  up1 = register_module("output_upscaling_0",
                        tnn::ConvTranspose2d(tnn::ConvTranspose2dOptions(w, c.upscale1, 2).stride(2)));
  up_norm_weight = register_parameter("output_upscaling_1_weight", at::ones({c.upscale1}));
  up_norm_bias = register_parameter("output_upscaling_1_bias", at::zeros({c.upscale1}));
  up2 = register_module("output_upscaling_3",
                        tnn::ConvTranspose2d(tnn::ConvTranspose2dOptions(c.upscale1, c.upscale2, 2).stride(2)));
  hyper = register_module("output_hypernetworks_mlps", tnn::ModuleList());
  for (std::int64_t i = 0; i < c.masks(); ++i) hyper->push_back(mlp3(w, w, c.upscale2));
  iou_head = register_module("iou_prediction_head", mlp3(w, w, c.masks()));
  if (c.refine_channels > 0) {
    const std::int64_t r = c.refine_channels;
    refine1 = register_module("refine_0", tnn::Conv2d(tnn::Conv2dOptions(4 + c.upscale2, r, 3).padding(1)));
    refine2 = register_module("refine_1", tnn::Conv2d(tnn::Conv2dOptions(r, r, 3).padding(1)));
    refine3 = register_module("refine_2", tnn::Conv2d(tnn::Conv2dOptions(r, 1, 3).padding(1)));
    // Starts as the identity: the upsampled logits, no correction.
    torch::NoGradGuard g;
    refine3->weight.zero_();
    refine3->bias.zero_();
  }
}

at::Tensor MaskDecoderImpl::upscale(const at::Tensor& image, std::int64_t batch) {
  const std::int64_t g = config_.grid;
  at::Tensor x = image.transpose(1, 2).reshape({batch, config_.width, g, g});
  x = up1->forward(x);
  x = at::layer_norm(x.permute({0, 2, 3, 1}), {x.size(1)}, up_norm_weight, up_norm_bias, 1e-6).permute({0, 3, 1, 2});
  return at::gelu(up2->forward(at::gelu(x)));
}

MaskPrediction MaskDecoderImpl::forward(const at::Tensor& features, const Prompts& prompts) {
  const std::int64_t batch = features.size(0), m = config_.masks();
  EncodedPrompts enc = prompt_encoder->forward(prompts);
  at::Tensor image = feature_norm->forward(feature_proj->forward(features.to(iou_token.dtype())));
  image = image + enc.dense.flatten(2).transpose(1, 2);
  at::Tensor image_pe = prompt_encoder->image_pe().unsqueeze(0).expand({batch, -1, -1});
  at::Tensor out_tokens = at::cat({iou_token, mask_tokens}, 0).unsqueeze(0).expand({batch, -1, -1});
  at::Tensor tokens = at::cat({out_tokens, enc.sparse}, 1);
  at::Tensor token_pe = tokens;  // SAM: the tokens themselves are re-added as their own encoding
  transformer->forward(tokens, image, token_pe, image_pe);
  MaskPrediction out;
  out.features = upscale(image, batch);  // [B, u, 4g, 4g]
  std::vector<at::Tensor> classifiers;
  for (std::int64_t i = 0; i < m; ++i)
    classifiers.push_back(hyper[i]->as<tnn::SequentialImpl>()->forward(tokens.select(1, 1 + i)));
  at::Tensor h = at::stack(classifiers, 1);  // [B, M, u]
  const std::int64_t side = out.features.size(-1);
  out.low_res = at::matmul(h, out.features.flatten(2)).view({batch, m, side, side});
  out.iou = iou_head->forward(tokens.select(1, 0));
  out.relevance = enc.relevance;
  return out;
}

at::Tensor MaskDecoderImpl::refine(const at::Tensor& low_res, const at::Tensor& pixels,
                                   const at::Tensor& mask_features) {
  const std::int64_t s = config_.image_size;
  auto up = [&](const at::Tensor& x) { return at::upsample_bilinear2d(x, {s, s}, /*align_corners=*/false); };
  at::Tensor logits = up(low_res);
  if (config_.refine_channels == 0) return logits;
  at::Tensor feats = mask_features.defined() ? up(mask_features)
                                             : at::zeros({low_res.size(0), config_.upscale2, s, s}, logits.options());
  at::Tensor x = at::cat({logits.clamp(-20, 20) / 10.0, pixels.to(logits.dtype()), feats}, 1);
  x = at::gelu(refine2->forward(at::gelu(refine1->forward(x))));
  return logits + refine3->forward(x);
}

MaskDecoder load_mask_decoder(const std::string& dir, const char* config_file, const char* weights_file) {
  namespace fs = std::filesystem;
  const fs::path cfg = fs::path(dir) / config_file, weights = fs::path(dir) / weights_file;
  if (!fs::exists(cfg)) throw Error(dir + " has no mask decoder (" + config_file + ")");
  MaskDecoder d(MaskDecoderConfig::from_json(data::read_json_file(cfg.string())));
  nn::load_state_dict(*d, io::load_safetensors(weights.string()));
  d->eval();
  return d;
}

void save_mask_decoder(const std::string& dir, MaskDecoder& decoder, const char* config_file,
                       const char* weights_file) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  io::save_safetensors((fs::path(dir) / weights_file).string(), nn::state_dict(*decoder));
  io::write_file_atomic((fs::path(dir) / config_file).string(), decoder->config().to_json().dump(2) + "\n");
}

}  // namespace setok::heads
