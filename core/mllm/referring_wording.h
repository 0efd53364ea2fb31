#pragma once
// How a referring request is asked in a chat (paper §2.2, LISA's "[SEG]"): the wordings Stage II
// teaches the model to answer with the segmentation token, and the mask decoder learns to read.
#include <cstddef>
#include <string>
#include <vector>

namespace setok::mllm {

// "{}" stands for the expression; the first is what `setok segment` asks.
const std::vector<std::string>& referring_wordings();

// "Segment the small green dress." (a trailing full stop is not doubled); `wording` indexes
// referring_wordings().
std::string referring_request(const std::string& expression, std::size_t wording = 0);

}  // namespace setok::mllm
