#include "core/io/checkpoint.h"

#include <ATen/ATen.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/io/atomic_file.h"
#include "core/runtime/error.h"

namespace fs = std::filesystem;

namespace setok::io {
namespace {

constexpr const char* kWeights = "model.safetensors";
constexpr const char* kIndex = "model.safetensors.index.json";

bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

void add_file(CheckpointListing& out, const std::string& path, const std::string& label) {
  SafetensorsFile f(path);
  for (const auto& e : f.header().entries) out.tensors.push_back({e.name, e.dtype, label, e.shape, e.nbytes()});
  for (const auto& [k, v] : f.header().metadata) out.metadata[k] = v;
  out.files.push_back(label);
}

// weight_map: tensor name -> shard file (relative to the index's folder), validated.
std::map<std::string, std::string> read_index(const std::string& index_path) {
  nlohmann::json j = read_json_file(index_path);
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
    throw Error(index_path + ": no \"weight_map\" object");
  std::map<std::string, std::string> map;
  for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
    if (!it.value().is_string()) throw Error(index_path + ": weight_map entry '" + it.key() + "' is not a file name");
    std::string shard = it.value().get<std::string>();
    if (shard.empty() || shard.find('/') != std::string::npos || shard == "." || shard == "..")
      throw Error(index_path + ": weight_map names shard '" + shard + "' outside the checkpoint folder");
    map[it.key()] = shard;
  }
  if (map.empty()) throw Error(index_path + ": weight_map is empty");
  return map;
}

CheckpointListing list_sharded(const std::string& index_path) {
  CheckpointListing out;
  out.kind = "sharded";
  auto map = read_index(index_path);
  std::string dir = fs::path(index_path).parent_path().string();
  std::set<std::string> shards;
  for (const auto& [name, shard] : map) shards.insert(shard);
  for (const auto& shard : shards) {
    std::string p = (fs::path(dir) / shard).string();
    if (!fs::exists(p)) throw Error(index_path + ": shard " + shard + " is missing");
    add_file(out, p, shard);
  }
  std::set<std::string> seen;
  for (const auto& t : out.tensors) {
    auto it = map.find(t.name);
    if (it == map.end()) throw Error(t.file + ": holds tensor '" + t.name + "' that the index does not list");
    if (it->second != t.file)
      throw Error(index_path + ": index puts '" + t.name + "' in " + it->second + " but it is in " + t.file);
    if (!seen.insert(t.name).second) throw Error(index_path + ": tensor '" + t.name + "' appears in two shards");
  }
  for (const auto& [name, shard] : map)
    if (!seen.count(name)) throw Error(index_path + ": tensor '" + name + "' is not in shard " + shard);
  return out;
}

}  // namespace

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded()) throw Error(path + ": not valid JSON");
  return j;
}

CheckpointListing list_checkpoint(const std::string& path) {
  if (!fs::exists(path)) throw Error(path + ": no such file or directory");
  CheckpointListing out;
  if (fs::is_directory(path)) {
    fs::path dir(path);
    if (fs::exists(dir / kIndex)) {
      out = list_sharded((dir / kIndex).string());
    } else if (fs::exists(dir / kWeights)) {
      add_file(out, (dir / kWeights).string(), kWeights);
    } else {
      throw Error(path + ": not a model folder (no " + std::string(kWeights) + " or " + kIndex + ")");
    }
    out.kind = "folder";
    if (fs::exists(dir / "config.json")) out.config = read_json_file((dir / "config.json").string());
  } else if (ends_with(path, ".index.json")) {
    out = list_sharded(path);
  } else {
    out.kind = "safetensors";
    add_file(out, path, fs::path(path).filename().string());
  }
  std::sort(out.tensors.begin(), out.tensors.end(),
            [](const StoredTensor& a, const StoredTensor& b) { return a.name < b.name; });
  return out;
}

TensorMap load_weights(const std::string& path) {
  fs::path p(path);
  std::string index;
  if (fs::is_directory(p)) {
    if (fs::exists(p / kIndex)) index = (p / kIndex).string();
    else if (fs::exists(p / kWeights)) return load_safetensors((p / kWeights).string());
    else throw Error(path + ": not a model folder (no " + std::string(kWeights) + " or " + kIndex + ")");
  } else if (ends_with(path, ".index.json")) {
    index = path;
  } else {
    return load_safetensors(path);
  }
  list_sharded(index);  // validates the index against the shards
  TensorMap all;
  std::set<std::string> shards;
  for (const auto& [name, shard] : read_index(index)) shards.insert(shard);
  for (const auto& shard : shards) {
    TensorMap part = load_safetensors((fs::path(index).parent_path() / shard).string());
    all.insert(part.begin(), part.end());
  }
  return all;
}

Checkpoint load_checkpoint(const std::string& dir) {
  if (!fs::is_directory(dir)) throw Error(dir + ": a checkpoint is a folder with config.json and model.safetensors");
  fs::path cfg = fs::path(dir) / "config.json";
  if (!fs::exists(cfg)) throw Error(dir + ": no config.json");
  return {read_json_file(cfg.string()), load_weights(dir)};
}

void save_checkpoint(const std::string& dir, const nlohmann::json& config, const TensorMap& tensors,
                     std::uint64_t max_shard_bytes) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir + ": cannot create folder: " + ec.message());
  fs::path d(dir);
  std::uint64_t total = 0;
  for (const auto& [n, t] : tensors) total += t.nbytes();
  if (max_shard_bytes == 0 || total <= max_shard_bytes) {
    save_safetensors((d / kWeights).string(), tensors);
    fs::remove(d / kIndex, ec);
  } else {
    std::vector<TensorMap> shards(1);
    std::uint64_t cur = 0;
    for (const auto& [n, t] : tensors) {
      if (cur > 0 && cur + t.nbytes() > max_shard_bytes) {
        shards.emplace_back();
        cur = 0;
      }
      shards.back()[n] = t;
      cur += t.nbytes();
    }
    nlohmann::json index = {{"metadata", {{"total_size", total}}}, {"weight_map", nlohmann::json::object()}};
    for (std::size_t i = 0; i < shards.size(); ++i) {
      char name[64];
      std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
      save_safetensors((d / name).string(), shards[i]);
      for (const auto& [n, t] : shards[i]) index["weight_map"][n] = name;
    }
    write_file_atomic((d / kIndex).string(), index.dump(2) + "\n");
    fs::remove(d / kWeights, ec);
  }
  write_file_atomic((d / "config.json").string(), config.dump(2) + "\n");
}

}  // namespace setok::io
