// A SeTok dataset packed into one safetensors file (see setok_data.h).
#include <ATen/ATen.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "core/data/setok_data.h"
#include "core/io/safetensors.h"
#include "core/runtime/error.h"

namespace fs = std::filesystem;

namespace setok::train {
namespace {

constexpr const char* kFormat = "setok-packed-1";

class PackedDataset : public SetokDataset {
 public:
  PackedDataset(const std::string& path, int image_size, int patch_size) : file_(path) {
    const auto& meta = file_.header().metadata;
    auto field = [&](const char* key) -> const std::string& {
      auto it = meta.find(key);
      if (it == meta.end()) throw Error(path + ": not a packed SeTok dataset (no '" + key + "' in its metadata)");
      return it->second;
    };
    if (field("format") != kFormat) throw Error(path + ": packed format '" + field("format") + "' is not " + kFormat);
    const int size = std::stoi(field("image_size")), patch = std::stoi(field("patch_size"));
    if (size != image_size || patch != patch_size)
      throw Error(path + ": packed for " + std::to_string(size) + " px images and " + std::to_string(patch) +
                  " px patches, the model needs " + std::to_string(image_size) + " and " + std::to_string(patch_size) +
                  " (pack it again with --size/--patch)");
    try {
      labels_ = nlohmann::json::parse(field("labels")).get<std::vector<std::string>>();
    } catch (const nlohmann::json::exception&) {
      throw Error(path + ": its 'labels' metadata is not a JSON list of strings");
    }
    // Optional (packs written before it lack it): each image's background kind, "" where none.
    if (auto it = meta.find("backgrounds"); it != meta.end()) {
      try {
        backgrounds_ = nlohmann::json::parse(it->second).get<std::vector<std::string>>();
      } catch (const nlohmann::json::exception&) {
        throw Error(path + ": its 'backgrounds' metadata is not a JSON list of strings");
      }
    }
    for (const char* name : {"pixels", "instance_map", "object_masks", "object_label", "object_offset"})
      if (!file_.contains(name)) throw Error(path + ": packed dataset lacks the tensor '" + std::string(name) + "'");
    pixels_ = file_.tensor("pixels");
    instance_ = file_.tensor("instance_map");
    masks_ = file_.tensor("object_masks");
    label_ = file_.tensor("object_label").to(at::kLong).contiguous();
    offset_ = file_.tensor("object_offset").to(at::kLong).contiguous();
    const std::int64_t m = pixels_.size(0), grid = size / patch;
    const std::int64_t objects = label_.numel();
    const bool ok = pixels_.scalar_type() == at::kByte && pixels_.dim() == 4 && pixels_.size(1) == 3 &&
                    pixels_.size(2) == size && pixels_.size(3) == size && instance_.scalar_type() == at::kByte &&
                    instance_.sizes() == at::IntArrayRef({m, size, size}) && masks_.dim() == 2 &&
                    masks_.size(0) == objects && masks_.size(1) == grid * grid && offset_.numel() == m + 1 &&
                    offset_[0].item<std::int64_t>() == 0 && offset_[m].item<std::int64_t>() == objects &&
                    (objects == 0 || (label_.min().item<std::int64_t>() >= 0 &&
                                      label_.max().item<std::int64_t>() < static_cast<std::int64_t>(labels_.size())));
    if (!ok) throw Error(path + ": packed dataset tensors have inconsistent shapes or values");
    if (!backgrounds_.empty() && static_cast<std::int64_t>(backgrounds_.size()) != m)
      throw Error(path + ": its 'backgrounds' metadata names " + std::to_string(backgrounds_.size()) +
                  " images, the pack holds " + std::to_string(m));
    if (m > 1 && (offset_.slice(0, 1) - offset_.slice(0, 0, m)).min().item<std::int64_t>() < 0)
      throw Error(path + ": packed dataset object offsets are not increasing");
  }

  std::size_t size() const override { return static_cast<std::size_t>(pixels_.size(0)); }
  std::vector<std::string> label_names() const override { return labels_; }

  SetokSample get(std::size_t index) const override {
    const auto i = static_cast<std::int64_t>(index);
    SetokSample s;
    s.pixels = pixels_[i].to(at::kFloat).div_(255.0f).sub_(0.5f).div_(0.5f);
    s.instance_map = instance_[i].to(at::kLong);
    const std::int64_t* off = offset_.data_ptr<std::int64_t>();
    s.object_masks = masks_.slice(0, off[i], off[i + 1]).to(at::kFloat).clone();
    const std::int64_t* lab = label_.data_ptr<std::int64_t>();
    for (std::int64_t k = off[i]; k < off[i + 1]; ++k) s.labels.push_back(labels_[static_cast<std::size_t>(lab[k])]);
    if (!backgrounds_.empty()) s.background = backgrounds_[index];
    return s;
  }

 private:
  io::SafetensorsFile file_;
  at::Tensor pixels_, instance_, masks_, label_, offset_;
  std::vector<std::string> labels_, backgrounds_;
};

bool is_packed_path(const std::string& path) { return fs::path(path).extension() == ".safetensors"; }

}  // namespace

PackSummary pack_dataset(const SetokDataset& data, const std::string& path, int image_size, int patch_size,
                         std::size_t limit) {
  const std::size_t m = limit > 0 ? std::min(limit, data.size()) : data.size();
  if (m == 0) throw Error("pack: the dataset has no images");
  const std::vector<std::string> labels = data.label_names();
  std::map<std::string, std::int64_t> label_index;
  for (std::size_t k = 0; k < labels.size(); ++k) label_index[labels[k]] = static_cast<std::int64_t>(k);
  const std::int64_t s = image_size, n = static_cast<std::int64_t>(image_size / patch_size) * (image_size / patch_size);
  at::Tensor pixels = at::empty({static_cast<std::int64_t>(m), 3, s, s}, at::kByte);
  at::Tensor instance = at::empty({static_cast<std::int64_t>(m), s, s}, at::kByte);
  std::vector<at::Tensor> masks;
  std::vector<std::int64_t> label, offset{0};
  std::vector<std::string> backgrounds;
  bool any_background = false;
  for (std::size_t i = 0; i < m; ++i) {
    SetokSample x = data.get(i);
    backgrounds.push_back(x.background);
    any_background = any_background || !x.background.empty();
    if (x.pixels.sizes() != at::IntArrayRef({3, s, s}) || x.object_masks.size(1) != n)
      throw Error("pack: image " + std::to_string(i) + " was not prepared at " + std::to_string(image_size) + " px / " +
                  std::to_string(patch_size) + " px patches");
    if (x.instance_map.max().item<std::int64_t>() > 255)
      throw Error("pack: image " + std::to_string(i) + " has more than 255 objects");
    const auto row = static_cast<std::int64_t>(i);
    pixels[row].copy_(x.pixels.mul(0.5f).add(0.5f).mul(255.0f).round().clamp(0, 255).to(at::kByte));
    instance[row].copy_(x.instance_map.to(at::kByte));
    for (const std::string& l : x.labels) {
      auto it = label_index.find(l);
      if (it == label_index.end())
        throw Error("pack: image " + std::to_string(i) + " has label '" + l + "' outside label_names()");
      label.push_back(it->second);
    }
    if (x.object_masks.size(0) > 0) masks.push_back(x.object_masks.to(at::kFloat));
    offset.push_back(offset.back() + x.object_masks.size(0));
    if (static_cast<std::size_t>(x.object_masks.size(0)) != x.labels.size())
      throw Error("pack: image " + std::to_string(i) + " has " + std::to_string(x.object_masks.size(0)) +
                  " masks but " + std::to_string(x.labels.size()) + " labels");
  }
  io::TensorMap t;
  t["pixels"] = pixels;
  t["instance_map"] = instance;
  t["object_masks"] = masks.empty() ? at::zeros({0, n}) : at::cat(masks);
  t["object_label"] = at::tensor(at::ArrayRef<std::int64_t>(label), at::TensorOptions(at::kLong)).to(at::kInt);
  t["object_offset"] = at::tensor(at::ArrayRef<std::int64_t>(offset), at::TensorOptions(at::kLong));
  std::map<std::string, std::string> meta = {{"format", kFormat},
                                             {"image_size", std::to_string(image_size)},
                                             {"patch_size", std::to_string(patch_size)},
                                             {"labels", nlohmann::json(labels).dump()}};
  if (any_background) meta["backgrounds"] = nlohmann::json(backgrounds).dump();
  io::save_safetensors(path, t, meta);
  PackSummary r;
  r.images = m;
  r.objects = label.size();
  r.bytes = fs::file_size(path);
  return r;
}

std::unique_ptr<SetokDataset> open_packed_dataset(const std::string& path, int image_size, int patch_size) {
  return std::make_unique<PackedDataset>(path, image_size, patch_size);
}

std::unique_ptr<SetokDataset> open_setok_dataset(const std::string& path, int image_size, int patch_size) {
  if (is_packed_path(path)) return open_packed_dataset(path, image_size, patch_size);
  return open_coco_dataset(path, image_size, patch_size);
}

}  // namespace setok::train
