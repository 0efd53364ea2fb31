// Precompiled for every core/ and test translation unit: LibTorch's headers dominate build time.
#pragma once
#include <ATen/ATen.h>
#include <torch/nn.h>
#include <torch/optim.h>
#include <nlohmann/json.hpp>
