#include "core/data/coco.h"

#include <algorithm>
#include <cmath>

#include "core/data/json_file.h"

namespace setok::data {
namespace {

std::vector<CocoImage> read_images(const nlohmann::json& j, const std::string& path) {
  std::vector<CocoImage> out;
  const auto& images = array_field(j, "images", path, "top level");
  for (std::size_t i = 0; i < images.size(); ++i) {
    const std::string at = "images[" + std::to_string(i) + "]";
    CocoImage im;
    im.id = field<std::int64_t>(images[i], "id", path, at);
    im.file_name = field<std::string>(images[i], "file_name", path, at);
    im.width = field_or<int>(images[i], "width", 0, path, at);
    im.height = field_or<int>(images[i], "height", 0, path, at);
    im.background = field_or<std::string>(images[i], "background", std::string(), path, at);
    out.push_back(std::move(im));
  }
  return out;
}

CocoSegmentation read_segmentation(const nlohmann::json& s, const std::string& path, const std::string& at) {
  CocoSegmentation seg;
  if (s.is_null()) return seg;
  if (s.is_array()) {
    seg.kind = CocoSegmentation::Kind::polygons;
    for (const auto& poly : s) {
      if (!poly.is_array()) throw Error(path + ": " + at + ": polygon is not a list of numbers");
      std::vector<double> p;
      for (const auto& v : poly) {
        if (!v.is_number()) throw Error(path + ": " + at + ": polygon holds a non-number");
        p.push_back(v.get<double>());
      }
      if (p.size() % 2) throw Error(path + ": " + at + ": polygon has an odd number of coordinates");
      seg.polygons.push_back(std::move(p));
    }
    return seg;
  }
  seg.kind = CocoSegmentation::Kind::rle;
  const auto size = field<std::vector<int>>(s, "size", path, at + ".segmentation");
  if (size.size() != 2 || size[0] < 0 || size[1] < 0)
    throw Error(path + ": " + at + ": RLE 'size' must be [height, width]");
  auto counts = s.find("counts");
  if (counts == s.end()) throw Error(path + ": " + at + ": RLE 'counts' missing");
  try {
    if (counts->is_string()) {
      seg.rle = rle_from_string(counts->get<std::string>(), size[0], size[1]);
    } else if (counts->is_array()) {
      seg.rle = {size[0], size[1], counts->get<std::vector<std::uint32_t>>()};
    } else {
      throw Error("'counts' is neither a string nor a list");
    }
  } catch (const nlohmann::json::exception&) {
    throw Error(path + ": " + at + ": RLE counts must be non-negative integers");
  } catch (const Error& e) {
    throw Error(path + ": " + at + ": " + e.what());
  }
  std::uint64_t total = 0;
  for (auto c : seg.rle.counts) total += c;
  if (total != static_cast<std::uint64_t>(size[0]) * size[1])
    throw Error(path + ": " + at + ": RLE counts cover " + std::to_string(total) + " pixels, size says " +
                std::to_string(static_cast<std::uint64_t>(size[0]) * size[1]));
  return seg;
}

}  // namespace

CocoInstances read_coco_instances(const std::string& path) {
  const nlohmann::json j = read_json_file(path);
  CocoInstances d;
  d.images = read_images(j, path);
  const auto& cats = array_field(j, "categories", path, "top level");
  for (std::size_t i = 0; i < cats.size(); ++i) {
    const std::string at = "categories[" + std::to_string(i) + "]";
    d.categories.push_back({field<std::int64_t>(cats[i], "id", path, at), field<std::string>(cats[i], "name", path, at),
                            field_or<std::string>(cats[i], "supercategory", "", path, at)});
  }
  const auto& anns = array_field(j, "annotations", path, "top level");
  for (std::size_t i = 0; i < anns.size(); ++i) {
    const std::string at = "annotations[" + std::to_string(i) + "]";
    const auto& a = anns[i];
    CocoAnnotation c;
    c.id = field<std::int64_t>(a, "id", path, at);
    c.image_id = field<std::int64_t>(a, "image_id", path, at);
    c.category_id = field<std::int64_t>(a, "category_id", path, at);
    const auto bbox = field_or<std::vector<double>>(a, "bbox", {0, 0, 0, 0}, path, at);
    if (bbox.size() != 4) throw Error(path + ": " + at + ": 'bbox' must have 4 numbers");
    std::copy(bbox.begin(), bbox.end(), c.bbox.begin());
    c.area = field_or<double>(a, "area", 0.0, path, at);
    c.iscrowd = field_or<int>(a, "iscrowd", 0, path, at) != 0;
    auto seg = a.find("segmentation");
    if (seg != a.end()) c.segmentation = read_segmentation(*seg, path, at);
    if (auto attr = a.find("attributes"); attr != a.end() && attr->is_object()) {
      c.colour = field_or<std::string>(*attr, "colour", "", path, at + ".attributes");
      c.size = field_or<std::string>(*attr, "size", "", path, at + ".attributes");
      c.depth = field_or<int>(*attr, "depth", -1, path, at + ".attributes");
    }
    d.annotations.push_back(std::move(c));
  }
  return d;
}

CocoCaptions read_coco_captions(const std::string& path) {
  const nlohmann::json j = read_json_file(path);
  CocoCaptions d;
  d.images = read_images(j, path);
  const auto& anns = array_field(j, "annotations", path, "top level");
  for (std::size_t i = 0; i < anns.size(); ++i) {
    const std::string at = "annotations[" + std::to_string(i) + "]";
    d.captions.push_back({field<std::int64_t>(anns[i], "id", path, at),
                          field<std::int64_t>(anns[i], "image_id", path, at),
                          field<std::string>(anns[i], "caption", path, at)});
  }
  return d;
}

std::vector<std::uint8_t> annotation_mask(const CocoAnnotation& a, int height, int width) {
  const auto& s = a.segmentation;
  if (s.kind == CocoSegmentation::Kind::rle) {
    if (s.rle.height != height || s.rle.width != width)
      throw Error("annotation " + std::to_string(a.id) + ": RLE is " + std::to_string(s.rle.height) + "x" +
                  std::to_string(s.rle.width) + ", image is " + std::to_string(height) + "x" + std::to_string(width));
    return rle_decode(s.rle);
  }
  std::vector<std::uint8_t> m(static_cast<std::size_t>(height) * width, 0);
  for (const auto& p : s.polygons) {
    const std::size_t n = p.size() / 2;
    if (n < 3) continue;
    for (int y = 0; y < height; ++y) {
      const double py = y + 0.5;
      // Even-odd rule: crossings of the scanline through pixel centres.
      std::vector<double> xs;
      for (std::size_t i = 0, j = n - 1; i < n; j = i++) {
        const double yi = p[2 * i + 1], yj = p[2 * j + 1];
        if ((yi > py) != (yj > py)) xs.push_back(p[2 * i] + (py - yi) * (p[2 * j] - p[2 * i]) / (yj - yi));
      }
      std::sort(xs.begin(), xs.end());
      for (std::size_t k = 0; k + 1 < xs.size(); k += 2) {
        const int x0 = std::max(0, static_cast<int>(std::ceil(xs[k] - 0.5)));
        const int x1 = std::min(width - 1, static_cast<int>(std::floor(xs[k + 1] - 0.5)));
        for (int x = x0; x <= x1; ++x) m[static_cast<std::size_t>(y) * width + x] = 1;  // union of the polygons
      }
    }
  }
  return m;
}

}  // namespace setok::data
