// setok inspect PATH: the tensors of a .safetensors file, a sharded checkpoint, a model folder
// (with its config) or a .npy file, read from headers only.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "app/setok/command.h"
#include "core/io/checkpoint.h"
#include "core/io/npy.h"

namespace setok::cli {
namespace {

std::string shape_text(const std::vector<std::int64_t>& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

std::string npy_dtype_name(const std::string& descr) {
  if (descr == "<f4") return "F32";
  if (descr == "<f8") return "F64";
  if (descr == "<i8") return "I64";
  if (descr == "<i4") return "I32";
  if (descr == "|u1") return "U8";
  if (descr == "|b1") return "BOOL";
  return descr;
}

bool is_npy(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  return ext == ".npy" || ext == ".NPY";
}

}  // namespace

Command add_inspect(CLI::App& app, Globals& g) {
  auto* sub =
      app.add_subcommand("inspect", "List the tensors in a .safetensors file, checkpoint folder, index or .npy");
  auto path = std::make_shared<std::string>();
  sub->add_option("PATH", *path, "File or model folder")->required();
  sub->add_flag("--json", g.json, "Machine-readable output");
  return {sub, [&g, path]() {
            io::CheckpointListing l;
            if (is_npy(*path)) {
              io::NpyHeader h = io::read_npy_header(*path);
              std::uint64_t n = h.item_size;
              for (auto d : h.shape) n *= static_cast<std::uint64_t>(d);
              l.kind = "npy";
              l.files.push_back(std::filesystem::path(*path).filename().string());
              l.tensors.push_back({"array", npy_dtype_name(h.descr), l.files[0], h.shape, n});
            } else {
              l = io::list_checkpoint(*path);
            }
            std::uint64_t total = 0, params = 0;
            for (const auto& t : l.tensors) {
              total += t.nbytes;
              std::uint64_t p = 1;
              for (auto d : t.shape) p *= static_cast<std::uint64_t>(d);
              params += p;
            }
            if (g.json) {
              nlohmann::json j = {{"path", *path},         {"kind", l.kind},
                                  {"files", l.files},      {"tensor_count", l.tensors.size()},
                                  {"total_bytes", total},  {"parameters", params},
                                  {"metadata", l.metadata}};
              j["config"] = l.config;
              nlohmann::json ts = nlohmann::json::array();
              for (const auto& t : l.tensors)
                ts.push_back(
                    {{"name", t.name}, {"dtype", t.dtype}, {"shape", t.shape}, {"bytes", t.nbytes}, {"file", t.file}});
              j["tensors"] = ts;
              print_json(j);
              return 0;
            }
            std::printf("%s: %s, %zu tensors, %llu elements, %s\n", path->c_str(), l.kind.c_str(), l.tensors.size(),
                        static_cast<unsigned long long>(params), human_bytes(total).c_str());
            if (!l.config.is_null()) {
              std::printf("config:");
              for (auto it = l.config.begin(); it != l.config.end() && l.config.is_object(); ++it)
                if (!it.value().is_structured()) std::printf(" %s=%s", it.key().c_str(), it.value().dump().c_str());
              std::printf("\n");
            }
            std::size_t w = 4;
            for (const auto& t : l.tensors) w = std::max(w, t.name.size());
            for (const auto& t : l.tensors)
              std::printf("  %-*s  %-5s %-22s %10s%s%s\n", static_cast<int>(w), t.name.c_str(), t.dtype.c_str(),
                          shape_text(t.shape).c_str(), human_bytes(t.nbytes).c_str(), l.files.size() > 1 ? "  " : "",
                          l.files.size() > 1 ? t.file.c_str() : "");
            return 0;
          }};
}

}  // namespace setok::cli
