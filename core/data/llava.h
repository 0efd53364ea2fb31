#pragma once
// LLaVA-style instruction data (llava_v1_5_mix665k.json and the like): a list of conversations,
// each with an optional image and alternating human / gpt turns; "<image>" marks where it goes.
#include <string>
#include <vector>

namespace setok::data {

struct LlavaTurn {
  std::string from;  // "human" or "gpt" (also "system")
  std::string value;
  std::string type;  // optional "type" of the turn (the scenes world's question kind)
};

struct LlavaConversation {
  std::string id;     // a string or a number in the file
  std::string image;  // empty for text-only conversations
  std::vector<LlavaTurn> turns;
};

// Throws setok::Error naming file and fault.
std::vector<LlavaConversation> read_llava(const std::string& path);

}  // namespace setok::data
