// COCO uncompressed RLE of token masks: column-major, zeros first, and back again.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/runtime/error.h"
#include "core/tokenizer/token_export.h"
#include "tests/support/temp_dir.h"

using namespace setok::tokenizer;

TEST(TokenExport, RleIsColumnMajorAndStartsWithZeros) {
  // 3 wide, 2 high; token 1 at (x=0,y=1) and the whole x=2 column.
  std::vector<std::int32_t> map = {0, 0, 1,  //
                                   1, 0, 1};
  Rle r = encode_rle(map, 3, 2, 1);
  // Column-major pixels: (0,0)=0 (0,1)=1 (1,0)=0 (1,1)=0 (2,0)=1 (2,1)=1
  EXPECT_EQ(r.counts, (std::vector<std::uint32_t>{1, 1, 2, 2}));
  Rle first = encode_rle({5, 5}, 1, 2, 5);
  EXPECT_EQ(first.counts, (std::vector<std::uint32_t>{0, 2})) << "a mask starting with 1 has an empty zero run";
}

TEST(TokenExport, RleRoundTripsThroughJson) {
  std::vector<std::int32_t> map(7 * 5);
  for (std::size_t i = 0; i < map.size(); ++i) map[i] = static_cast<int>((i * 7919) % 3);
  for (int t = 0; t < 3; ++t) {
    Rle r = rle_from_json(rle_to_json(encode_rle(map, 7, 5, t)));
    EXPECT_EQ(r.height, 5);
    EXPECT_EQ(r.width, 7);
    std::vector<std::uint8_t> m = decode_rle(r);
    for (std::size_t i = 0; i < map.size(); ++i) ASSERT_EQ(m[i], map[i] == t) << i;
  }
  Rle broken{2, 2, {1, 1}};
  EXPECT_THROW(decode_rle(broken), setok::Error);
}

TEST(TokenExport, CocoJsonHasOneAnnotationPerNonEmptyToken) {
  setok::test::TempDir d;
  std::vector<std::int32_t> map = {0, 0, 2, 2};
  save_coco_rle_json(d / "t.json", "img.png", map, 2, 2, 3);
  std::ifstream f(d / "t.json");
  nlohmann::json j = nlohmann::json::parse(f);
  ASSERT_EQ(j["annotations"].size(), 2u) << "token 1 is empty";
  EXPECT_EQ(j["images"][0]["file_name"], "img.png");
  const auto& a = j["annotations"][1];
  EXPECT_EQ(a["token"], 2);
  EXPECT_EQ(a["area"], 2);
  EXPECT_EQ(a["bbox"], nlohmann::json({0, 1, 2, 1}));
  EXPECT_EQ(decode_rle(rle_from_json(a["segmentation"])), (std::vector<std::uint8_t>{0, 0, 1, 1}));
}
