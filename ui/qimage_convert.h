#pragma once
// io::Image (8-bit RGB) as a QImage, for painting.
#include <QImage>
#include <cstring>

#include "core/io/image.h"

namespace setok::ui {

inline QImage to_qimage(const io::Image& img) {
  QImage q(img.width, img.height, QImage::Format_RGB888);
  for (int y = 0; y < img.height; ++y)
    std::memcpy(q.scanLine(y), img.rgb.data() + static_cast<std::size_t>(y) * img.width * 3,
                static_cast<std::size_t>(img.width) * 3);
  return q;
}

}  // namespace setok::ui
