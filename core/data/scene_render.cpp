#include "core/data/scene_render.h"

#include <cmath>
#include <map>
#include <mutex>

#include "core/data/assets.h"
#include "core/data/object_draw.h"
#include "core/runtime/error.h"

#ifdef SETOK_HAVE_OPENCV
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#endif

namespace setok::data {

bool scenes_available() {
#ifdef SETOK_HAVE_OPENCV
  return true;
#else
  return false;
#endif
}

#ifdef SETOK_HAVE_OPENCV
namespace {

// Photos decoded once per process and shrunk: a crop is at most a few hundred pixels anyway.
const cv::Mat& photo(int index) {
  static std::mutex m;
  static std::map<int, cv::Mat> cache;
  std::lock_guard<std::mutex> lock(m);
  auto it = cache.find(index);
  if (it != cache.end()) return it->second;
  const auto& photos = background_photos();
  if (index < 0 || index >= static_cast<int>(photos.size()))
    throw Error("scene refers to background photo " + std::to_string(index) + ", only " +
                std::to_string(photos.size()) + " found");
  io::Image img = io::load_image(photos[index].path);
  cv::Mat rgb(img.height, img.width, CV_8UC3, img.rgb.data());
  const double s = 512.0 / std::max(img.width, img.height);
  cv::Mat out;
  if (s < 1) cv::resize(rgb, out, cv::Size(), s, s, cv::INTER_AREA);
  else out = rgb.clone();
  return cache.emplace(index, out).first->second;
}

}  // namespace
#endif

io::Image render_background(const Background& b, int px) {
#ifdef SETOK_HAVE_OPENCV
  io::Image img;
  img.width = img.height = px;
  img.rgb.resize(static_cast<std::size_t>(px) * px * 3);
  std::uint8_t* d = img.rgb.data();
  switch (b.kind) {
    case BackgroundKind::plain:
      for (int i = 0; i < px * px; ++i) d[3 * i] = b.a.r, d[3 * i + 1] = b.a.g, d[3 * i + 2] = b.a.b;
      break;
    case BackgroundKind::gradient: {
      const float cx = std::cos(b.angle), sy = std::sin(b.angle);
      for (int y = 0; y < px; ++y)
        for (int x = 0; x < px; ++x) {
          // Projection onto the direction, mapped to [0, 1] over the image's diagonal extent.
          float t = ((x - px / 2.0f) * cx + (y - px / 2.0f) * sy) / (px * 0.7071f) * 0.5f + 0.5f;
          t = std::min(1.0f, std::max(0.0f, t));
          std::uint8_t* p = d + 3 * (y * px + x);
          p[0] = static_cast<std::uint8_t>(std::lround(b.a.r + t * (b.b.r - b.a.r)));
          p[1] = static_cast<std::uint8_t>(std::lround(b.a.g + t * (b.b.g - b.a.g)));
          p[2] = static_cast<std::uint8_t>(std::lround(b.a.b + t * (b.b.b - b.a.b)));
        }
      break;
    }
    case BackgroundKind::photo: {
      const cv::Mat& ph = photo(b.photo);
      const int side = std::max(8, static_cast<int>(b.crop_scale * std::min(ph.cols, ph.rows)));
      const int x0 = static_cast<int>(b.crop_x * (ph.cols - side)), y0 = static_cast<int>(b.crop_y * (ph.rows - side));
      cv::Mat crop = ph(cv::Rect(x0, y0, side, side)), small;
      cv::resize(crop, small, cv::Size(px, px), 0, 0, cv::INTER_AREA);
      // Blurred, darkened and half desaturated: texture stays, but the objects are what stands out.
      cv::GaussianBlur(small, small, cv::Size(0, 0), px / 96.0);
      for (int i = 0; i < px * px; ++i) {
        const cv::Vec3b v = small.at<cv::Vec3b>(i / px, i % px);
        const float grey = (v[0] + v[1] + v[2]) / 3.0f;
        for (int c = 0; c < 3; ++c)
          d[3 * i + c] = static_cast<std::uint8_t>(std::lround(0.42f * (0.5f * v[c] + 0.5f * grey)));
      }
      break;
    }
  }
  return img;
#else
  (void)b;
  (void)px;
  throw Error("this build has no OpenCV: the scenes world cannot be rendered");
#endif
}

RenderedScene render_scene(const Scene& scene) {
  const int px = scene.px, n = px * px;
  RenderedScene r;
  r.background = render_background(scene.background, px);
  r.image = r.background;
  std::uint8_t* d = r.image.rgb.data();
  for (const SceneObject& o : scene.objects) {
    ObjectLayer layer = draw_object(o, px);
    const Rgb c = colour_rgb(o.colour);
    const bool shaded = !layer.shade.empty();
    for (int i = 0; i < n; ++i) {
      const int a = layer.alpha[i];
      if (a == 0) continue;
      const int s = shaded ? layer.shade[i] : 255;
      const int col[3] = {c.r * s / 255, c.g * s / 255, c.b * s / 255};
      for (int k = 0; k < 3; ++k)
        d[3 * i + k] = static_cast<std::uint8_t>((d[3 * i + k] * (255 - a) + col[k] * a + 127) / 255);
    }
    r.alpha.push_back(std::move(layer.alpha));
  }
  // Visible = mostly this object, and not mostly any object drawn later.
  const int m = static_cast<int>(scene.objects.size());
  r.visible.assign(m, std::vector<std::uint8_t>(n, 0));
  for (int i = 0; i < n; ++i)
    for (int k = m - 1; k >= 0; --k)
      if (r.alpha[k][i] >= 128) {
        r.visible[k][i] = 1;
        break;
      }
  return r;
}

}  // namespace setok::data
