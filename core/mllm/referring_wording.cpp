#include "core/mllm/referring_wording.h"

namespace setok::mllm {

const std::vector<std::string>& referring_wordings() {
  static const std::vector<std::string> w = {"Segment {}.",
                                             "Please segment {}.",
                                             "Can you segment {} in this image?",
                                             "Where is {}? Answer with a segmentation mask.",
                                             "Show me {}.",
                                             "Mark {} in the picture."};
  return w;
}

std::string referring_request(const std::string& expression, std::size_t wording) {
  std::string e = expression;
  while (!e.empty() && (e.back() == ' ' || e.back() == '.')) e.pop_back();
  const std::string& w = referring_wordings().at(wording);
  const std::size_t at = w.find("{}");
  return w.substr(0, at) + e + w.substr(at + 2);
}

}  // namespace setok::mllm
