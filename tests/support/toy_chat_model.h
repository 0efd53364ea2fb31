#pragma once
// A tiny untrained SeTokim with a trained text tokenizer (SentencePiece), saved in a folder, and a
// 64 × 64 toy-world image for it: the words are noise, the mechanics are not.
#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/io/image.h"
#include "core/llm/text_tokenizer.h"
#include "core/mllm/setokim.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tiny_setokim.h"

namespace setok::test {

// Saves the model in DIR/name and returns that folder.
inline std::string toy_chat_model(const TempDir& d, const std::string& name = "m") {
  std::vector<std::string> text;
  for (int i = 0; i < 300; ++i)
    text.push_back("USER: what colour is the square? ASSISTANT: the square number " + std::to_string(i) + " is red.");
  std::filesystem::create_directories(d.path() / name);
  llm::TextTokenizer::train(text, d / (name + "/tokenizer"), 300);
  at::manual_seed(0);
  mllm::SetokimConfig cfg = tiny(mllm::Connector::kSetok);
  cfg.text.vocab_size = 320;
  mllm::Setokim m(cfg);
  mllm::save_setokim(d / name, m);
  return d / name;
}

inline io::Image toy_chat_image() {
  io::Image img;
  img.width = img.height = 64;
  at::Tensor px = (image()[0].permute({1, 2, 0}) * 0.5 + 0.5).mul(255).round().to(at::kByte).contiguous();
  img.rgb.assign(px.data_ptr<std::uint8_t>(), px.data_ptr<std::uint8_t>() + px.numel());
  return img;
}

}  // namespace setok::test
