#pragma once
// Gradient checkpointing (Chen et al. 2016; torch.utils.checkpoint, reentrant): a block runs
// forward without keeping its activations, and backward runs it again, with gradients on, and
// backpropagates through that second run — the activations of a block are held for one block at a
// time instead of for all of them, for one more forward pass. The block must give the same result
// twice (ours have no dropout) and may read only `x`, tensors it captured and module parameters;
// what it captures must stay alive until backward (capture by value). The autocast state of the
// forward pass is restored for the second run.
#include <ATen/core/Tensor.h>

#include <functional>

namespace setok::nn {

using Block = std::function<at::Tensor(const at::Tensor&)>;

// block(x), its activations freed; the gradients of x and of every parameter the block reads are
// those of block(x) itself. Without gradient mode it is just block(x).
at::Tensor checkpointed(const Block& block, const at::Tensor& x);

}  // namespace setok::nn
