#include "core/data/refcoco.h"

#include "core/data/json_file.h"

namespace setok::data {

std::vector<Ref> read_refs(const std::string& path) {
  const nlohmann::json j = read_json_file(path);
  const nlohmann::json& list = j.is_object() ? array_field(j, "refs", path, "top level") : j;
  if (!list.is_array()) throw Error(path + ": expected a list of refs");
  std::vector<Ref> out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string at = "refs[" + std::to_string(i) + "]";
    const auto& r = list[i];
    Ref ref;
    ref.ref_id = field<std::int64_t>(r, "ref_id", path, at);
    ref.ann_id = field<std::int64_t>(r, "ann_id", path, at);
    ref.image_id = field<std::int64_t>(r, "image_id", path, at);
    ref.category_id = field_or<std::int64_t>(r, "category_id", 0, path, at);
    ref.split = field_or<std::string>(r, "split", "", path, at);
    ref.file_name = field_or<std::string>(r, "file_name", "", path, at);
    const auto& sents = array_field(r, "sentences", path, at);
    if (sents.empty()) throw Error(path + ": " + at + ": no sentences");
    for (std::size_t k = 0; k < sents.size(); ++k) {
      const std::string sat = at + ".sentences[" + std::to_string(k) + "]";
      ref.sentences.push_back(
          {field_or<std::int64_t>(sents[k], "sent_id", 0, path, sat), field<std::string>(sents[k], "sent", path, sat)});
    }
    out.push_back(std::move(ref));
  }
  return out;
}

}  // namespace setok::data
