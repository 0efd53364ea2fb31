#include "core/tokenizer/token_export.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/io/atomic_file.h"
#include "core/runtime/error.h"

namespace setok::tokenizer {

Rle encode_rle(const std::vector<std::int32_t>& map, int width, int height, int token) {
  if (map.size() != static_cast<std::size_t>(width) * height) throw Error("token map size does not match the image");
  std::vector<std::uint8_t> mask(map.size());
  for (std::size_t i = 0; i < map.size(); ++i) mask[i] = map[i] == token;
  return data::rle_encode(mask, height, width);
}

std::vector<std::uint8_t> decode_rle(const Rle& rle) { return data::rle_decode(rle); }

nlohmann::json rle_to_json(const Rle& rle) { return {{"size", {rle.height, rle.width}}, {"counts", rle.counts}}; }

Rle rle_from_json(const nlohmann::json& j) {
  try {
    Rle r;
    r.height = j.at("size").at(0).get<int>();
    r.width = j.at("size").at(1).get<int>();
    if (!j.at("counts").is_array()) throw Error("compressed (string) RLE counts are not supported here");
    r.counts = j.at("counts").get<std::vector<std::uint32_t>>();
    return r;
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("RLE: ") + e.what());
  }
}

void save_coco_rle_json(const std::string& path, const std::string& image_file, const std::vector<std::int32_t>& map,
                        int width, int height, int tokens) {
  nlohmann::json anns = nlohmann::json::array();
  for (int t = 0; t < tokens; ++t) {
    Rle rle = encode_rle(map, width, height, t);
    const auto area = static_cast<std::int64_t>(data::rle_area(rle));
    if (area == 0) continue;
    const auto box = data::rle_bbox(rle);
    anns.push_back({{"id", anns.size() + 1},
                    {"image_id", 1},
                    {"category_id", 1},
                    {"token", t},
                    {"segmentation", rle_to_json(rle)},
                    {"area", area},
                    {"bbox", {box[0], box[1], box[2], box[3]}},
                    {"iscrowd", 0}});
  }
  nlohmann::json j = {{"images", {{{"id", 1}, {"file_name", image_file}, {"width", width}, {"height", height}}}},
                      {"annotations", anns},
                      {"categories", {{{"id", 1}, {"name", "token"}}}}};
  io::write_file_atomic(path, j.dump());
}

}  // namespace setok::tokenizer
