#include "app/setok/segment_output.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "core/runtime/error.h"

namespace fs = std::filesystem;

namespace setok::cli {

void check_output_file(const std::string& path, const std::string& flag) {
  if (path.empty()) throw Error(flag + " needs a file name");
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw Error(flag + " " + path + " is a folder; name a file");
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty() && !fs::is_directory(parent, ec))
    throw Error(flag + " " + path + ": no folder " + parent.string());
}

void check_output_dir(const std::string& path, const std::string& flag) {
  if (path.empty()) throw Error(flag + " needs a folder name");
  std::error_code ec;
  fs::path p = fs::absolute(path, ec);
  if (fs::exists(p, ec) && !fs::is_directory(p, ec)) throw Error(flag + " " + path + " is a file, not a folder");
  while (!fs::exists(p, ec) && p.has_relative_path()) p = p.parent_path();
  if (!fs::is_directory(p, ec))
    throw Error(flag + " " + path + ": cannot create the folder (" + p.string() + " is not a folder)");
  if (::access(p.c_str(), W_OK | X_OK) != 0)
    throw Error(flag + " " + path + ": cannot create the folder (" + p.string() + " is not writable)");
}

void make_output_dir(const std::string& path, const std::string& flag) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) throw Error(flag + " " + path + ": cannot create the folder (" + ec.message() + ")");
}

double score_json(float v) { return std::round(static_cast<double>(v) * 1e4) / 1e4; }

nlohmann::json candidate_json(const heads::MaskCandidate& c) {
  return {{"predicted_iou", score_json(c.predicted_iou)}, {"area", c.area}, {"bbox", c.bbox}};
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace setok::cli
