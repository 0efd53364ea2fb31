#include "core/edit/mask_export.h"

#include <map>
#include <nlohmann/json.hpp>

#include "core/io/atomic_file.h"
#include "core/io/image.h"
#include "core/runtime/error.h"
#include "core/tokenizer/token_export.h"

namespace setok::edit {

namespace {

void require_masks(const MaskDocument& doc) {
  if (doc.width() <= 0 || doc.height() <= 0) throw Error("no image to export masks of");
  for (const auto& m : doc.masks())
    if (m.area() > 0) return;
  throw Error("there are no masks to export yet");
}

}  // namespace

std::vector<std::int32_t> mask_index_map(const MaskDocument& doc) {
  std::vector<std::int32_t> map(static_cast<std::size_t>(doc.width()) * doc.height(), 0);
  for (int k = 0; k < doc.count(); ++k) {
    const auto& bits = doc.mask(k).bits;
    for (std::size_t p = 0; p < map.size(); ++p)
      if (bits[p]) map[p] = k + 1;
  }
  return map;
}

void save_mask_index_png(const std::string& path, const MaskDocument& doc) {
  require_masks(doc);
  io::save_index_png(path, doc.width(), doc.height(), mask_index_map(doc));
}

nlohmann::json masks_coco_json(const MaskDocument& doc, const std::string& image_file) {
  std::map<std::string, int> category;  // name → id, in order of first use
  nlohmann::json categories = nlohmann::json::array(), anns = nlohmann::json::array();
  for (int k = 0; k < doc.count(); ++k) {
    const NamedMask& m = doc.mask(k);
    const data::Rle rle = data::rle_encode(m.bits, doc.height(), doc.width());
    const auto area = static_cast<std::int64_t>(data::rle_area(rle));
    if (area == 0) continue;
    auto [it, fresh] = category.emplace(m.name, static_cast<int>(category.size()) + 1);
    if (fresh) categories.push_back({{"id", it->second}, {"name", m.name}});
    const auto box = data::rle_bbox(rle);
    anns.push_back({{"id", anns.size() + 1},
                    {"image_id", 1},
                    {"category_id", it->second},
                    {"segmentation", tokenizer::rle_to_json(rle)},
                    {"area", area},
                    {"bbox", {box[0], box[1], box[2], box[3]}},
                    {"iscrowd", 0},
                    {"index", k + 1}});
  }
  return {{"images", {{{"id", 1}, {"file_name", image_file}, {"width", doc.width()}, {"height", doc.height()}}}},
          {"annotations", anns},
          {"categories", categories}};
}

void save_masks_coco_json(const std::string& path, const MaskDocument& doc, const std::string& image_file) {
  require_masks(doc);
  io::write_file_atomic(path, masks_coco_json(doc, image_file).dump());
}

}  // namespace setok::edit
