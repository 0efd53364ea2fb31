#pragma once
// What SeTok training and evaluation read: images with their objects, prepared for the model.
// In core/data/ with the other datasets; it keeps the namespace setok::train it was written in.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace setok::train {

struct SetokSample {
  at::Tensor pixels;                // [3, S, S], normalised for the encoder (mean 0.5, std 0.5)
  at::Tensor object_masks;          // [K, N]: the fraction of each patch the object covers
  at::Tensor instance_map;          // [S, S] int64: 0 background, k+1 object k (for evaluation)
  std::vector<std::string> labels;  // K object labels ("circle", "sneaker", ...)
  std::string background;           // the scenes world's background kind (plain, gradient, photo); else empty
};

class SetokDataset {
 public:
  virtual ~SetokDataset() = default;
  virtual std::size_t size() const = 0;
  virtual SetokSample get(std::size_t index) const = 0;
  // Every label the dataset can produce, sorted (the classes of zero-shot evaluation).
  virtual std::vector<std::string> label_names() const = 0;
};

// A COCO-instances dataset: `root` holds images/ and annotations/instances.json (the layout
// `setok data scenes` writes), or pass the two paths. Images are resized to image_size, masks
// pooled to the patch grid.
std::unique_ptr<SetokDataset> open_coco_dataset(const std::string& root, int image_size, int patch_size);

// A dataset packed into one safetensors file: the prepared samples (pixels as u8, instance maps,
// patch masks, labels) with the image and patch size they were prepared for. Reading it needs no
// image decoder (builds without OpenCV train from it) and no per-image work. Writes atomically;
// `limit` > 0 packs the first `limit` samples. Layout: docs/design/setok-training.md.
struct PackSummary {
  std::size_t images = 0, objects = 0;
  std::uint64_t bytes = 0;
};
PackSummary pack_dataset(const SetokDataset& data, const std::string& path, int image_size, int patch_size,
                         std::size_t limit = 0);
std::unique_ptr<SetokDataset> open_packed_dataset(const std::string& path, int image_size, int patch_size);

// A packed .safetensors file (checked against image_size and patch_size), else a COCO dataset.
std::unique_ptr<SetokDataset> open_setok_dataset(const std::string& path, int image_size, int patch_size);

}  // namespace setok::train
