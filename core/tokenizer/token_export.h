#pragma once
// Token masks out of the program: COCO's uncompressed RLE (column-major run lengths, starting with
// a run of zeros) and a COCO-style JSON of one annotation per token, over core/data's RLE codec.
// No torch here: the studio uses it.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "core/data/coco_rle.h"

namespace setok::tokenizer {

using data::Rle;  // column-major runs, starting with zeros (core/data/coco_rle.h)

// The mask of pixels of `map` (row-major, width × height) equal to `token`.
Rle encode_rle(const std::vector<std::int32_t>& map, int width, int height, int token);
// Row-major 0/1 mask; throws setok::Error when the counts do not cover height × width exactly.
std::vector<std::uint8_t> decode_rle(const Rle& rle);

nlohmann::json rle_to_json(const Rle& rle);  // {"size": [h, w], "counts": [...]}
Rle rle_from_json(const nlohmann::json& j);

// {"images": [...], "annotations": [{"id", "image_id", "category_id": 1, "segmentation": RLE,
// "area", "bbox": [x, y, w, h], "iscrowd": 0, "token": index}], "categories": [{"id": 1, "name": "token"}]}
// One annotation per token with a non-empty mask; written atomically.
void save_coco_rle_json(const std::string& path, const std::string& image_file, const std::vector<std::int32_t>& map,
                        int width, int height, int tokens);

}  // namespace setok::tokenizer
