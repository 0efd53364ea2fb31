#include "core/nn/state_dict.h"

#include <torch/nn/module.h>

#include "core/runtime/error.h"

namespace setok::nn {
namespace {
std::string shape_text(at::IntArrayRef s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}
}  // namespace

io::TensorMap state_dict(const torch::nn::Module& m, const std::string& prefix) {
  io::TensorMap out;
  for (const auto& p : m.named_parameters(/*recurse=*/true)) out[prefix + p.key()] = p.value().detach();
  for (const auto& b : m.named_buffers(/*recurse=*/true)) out[prefix + b.key()] = b.value().detach();
  return out;
}

void load_state_dict(torch::nn::Module& m, const io::TensorMap& tensors, const std::string& prefix, bool strict) {
  torch::NoGradGuard no_grad;
  std::size_t used = 0;
  auto copy = [&](const std::string& name, at::Tensor& dst) {
    auto it = tensors.find(prefix + name);
    if (it == tensors.end()) {
      if (strict) throw Error("checkpoint lacks tensor '" + prefix + name + "'");
      return;
    }
    if (it->second.sizes() != dst.sizes())
      throw Error("tensor '" + prefix + name + "' has shape " + shape_text(it->second.sizes()) +
                  " in the checkpoint but " + shape_text(dst.sizes()) + " in the model");
    dst.copy_(it->second);
    ++used;
  };
  for (auto& p : m.named_parameters(true)) copy(p.key(), p.value());
  for (auto& b : m.named_buffers(true)) copy(b.key(), b.value());
  if (strict) {
    std::size_t under_prefix = 0;
    std::string extra;
    for (const auto& [name, t] : tensors)
      if (name.compare(0, prefix.size(), prefix) == 0) {
        ++under_prefix;
        if (extra.empty()) {
          auto sd = m.named_parameters(true);
          std::string local = name.substr(prefix.size());
          if (!sd.contains(local) && !m.named_buffers(true).contains(local)) extra = name;
        }
      }
    if (under_prefix != used) throw Error("checkpoint has tensor '" + extra + "' that the model does not use");
  }
}

io::TensorMap take_prefixed(io::TensorMap& tensors, const std::string& prefix) {
  io::TensorMap out;
  for (auto it = tensors.begin(); it != tensors.end();) {
    if (it->first.compare(0, prefix.size(), prefix) == 0) {
      out[it->first.substr(prefix.size())] = it->second;
      it = tensors.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

}  // namespace setok::nn
