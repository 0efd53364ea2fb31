#include "core/tokenizer/setok_config.h"

#include "core/runtime/error.h"

namespace setok::tokenizer {
namespace {

nlohmann::json merger_json(const TokenMergerOptions& m) {
  return {{"dim_in", m.dim_in()},
          {"dim", m.dim()},
          {"dim_out", m.dim_out()},
          {"inner_layers", m.inner_layers()},
          {"inter_layers", m.inter_layers()},
          {"heads", m.heads()},
          {"mlp_ratio", m.mlp_ratio()},
          {"use_position", m.use_position()},
          {"rope_theta", m.rope_theta()},
          {"mean_pool_only", m.mean_pool_only()},
          {"absolute_position", m.absolute_position()}};
}

TokenMergerOptions merger_from(const nlohmann::json& j, TokenMergerOptions m) {
  m.dim_in(j.value("dim_in", m.dim_in()))
      .dim(j.value("dim", m.dim()))
      .dim_out(j.value("dim_out", m.dim_out()))
      .inner_layers(j.value("inner_layers", m.inner_layers()))
      .inter_layers(j.value("inter_layers", m.inter_layers()))
      .heads(j.value("heads", m.heads()))
      .mlp_ratio(j.value("mlp_ratio", m.mlp_ratio()))
      .use_position(j.value("use_position", m.use_position()))
      .rope_theta(j.value("rope_theta", m.rope_theta()))
      .absolute_position(j.value("absolute_position", m.absolute_position()))
      .mean_pool_only(j.value("mean_pool_only", m.mean_pool_only()));
  return m;
}

nlohmann::json detok_json(const DetokenizerOptions& d) {
  return {{"token_dim", d.token_dim()},
          {"dim", d.dim()},
          {"layers", d.layers()},
          {"heads", d.heads()},
          {"mlp_ratio", d.mlp_ratio()},
          {"image_size", d.image_size()},
          {"patch_size", d.patch_size()},
          {"use_rope", d.use_rope()},
          {"decoder_channels", d.decoder_channels()},
          {"decoder_res_blocks", d.decoder_res_blocks()},
          {"decoder_norm_groups", d.decoder_norm_groups()},
          {"query_position", d.query_position()},
          {"broadcast", d.broadcast()},
          {"broadcast_hidden", d.broadcast_hidden()},
          {"regions", d.regions()},
          {"region_appearance", d.region_appearance()}};
}

DetokenizerOptions detok_from(const nlohmann::json& j, DetokenizerOptions d) {
  d.token_dim(j.value("token_dim", d.token_dim()))
      .dim(j.value("dim", d.dim()))
      .layers(j.value("layers", d.layers()))
      .heads(j.value("heads", d.heads()))
      .mlp_ratio(j.value("mlp_ratio", d.mlp_ratio()))
      .image_size(j.value("image_size", d.image_size()))
      .patch_size(j.value("patch_size", d.patch_size()))
      .use_rope(j.value("use_rope", d.use_rope()))
      .decoder_channels(j.value("decoder_channels", d.decoder_channels()))
      .decoder_res_blocks(j.value("decoder_res_blocks", d.decoder_res_blocks()))
      .decoder_norm_groups(j.value("decoder_norm_groups", d.decoder_norm_groups()))
      .query_position(j.value("query_position", d.query_position()))
      .broadcast(j.value("broadcast", d.broadcast()))
      .broadcast_hidden(j.value("broadcast_hidden", d.broadcast_hidden()))
      .regions(j.value("regions", d.regions()))
      .region_appearance(j.value("region_appearance", d.region_appearance()));
  return d;
}

}  // namespace

SetokConfig SetokConfig::paper() {
  SetokConfig c;
  c.vision = vision::SiglipVisionConfig::so400m_patch14_384();
  c.vision.use_head = false;
  c.cluster.max_tokens = 64;
  c.merger = TokenMergerOptions::paper();
  c.detokenizer = DetokenizerOptions::paper();
  return c;
}

SetokConfig SetokConfig::small() {
  SetokConfig c;
  c.vision = vision::SiglipVisionConfig::small();
  c.merger = TokenMergerOptions::small();
  c.detokenizer = DetokenizerOptions::small();
  return c;
}

nlohmann::json SetokConfig::to_json() const {
  nlohmann::json cl = cluster;
  cl["learnable_bandwidth"] = learnable_bandwidth;
  return {{"model_type", "setok"},         {"vision_config", vision.to_json()},      {"cluster", cl},
          {"merger", merger_json(merger)}, {"detokenizer", detok_json(detokenizer)}, {"trained", trained}};
}

SetokConfig SetokConfig::from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw Error("SeTok config is not a JSON object");
  if (j.value("model_type", std::string("setok")) != "setok")
    throw Error("config.json has model_type '" + j.value("model_type", std::string()) + "', not 'setok'");
  SetokConfig c = small();
  try {
    if (j.contains("vision_config")) c.vision = vision::SiglipVisionConfig::from_json(j["vision_config"]);
    if (j.contains("cluster")) {
      c.cluster = j["cluster"].get<ClusterParams>();
      c.learnable_bandwidth = j["cluster"].value("learnable_bandwidth", c.learnable_bandwidth);
    }
    if (j.contains("merger")) c.merger = merger_from(j["merger"], c.merger);
    if (j.contains("detokenizer")) c.detokenizer = detok_from(j["detokenizer"], c.detokenizer);
    c.trained = j.value("trained", false);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("SeTok config: ") + e.what());
  }
  c.validate();
  return c;
}

void SetokConfig::validate() const {
  vision.validate();
  cluster.validate();
  if (!merger.mean_pool_only() && merger.dim_in() != vision.hidden_size)
    throw Error("merger.dim_in (" + std::to_string(merger.dim_in()) + ") must equal the encoder width (" +
                std::to_string(vision.hidden_size) + ")");
  const int64_t token_dim = merger.mean_pool_only() ? vision.hidden_size : merger.dim_out();
  if (detokenizer.token_dim() != token_dim)
    throw Error("detokenizer.token_dim (" + std::to_string(detokenizer.token_dim()) + ") must equal the token width (" +
                std::to_string(token_dim) + ")");
  if (detokenizer.image_size() < 8 || detokenizer.patch_size() < 1) throw Error("detokenizer image/patch size invalid");
}

}  // namespace setok::tokenizer
