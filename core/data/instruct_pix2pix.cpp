#include "core/data/instruct_pix2pix.h"

#include <algorithm>
#include <filesystem>

#include "core/data/json_file.h"

namespace setok::data {
namespace fs = std::filesystem;

std::vector<EditTriplet> read_edit_triplets(const std::string& path, const std::string& images_root) {
  std::vector<EditTriplet> out;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    std::vector<fs::path> dirs;
    for (const auto& e : fs::directory_iterator(path))
      if (e.is_directory() && fs::exists(e.path() / "prompt.json")) dirs.push_back(e.path());
    std::sort(dirs.begin(), dirs.end());
    if (dirs.empty()) throw Error(path + ": no <name>/prompt.json folders (InstructPix2Pix layout)");
    for (const fs::path& d : dirs) {
      const std::string pj = (d / "prompt.json").string();
      const nlohmann::json j = read_json_file(pj);
      const std::string edit = field<std::string>(j, "edit", pj, "top level");
      const std::string in_cap = field_or<std::string>(j, "input", "", pj, "top level");
      const std::string out_cap = field_or<std::string>(j, "output", "", pj, "top level");
      std::vector<std::string> inputs;
      for (const auto& e : fs::directory_iterator(d)) {
        const std::string name = e.path().filename().string();
        if (name.size() > 6 && name.compare(name.size() - 6, 6, "_0.jpg") == 0) inputs.push_back(e.path().string());
      }
      std::sort(inputs.begin(), inputs.end());
      for (const std::string& in : inputs) {
        const std::string edited = in.substr(0, in.size() - 6) + "_1.jpg";
        if (!fs::exists(edited))
          throw Error(in + ": no edited image " + fs::path(edited).filename().string() + " beside it");
        out.push_back({in, edited, edit, in_cap, out_cap});
      }
    }
    return out;
  }
  const fs::path root = images_root.empty() ? fs::path(path).parent_path().parent_path() : fs::path(images_root);
  const auto lines = read_jsonl_file(path);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string at = "line " + std::to_string(i + 1);
    EditTriplet t;
    t.input_image = (root / field<std::string>(lines[i], "input_image", path, at)).string();
    t.edited_image = (root / field<std::string>(lines[i], "edited_image", path, at)).string();
    t.instruction = field<std::string>(lines[i], "edit_prompt", path, at);
    t.input_caption = field_or<std::string>(lines[i], "original_prompt", "", path, at);
    t.edited_caption = field_or<std::string>(lines[i], "edited_prompt", "", path, at);
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace setok::data
