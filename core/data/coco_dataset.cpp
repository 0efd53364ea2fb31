// SeTok's view of a COCO-instances dataset (the scenes world writes one; real COCO drops in).
#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "core/data/coco.h"
#include "core/data/setok_data.h"
#include "core/io/image.h"
#include "core/runtime/error.h"
#include "core/vision/siglip_encoder.h"

namespace fs = std::filesystem;

namespace setok::train {
namespace {

class CocoDataset : public SetokDataset {
 public:
  CocoDataset(const fs::path& images, const fs::path& instances, int image_size, int patch_size)
      : images_(images), size_(image_size), patch_(patch_size) {
    data_ = data::read_coco_instances(instances.string());
    std::map<std::int64_t, std::string> cat;
    for (const auto& c : data_.categories) cat[c.id] = c.name;
    std::set<std::string> used;
    std::map<std::int64_t, std::size_t> image_index;
    for (std::size_t i = 0; i < data_.images.size(); ++i) image_index[data_.images[i].id] = i;
    objects_.resize(data_.images.size());
    for (std::size_t a = 0; a < data_.annotations.size(); ++a) {
      const auto& ann = data_.annotations[a];
      if (ann.iscrowd) continue;
      auto it = image_index.find(ann.image_id);
      if (it == image_index.end())
        throw Error(instances.string() + ": annotation " + std::to_string(ann.id) + " names a missing image");
      auto c = cat.find(ann.category_id);
      if (c == cat.end())
        throw Error(instances.string() + ": annotation " + std::to_string(ann.id) + " names a missing category");
      objects_[it->second].push_back(a);
      used.insert(c->second);
      label_of_[a] = c->second;
    }
    labels_.assign(used.begin(), used.end());
  }

  std::size_t size() const override { return data_.images.size(); }
  std::vector<std::string> label_names() const override { return labels_; }

  SetokSample get(std::size_t index) const override {
    const data::CocoImage& im = data_.images[index];
    // COCO's file_name is relative to the images folder; the scenes writer's is relative to the
    // dataset root ("images/…"). Accept both.
    fs::path p = images_ / im.file_name;
    if (!fs::exists(p) && fs::exists(images_.parent_path() / im.file_name)) p = images_.parent_path() / im.file_name;
    io::Image img = io::load_image(p.string());
    SetokSample s;
    s.background = im.background;
    s.pixels = vision::SiglipVisionEncoderImpl::preprocess(img, size_)[0];
    const int grid = size_ / patch_;
    std::vector<at::Tensor> masks;
    at::Tensor inst = at::zeros({size_, size_}, at::kLong);
    int k = 0;
    for (std::size_t a : objects_[index]) {
      std::vector<std::uint8_t> m = data::annotation_mask(data_.annotations[a], img.height, img.width);
      at::Tensor t = at::from_blob(m.data(), {1, 1, img.height, img.width}, at::kByte).to(at::kFloat);
      at::Tensor at_size = at::upsample_bilinear2d(t, {size_, size_}, false);
      at::Tensor patch = at::adaptive_avg_pool2d(at_size, {grid, grid}).view({grid * grid});
      if (patch.sum().item<float>() <= 0) continue;  // too small to cover any patch at this size
      masks.push_back(patch);
      inst.masked_fill_(at_size.view({size_, size_}) >= 0.5, ++k);
      s.labels.push_back(label_of_.at(a));
    }
    s.object_masks = masks.empty() ? at::zeros({0, grid * grid}) : at::stack(masks);
    s.instance_map = inst;
    return s;
  }

 private:
  fs::path images_;
  int size_, patch_;
  data::CocoInstances data_;
  std::vector<std::vector<std::size_t>> objects_;
  std::map<std::size_t, std::string> label_of_;
  std::vector<std::string> labels_;
};

}  // namespace

std::unique_ptr<SetokDataset> open_coco_dataset(const std::string& root, int image_size, int patch_size) {
  fs::path r(root), images, instances;
  if (fs::is_regular_file(r)) {
    instances = r;
    images = r.parent_path().parent_path() / "images";
  } else if (fs::is_directory(r)) {
    images = r / "images";
    if (!fs::is_directory(r / "annotations")) throw Error(root + ": no annotations/ folder (COCO instances)");
    for (const auto& e :
         fs::directory_iterator(r / "annotations", std::filesystem::directory_options::skip_permission_denied)) {
      std::string n = e.path().filename().string();
      if (n.rfind("instances", 0) == 0 && e.path().extension() == ".json") {
        if (!instances.empty()) throw Error(root + ": several instances_*.json; pass the one to use");
        instances = e.path();
      }
    }
    if (instances.empty()) throw Error(root + ": no annotations/instances*.json (COCO instances)");
  } else {
    throw Error(root + ": no such dataset folder or file");
  }
  if (!fs::is_directory(images)) throw Error(images.string() + ": images folder missing");
  return std::make_unique<CocoDataset>(images, instances, image_size, patch_size);
}

}  // namespace setok::train
