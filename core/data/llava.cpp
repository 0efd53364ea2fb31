#include "core/data/llava.h"

#include "core/data/json_file.h"

namespace setok::data {

std::vector<LlavaConversation> read_llava(const std::string& path) {
  const nlohmann::json j = read_json_file(path);
  if (!j.is_array()) throw Error(path + ": expected a list of conversations");
  std::vector<LlavaConversation> out;
  out.reserve(j.size());
  for (std::size_t i = 0; i < j.size(); ++i) {
    const std::string at = "[" + std::to_string(i) + "]";
    const auto& c = j[i];
    LlavaConversation conv;
    if (!c.is_object()) throw Error(path + ": " + at + " is not an object");
    if (auto id = c.find("id"); id != c.end()) conv.id = id->is_string() ? id->get<std::string>() : id->dump();
    conv.image = field_or<std::string>(c, "image", "", path, at);
    const auto& turns = array_field(c, "conversations", path, at);
    for (std::size_t k = 0; k < turns.size(); ++k) {
      const std::string tat = at + ".conversations[" + std::to_string(k) + "]";
      LlavaTurn t{field<std::string>(turns[k], "from", path, tat), field<std::string>(turns[k], "value", path, tat),
                  ""};
      if (turns[k].contains("type") && turns[k]["type"].is_string()) t.type = turns[k]["type"].get<std::string>();
      if (t.from != "human" && t.from != "gpt" && t.from != "system")
        throw Error(path + ": " + tat + ": 'from' is '" + t.from + "', expected human, gpt or system");
      conv.turns.push_back(std::move(t));
    }
    out.push_back(std::move(conv));
  }
  return out;
}

}  // namespace setok::data
