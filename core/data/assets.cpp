#include "core/data/assets.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "core/runtime/error.h"

namespace setok::data {
namespace fs = std::filesystem;
namespace {

std::string env_dir() {
  const char* e = std::getenv("SETOK_ASSETS_DIR");
  return e ? std::string(e) : std::string();
}

bool file_exists(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

// Photos chosen for being photographs or textures (no text, charts or calibration patterns).
struct Known {
  const char* file;
  const char* phrase;
};
const Known kOpenCvPhotos[] = {
    {"baboon.jpg", "a baboon"},       {"fruits.jpg", "fruit"},
    {"building.jpg", "a building"},   {"home.jpg", "a room"},
    {"orange.jpg", "an orange"},      {"apple.jpg", "an apple"},
    {"butterfly.jpg", "a butterfly"}, {"starry_night.jpg", "a painting"},
    {"HappyFish.jpg", "a fish"},      {"messi5.jpg", "a football pitch"},
};
const Known kSkimagePhotos[] = {
    {"astronaut.png", "an astronaut"},
    {"brick.png", "a brick wall"},
    {"chelsea.png", "a cat"},
    {"coffee.png", "a coffee cup"},
    {"grass.png", "grass"},
    {"gravel.png", "gravel"},
    {"hubble_deep_field.jpg", "a starry sky"},
    {"rocket.jpg", "a rocket"},
    {"motorcycle_left.png", "a motorcycle"},
};

const char* kOpenCvDirs[] = {"/usr/share/doc/opencv-doc/examples/data"};
const char* kSkimageDirs[] = {
    "/usr/local/share/setok/python3-skimage/usr/lib/python3/dist-packages/skimage/data",
    "/usr/lib/python3/dist-packages/skimage/data",
};

template <std::size_t NK, std::size_t ND>
std::vector<Photo> find(const Known (&known)[NK], const char* const (&dirs)[ND]) {
  for (const char* d : dirs) {
    std::vector<Photo> found;
    for (const Known& k : known)
      if (file_exists(fs::path(d) / k.file)) found.push_back({(fs::path(d) / k.file).string(), k.phrase});
    if (!found.empty()) return found;
  }
  return {};
}

std::vector<Photo> locate_photos() {
  std::string env = env_dir();
  if (!env.empty() && file_exists(fs::path(env) / "photos")) {
    std::vector<Photo> v;
    for (const auto& e : fs::directory_iterator(fs::path(env) / "photos"))
      if (e.is_regular_file()) v.push_back({e.path().string(), "a scene"});
    std::sort(v.begin(), v.end(), [](const Photo& a, const Photo& b) { return a.path < b.path; });
    if (!v.empty()) return v;
  }
  std::vector<Photo> cv = find(kOpenCvPhotos, kOpenCvDirs);
  if (cv.empty())
    throw Error(
        "background photos not found: install Debian's opencv-doc (packaging/install-deps.sh), or set "
        "SETOK_ASSETS_DIR to a folder with photos/");
  std::vector<Photo> sk = find(kSkimagePhotos, kSkimageDirs);
  if (sk.empty())
    throw Error(
        "python3-skimage's photos not found: run packaging/install-deps.sh (it unpacks the .deb under "
        "/usr/local/share/setok), or set SETOK_ASSETS_DIR to a folder with photos/");
  cv.insert(cv.end(), sk.begin(), sk.end());
  return cv;
}

}  // namespace

std::string fashion_mnist_dir() {
  std::vector<fs::path> dirs;
  std::string env = env_dir();
  if (!env.empty()) dirs.push_back(fs::path(env) / "fashion-mnist");
  dirs.emplace_back("/usr/share/datasets/fashion-mnist");
  for (const fs::path& d : dirs)
    if (file_exists(d / "train-images-idx3-ubyte.gz") && file_exists(d / "t10k-images-idx3-ubyte.gz"))
      return d.string();
  throw Error(
      "Fashion-MNIST not found: install Debian's dataset-fashion-mnist (packaging/install-deps.sh), or set "
      "SETOK_ASSETS_DIR to a folder with fashion-mnist/");
}

const std::vector<Photo>& background_photos() {
  // Located once; a failure is not cached, so installing the package mid-session helps.
  static const std::vector<Photo> photos = locate_photos();
  return photos;
}

}  // namespace setok::data
