#pragma once
// ImageNet-style class folders: ROOT/<class name>/<image files>. Classes are numbered in sorted
// name order (as torchvision's ImageFolder does), samples sorted by path.
#include <string>
#include <vector>

namespace setok::data {

struct ImageFolder {
  std::vector<std::string> classes;
  struct Sample {
    std::string path;
    int label = 0;
  };
  std::vector<Sample> samples;
};

// Files with image extensions (.jpg .jpeg .png .bmp .ppm .pgm .tif .tiff .webp, any case); throws
// setok::Error when ROOT is missing or holds no class folder with images.
ImageFolder read_image_folder(const std::string& root);

}  // namespace setok::data
