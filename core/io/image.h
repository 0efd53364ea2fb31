#pragma once
// Images as the rest of the program sees them: 8-bit RGB, row-major, whatever the file held
// (grey, 16-bit, alpha, CMYK, palette). No torch and no OpenCV in this header: the studio uses it.
#include <cstdint>
#include <string>
#include <vector>

namespace setok::io {

struct Image {
  int width = 0, height = 0;
  std::vector<std::uint8_t> rgb;  // width * height * 3
  bool empty() const { return width == 0 || height == 0; }
};

// Throws setok::Error with a one-line reason for anything that is not a readable image, or
// holds more than max_pixels pixels.
Image load_image(const std::string& path, std::int64_t max_pixels = std::int64_t{1} << 28);

// PNG, written atomically.
void save_png(const std::string& path, const Image& img);

// A map of small integers (token indices) as a grey PNG: 8-bit when every value fits, else 16-bit.
void save_index_png(const std::string& path, int width, int height, const std::vector<std::int32_t>& values);

bool image_io_available();

}  // namespace setok::io
