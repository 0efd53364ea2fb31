#pragma once
// The Segment tool's masks out of the program, in the formats the studio exports tokens in
// (docs' "masks exported by the GUI"): a PNG index map and COCO RLE JSON, over the same encoders
// (io::save_index_png, core/data/coco_rle.h through tokenizer/token_export.h).
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "core/edit/mask_document.h"

namespace setok::edit {

// 0 = no mask, k = the k-th mask in the list (1-based); where masks overlap, the later one wins
// (it is drawn on top).
std::vector<std::int32_t> mask_index_map(const MaskDocument& doc);
// Written atomically; throws setok::Error when there is no mask to export or the file cannot be written.
void save_mask_index_png(const std::string& path, const MaskDocument& doc);

// {"images": [{id 1, file_name, width, height}], "annotations": [{"id", "image_id": 1, "category_id",
// "segmentation": {"size": [h, w], "counts": [...]}, "area", "bbox": [x, y, w, h], "iscrowd": 0,
// "index": k (its value in the index map)}], "categories": [{"id", "name": a mask's name}]}: one
// annotation per non-empty mask, one category per distinct name.
nlohmann::json masks_coco_json(const MaskDocument& doc, const std::string& image_file);
void save_masks_coco_json(const std::string& path, const MaskDocument& doc, const std::string& image_file);

}  // namespace setok::edit
