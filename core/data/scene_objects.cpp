#include "core/data/scene_objects.h"

#include <algorithm>

namespace setok::data {

std::vector<ObjectInfo> measure_objects(const Scene& scene, const RenderedScene& r) {
  const int px = scene.px;
  std::vector<ObjectInfo> out;
  for (std::size_t k = 0; k < scene.objects.size(); ++k) {
    const SceneObject& o = scene.objects[k];
    ObjectInfo info;
    info.object = static_cast<int>(k);
    info.cls = o.cls;
    info.colour = o.colour;
    info.size = o.size;
    info.mask = r.visible[k];
    int x0 = px, y0 = px, x1 = -1, y1 = -1;
    double sx = 0, sy = 0;
    for (int y = 0; y < px; ++y)
      for (int x = 0; x < px; ++x)
        if (info.mask[y * px + x]) {
          ++info.area;
          sx += x;
          sy += y;
          x0 = std::min(x0, x), y0 = std::min(y0, y), x1 = std::max(x1, x), y1 = std::max(y1, y);
        }
    if (info.area > 0) {
      info.bbox = {x0, y0, x1 - x0 + 1, y1 - y0 + 1};
      info.cx = static_cast<float>(sx / info.area);
      info.cy = static_cast<float>(sy / info.area);
    }
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace setok::data
