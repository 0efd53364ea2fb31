#pragma once
// A model checkpoint is a folder: config.json + model.safetensors, or shards listed in
// model.safetensors.index.json ({"metadata": {...}, "weight_map": {tensor: shard file}}).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/io/safetensors.h"

namespace setok::io {

// One tensor as it is stored, without loading its data.
struct StoredTensor {
  std::string name, dtype, file;
  std::vector<std::int64_t> shape;
  std::uint64_t nbytes = 0;
};

struct CheckpointListing {
  std::string kind;       // "safetensors", "sharded", "folder"
  nlohmann::json config;  // null when there is none
  std::vector<std::string> files;
  std::vector<StoredTensor> tensors;  // sorted by name
  std::map<std::string, std::string> metadata;
};

// Describes a .safetensors file, a model.safetensors.index.json, or a model folder; validates
// every header and, for shards, that the index and the shards agree.
CheckpointListing list_checkpoint(const std::string& path);

// Loads the weights of any of those (sharded ones merged into one map).
TensorMap load_weights(const std::string& path);

struct Checkpoint {
  nlohmann::json config;
  TensorMap tensors;
};
Checkpoint load_checkpoint(const std::string& dir);

// Writes config.json and the weights, sharded when they exceed max_shard_bytes (0: never).
void save_checkpoint(const std::string& dir, const nlohmann::json& config, const TensorMap& tensors,
                     std::uint64_t max_shard_bytes = 0);

nlohmann::json read_json_file(const std::string& path);

}  // namespace setok::io
