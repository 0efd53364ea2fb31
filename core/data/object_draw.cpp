#include "core/data/object_draw.h"

#include <cmath>

#include "core/data/fashion_mnist.h"
#include "core/runtime/error.h"

#ifdef SETOK_HAVE_OPENCV
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#endif

namespace setok::data {

#ifdef SETOK_HAVE_OPENCV
namespace {

constexpr int kShift = 4;  // sub-pixel vertex precision for OpenCV's drawing (1/16 pixel)
constexpr float kOne = 1 << kShift;

cv::Point fixed(float x, float y) {
  return {static_cast<int>(std::lround(x * kOne)), static_cast<int>(std::lround(y * kOne))};
}

// Regular polygon or star: vertices on alternating radii.
std::vector<cv::Point> radial(const SceneObject& o, int n, float r_outer, float r_inner, float phase) {
  std::vector<cv::Point> pts;
  const int m = r_inner > 0 ? 2 * n : n;
  for (int i = 0; i < m; ++i) {
    const float r = (r_inner > 0 && i % 2) ? r_inner : r_outer;
    const float t = phase + o.rotation + static_cast<float>(2 * M_PI) * i / m;
    pts.push_back(fixed(o.cx + r * std::cos(t), o.cy + r * std::sin(t)));
  }
  return pts;
}

void fill(cv::Mat& a, const std::vector<cv::Point>& pts, int value = 255) {
  const cv::Point* p = pts.data();
  const int n = static_cast<int>(pts.size());
  cv::fillPoly(a, &p, &n, 1, cv::Scalar(value), cv::LINE_AA, kShift);
}

void draw_shape(const SceneObject& o, cv::Mat& a) {
  const float h = o.extent / 2;  // half the object's square
  const float up = static_cast<float>(-M_PI / 2);
  switch (static_cast<Shape>(o.cls)) {
    case Shape::circle:
      cv::circle(a, fixed(o.cx, o.cy), static_cast<int>(std::lround(h * kOne)), cv::Scalar(255), cv::FILLED,
                 cv::LINE_AA, kShift);
      break;
    case Shape::ring:
      cv::circle(a, fixed(o.cx, o.cy), static_cast<int>(std::lround(h * kOne)), cv::Scalar(255), cv::FILLED,
                 cv::LINE_AA, kShift);
      cv::circle(a, fixed(o.cx, o.cy), static_cast<int>(std::lround(0.52f * h * kOne)), cv::Scalar(0), cv::FILLED,
                 cv::LINE_AA, kShift);
      break;
    case Shape::ellipse:
      cv::ellipse(a, fixed(o.cx, o.cy),
                  cv::Size(static_cast<int>(std::lround(h * kOne)), static_cast<int>(std::lround(0.55f * h * kOne))),
                  o.rotation * 180 / M_PI, 0, 360, cv::Scalar(255), cv::FILLED, cv::LINE_AA, kShift);
      break;
    case Shape::square:
      fill(a, radial(o, 4, h * 0.92f * std::sqrt(2.0f), 0, static_cast<float>(M_PI / 4)));
      break;
    case Shape::triangle:
      fill(a, radial(o, 3, h, 0, up));
      break;
    case Shape::star:
      fill(a, radial(o, 5, h, 0.45f * h, up));
      break;
    case Shape::hexagon:
      fill(a, radial(o, 6, h, 0, 0));
      break;
    case Shape::cross: {
      // Twelve corners: arms a third of the extent wide.
      const float w = h / 3, c = std::cos(o.rotation), s = std::sin(o.rotation);
      const float xy[12][2] = {{-w, -h}, {w, -h}, {w, -w}, {h, -w}, {h, w},   {w, w},
                               {w, h},   {-w, h}, {-w, w}, {-h, w}, {-h, -w}, {-w, -w}};
      std::vector<cv::Point> pts;
      for (const auto& p : xy) pts.push_back(fixed(o.cx + c * p[0] - s * p[1], o.cy + s * p[0] + c * p[1]));
      fill(a, pts);
      break;
    }
  }
}

void draw_item(const SceneObject& o, int px, cv::Mat& a, cv::Mat& shade) {
  const FashionMnist& fm = fashion_mnist(o.item_train);
  if (o.item < 0 || o.item >= fm.count())
    throw Error("scene refers to Fashion-MNIST item " + std::to_string(o.item) + ", not in the file");
  cv::Mat item(FashionMnist::kSide, FashionMnist::kSide, CV_8U, const_cast<std::uint8_t*>(fm.item(o.item)));
  // Place the 28x28 square (scaled to extent) with an affine warp: sub-pixel exact, clipped at the border.
  const double sc = o.extent / FashionMnist::kSide;
  cv::Mat m = (cv::Mat_<double>(2, 3) << sc, 0, o.cx - o.extent / 2 + 0.5 * sc - 0.5, 0, sc,
               o.cy - o.extent / 2 + 0.5 * sc - 0.5);
  cv::Mat grey;
  cv::warpAffine(item, grey, m, cv::Size(px, px), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(0));
  // Alpha from intensity, saturating early so the item reads as a solid thing; shade keeps its texture.
  grey.convertTo(a, CV_8U, 2.5);
  grey.convertTo(shade, CV_8U, 0.45, 0.55 * 255);
}

}  // namespace
#endif

ObjectLayer draw_object(const SceneObject& o, int px) {
#ifdef SETOK_HAVE_OPENCV
  ObjectLayer layer;
  cv::Mat a = cv::Mat::zeros(px, px, CV_8U);
  if (is_shape(o.cls)) {
    draw_shape(o, a);
  } else {
    cv::Mat shade;
    draw_item(o, px, a, shade);
    layer.shade.assign(shade.datastart, shade.dataend);
  }
  layer.alpha.assign(a.datastart, a.dataend);
  return layer;
#else
  (void)o;
  (void)px;
  throw Error("this build has no OpenCV: the scenes world cannot be rendered");
#endif
}

}  // namespace setok::data
