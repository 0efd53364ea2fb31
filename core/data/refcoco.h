#pragma once
// RefCOCO-style referring expressions: the refs list (refer's refs(unc).p, as JSON) whose ann_id
// points into a COCO instances file holding the target masks.
#include <cstdint>
#include <string>
#include <vector>

namespace setok::data {

struct RefSentence {
  std::int64_t sent_id = 0;
  std::string sent;
};

struct Ref {
  std::int64_t ref_id = 0, ann_id = 0, image_id = 0, category_id = 0;
  std::string split, file_name;
  std::vector<RefSentence> sentences;
};

// A JSON list of refs (or an object with a "refs" list). Throws setok::Error naming file and fault.
std::vector<Ref> read_refs(const std::string& path);

}  // namespace setok::data
