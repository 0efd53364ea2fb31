#include "core/io/image.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "core/io/atomic_file.h"
#include "core/runtime/error.h"

#ifdef SETOK_HAVE_OPENCV
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#endif

namespace setok::io {

#ifdef SETOK_HAVE_OPENCV
namespace {

// libpng and libjpeg print their own complaints about corrupt files straight to stderr; the
// caller reports the failure in one line of its own, so they are silenced while decoding.
class QuietStderr {
 public:
  QuietStderr() {
    std::fflush(stderr);
    saved_ = ::dup(2);
    int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (saved_ >= 0 && null >= 0) ::dup2(null, 2);
    if (null >= 0) ::close(null);
  }
  ~QuietStderr() {
    if (saved_ >= 0) {
      ::dup2(saved_, 2);
      ::close(saved_);
    }
  }

 private:
  int saved_ = -1;
};

cv::Mat to_rgb8(const cv::Mat& in) {
  cv::Mat m = in;
  if (m.depth() != CV_8U) {
    double scale = 1.0;
    switch (m.depth()) {
      case CV_16U:
        scale = 1.0 / 257.0;
        break;
      case CV_16S:
        scale = 1.0 / 128.0;
        break;
      case CV_32F:
      case CV_64F:
        scale = 255.0;
        break;
      default:
        break;
    }
    cv::Mat tmp;
    m.convertTo(tmp, CV_8U, scale);
    m = tmp;
  }
  cv::Mat rgb;
  switch (m.channels()) {
    case 1:
      cv::cvtColor(m, rgb, cv::COLOR_GRAY2RGB);
      break;
    case 3:
      cv::cvtColor(m, rgb, cv::COLOR_BGR2RGB);
      break;
    case 4: {
      // Composite over white: transparent regions look as a viewer shows them.
      cv::Mat bgra[4];
      cv::split(m, bgra);
      cv::Mat a;
      bgra[3].convertTo(a, CV_32F, 1.0 / 255.0);
      cv::Mat out[3];
      for (int c = 0; c < 3; ++c) {
        cv::Mat ch;
        bgra[2 - c].convertTo(ch, CV_32F);
        cv::Mat blended = ch.mul(a) + (1.0 - a) * 255.0;
        blended.convertTo(out[c], CV_8U);
      }
      cv::merge(out, 3, rgb);
      break;
    }
    default:
      throw Error("unsupported channel count " + std::to_string(m.channels()));
  }
  return rgb;
}

}  // namespace
#endif

void save_index_png(const std::string& path, int width, int height, const std::vector<std::int32_t>& values) {
#ifdef SETOK_HAVE_OPENCV
  if (values.size() != static_cast<std::size_t>(width) * height || width <= 0 || height <= 0)
    throw Error(path + ": index map size does not match " + std::to_string(width) + "x" + std::to_string(height));
  std::int32_t hi = 0;
  for (auto v : values) {
    if (v < 0 || v > 65535) throw Error(path + ": index " + std::to_string(v) + " does not fit a 16-bit PNG");
    hi = std::max(hi, v);
  }
  cv::Mat m(height, width, hi < 256 ? CV_8UC1 : CV_16UC1);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      auto v = values[static_cast<std::size_t>(y) * width + x];
      if (hi < 256) m.at<std::uint8_t>(y, x) = static_cast<std::uint8_t>(v);
      else m.at<std::uint16_t>(y, x) = static_cast<std::uint16_t>(v);
    }
  std::vector<std::uint8_t> buf;
  if (!cv::imencode(".png", m, buf)) throw Error(path + ": PNG encoding failed");
  write_file_atomic(path, std::string(buf.begin(), buf.end()));
#else
  throw Error(path + ": this build has no image support (built without OpenCV)");
#endif
}

bool image_io_available() {
#ifdef SETOK_HAVE_OPENCV
  return true;
#else
  return false;
#endif
}

Image load_image(const std::string& path, std::int64_t max_pixels) {
#ifdef SETOK_HAVE_OPENCV
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error(path + ": no such file");
  if (std::filesystem::is_directory(path, ec)) throw Error(path + ": is a directory, not an image");
  cv::Mat m;
  try {
    QuietStderr quiet;
    m = cv::imread(path, cv::IMREAD_UNCHANGED | cv::IMREAD_IGNORE_ORIENTATION);
  } catch (const cv::Exception& e) {
    if (e.err.find("CV_IO_MAX_IMAGE_PIXELS") != std::string::npos)
      throw Error(path + ": image is too large to load (over 2^30 pixels)");
    throw Error(path + ": not a readable image (" + e.err + ")");
  }
  if (m.empty()) throw Error(path + ": not a readable image (unknown format, corrupt, or too large)");
  if (static_cast<std::int64_t>(m.rows) * m.cols > max_pixels)
    throw Error(path + ": image is " + std::to_string(m.cols) + "x" + std::to_string(m.rows) + ", more than " +
                std::to_string(max_pixels) + " pixels");
  cv::Mat rgb;
  try {
    rgb = to_rgb8(m);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  Image img;
  img.width = rgb.cols;
  img.height = rgb.rows;
  img.rgb.assign(rgb.datastart, rgb.dataend);
  return img;
#else
  throw Error(path + ": this build has no image support (built without OpenCV)");
#endif
}

void save_png(const std::string& path, const Image& img) {
#ifdef SETOK_HAVE_OPENCV
  if (img.empty()) throw Error(path + ": empty image");
  cv::Mat rgb(img.height, img.width, CV_8UC3, const_cast<std::uint8_t*>(img.rgb.data()));
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  std::vector<std::uint8_t> buf;
  if (!cv::imencode(".png", bgr, buf)) throw Error(path + ": PNG encoding failed");
  write_file_atomic(path, std::string(buf.begin(), buf.end()));
#else
  throw Error(path + ": this build has no image support (built without OpenCV)");
#endif
}

}  // namespace setok::io
