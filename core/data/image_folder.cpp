#include "core/data/image_folder.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "core/runtime/error.h"

namespace setok::data {
namespace fs = std::filesystem;

ImageFolder read_image_folder(const std::string& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) throw Error(root + ": not a folder");
  static const char* const kExt[] = {".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp"};
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(root))
    if (e.is_directory()) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  ImageFolder f;
  for (const fs::path& d : dirs) {
    std::vector<std::string> files;
    for (const auto& e : fs::recursive_directory_iterator(d)) {
      if (!e.is_regular_file()) continue;
      std::string ext = e.path().extension().string();
      std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
      if (std::find(std::begin(kExt), std::end(kExt), ext) != std::end(kExt)) files.push_back(e.path().string());
    }
    if (files.empty()) continue;  // a folder without images is not a class (labels stay dense)
    std::sort(files.begin(), files.end());
    const int label = static_cast<int>(f.classes.size());
    f.classes.push_back(d.filename().string());
    for (auto& p : files) f.samples.push_back({std::move(p), label});
  }
  if (f.classes.empty()) throw Error(root + ": no class folders with images (expected ROOT/<class>/<image>)");
  return f;
}

}  // namespace setok::data
