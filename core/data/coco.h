#pragma once
// COCO instances and captions JSON (cocodataset.org/#format-data), read into plain structs.
// Segmentations may be polygons, uncompressed RLE (counts as a list) or compressed RLE (a string).
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/data/coco_rle.h"

namespace setok::data {

struct CocoImage {
  std::int64_t id = 0;
  std::string file_name;
  int width = 0, height = 0;
  std::string background;  // the scenes world's "plain", "gradient" or "photo" (not COCO's; else empty)
};

struct CocoCategory {
  std::int64_t id = 0;
  std::string name, supercategory;
};

struct CocoSegmentation {
  enum class Kind { none, polygons, rle } kind = Kind::none;
  std::vector<std::vector<double>> polygons;  // each x0, y0, x1, y1, ...
  Rle rle;
};

struct CocoAnnotation {
  std::int64_t id = 0, image_id = 0, category_id = 0;
  std::array<double, 4> bbox{};  // x, y, width, height
  double area = 0;
  bool iscrowd = false;
  CocoSegmentation segmentation;
  // The scenes world's extras (absent in real COCO: empty / -1).
  std::string colour, size;
  int depth = -1;
};

struct CocoInstances {
  std::vector<CocoImage> images;
  std::vector<CocoAnnotation> annotations;
  std::vector<CocoCategory> categories;
};

struct CocoCaption {
  std::int64_t id = 0, image_id = 0;
  std::string caption;
};

struct CocoCaptions {
  std::vector<CocoImage> images;
  std::vector<CocoCaption> captions;
};

// Throw setok::Error naming the file and the fault.
CocoInstances read_coco_instances(const std::string& path);
CocoCaptions read_coco_captions(const std::string& path);

// The annotation's mask, row-major height x width. Polygons are filled by pixel centres (even-odd);
// pycocotools rasterises polygons slightly differently at the edges.
std::vector<std::uint8_t> annotation_mask(const CocoAnnotation& a, int height, int width);

}  // namespace setok::data
