#include "core/tokenizer/token_export.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/io/atomic_file.h"
#include "core/runtime/error.h"

namespace setok::tokenizer {

Rle encode_rle(const std::vector<std::int32_t>& map, int width, int height, int token) {
  if (map.size() != static_cast<std::size_t>(width) * height) throw Error("token map size does not match the image");
  Rle r{height, width, {}};
  std::uint8_t current = 0;  // COCO's counts start with a (possibly empty) run of zeros
  std::uint32_t run = 0;
  for (int x = 0; x < width; ++x)
    for (int y = 0; y < height; ++y) {
      std::uint8_t v = map[static_cast<std::size_t>(y) * width + x] == token;
      if (v != current) {
        r.counts.push_back(run);
        run = 0;
        current = v;
      }
      ++run;
    }
  r.counts.push_back(run);
  return r;
}

std::vector<std::uint8_t> decode_rle(const Rle& rle) {
  const std::size_t n = static_cast<std::size_t>(rle.width) * rle.height;
  std::vector<std::uint8_t> out(n, 0);
  std::size_t i = 0;
  std::uint8_t v = 0;
  for (std::uint32_t c : rle.counts) {
    if (c > n - i) throw Error("RLE counts run past the mask's size");
    for (std::uint32_t k = 0; k < c; ++k, ++i) {
      const std::size_t x = i / rle.height, y = i % rle.height;
      out[y * rle.width + x] = v;
    }
    v ^= 1;
  }
  if (i != n) throw Error("RLE counts cover " + std::to_string(i) + " of " + std::to_string(n) + " pixels");
  return out;
}

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
    std::int64_t area = 0;
    int x0 = width, y0 = height, x1 = -1, y1 = -1;
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x)
        if (map[static_cast<std::size_t>(y) * width + x] == t) {
          ++area;
          x0 = std::min(x0, x), y0 = std::min(y0, y), x1 = std::max(x1, x), y1 = std::max(y1, y);
        }
    if (area == 0) continue;
    anns.push_back({{"id", anns.size() + 1},
                    {"image_id", 1},
                    {"category_id", 1},
                    {"token", t},
                    {"segmentation", rle_to_json(rle)},
                    {"area", area},
                    {"bbox", {x0, y0, x1 - x0 + 1, y1 - y0 + 1}},
                    {"iscrowd", 0}});
  }
  nlohmann::json j = {{"images", {{{"id", 1}, {"file_name", image_file}, {"width", width}, {"height", height}}}},
                      {"annotations", anns},
                      {"categories", {{{"id", 1}, {"name", "token"}}}}};
  io::write_file_atomic(path, j.dump());
}

}  // namespace setok::tokenizer
