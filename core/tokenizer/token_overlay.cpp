#include "core/tokenizer/token_overlay.h"

#include <algorithm>
#include <cmath>

#include "core/runtime/error.h"

namespace setok::tokenizer {

Rgb token_colour(int index) {
  // Golden-ratio steps around the hue circle, two lightness levels alternating.
  double h = std::fmod(0.13 + index * 0.618033988749895, 1.0) * 6.0;
  double s = 0.75, v = index % 2 ? 0.80 : 0.98;
  int i = static_cast<int>(h);
  double f = h - i, p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  double r, g, b;
  switch (i % 6) {
    case 0:
      r = v, g = t, b = p;
      break;
    case 1:
      r = q, g = v, b = p;
      break;
    case 2:
      r = p, g = v, b = t;
      break;
    case 3:
      r = p, g = q, b = v;
      break;
    case 4:
      r = t, g = p, b = v;
      break;
    default:
      r = v, g = p, b = q;
      break;
  }
  auto c = [](double x) { return static_cast<std::uint8_t>(std::lround(x * 255)); };
  return {c(r), c(g), c(b)};
}

std::vector<std::int32_t> upsample_token_map(const std::vector<std::int32_t>& grid, int gh, int gw, int width,
                                             int height) {
  if (static_cast<std::size_t>(gh) * gw != grid.size()) throw Error("token map size does not match its grid");
  std::vector<std::int32_t> out(static_cast<std::size_t>(width) * height);
  for (int y = 0; y < height; ++y) {
    int gy = std::min(gh - 1, static_cast<int>((y + 0.5) * gh / height));
    for (int x = 0; x < width; ++x) {
      int gx = std::min(gw - 1, static_cast<int>((x + 0.5) * gw / width));
      out[static_cast<std::size_t>(y) * width + x] = grid[static_cast<std::size_t>(gy) * gw + gx];
    }
  }
  return out;
}

std::vector<std::int32_t> refine_token_map(const io::Image& img, const std::vector<std::int32_t>& grid, int gh,
                                           int gw) {
  const int W = img.width, H = img.height;
  if (img.empty() || img.rgb.size() != static_cast<std::size_t>(W) * H * 3)
    throw Error("refine_token_map: the image is empty or its pixel buffer has the wrong size");
  if (gh <= 0 || gw <= 0) throw Error("refine_token_map: the token grid is empty");
  std::vector<std::int32_t> map = upsample_token_map(grid, gh, gw, W, H);
  int tokens = 0;
  for (auto t : grid) tokens = std::max(tokens, t + 1);
  if (tokens < 2) return map;
  // Each token's mean colour over the pixels of its patches.
  std::vector<double> mean(static_cast<std::size_t>(tokens) * 3, 0.0);
  std::vector<std::int64_t> count(tokens, 0);
  for (std::size_t p = 0; p < map.size(); ++p) {
    const int t = map[p];
    if (t < 0) continue;
    for (int k = 0; k < 3; ++k) mean[t * 3 + k] += img.rgb[p * 3 + k];
    ++count[t];
  }
  for (int t = 0; t < tokens; ++t)
    for (int k = 0; k < 3; ++k) mean[t * 3 + k] /= std::max<std::int64_t>(1, count[t]);
  // The tokens of each patch's 3 x 3 neighbourhood: the only ones its pixels may move to.
  std::vector<std::vector<std::int32_t>> near(static_cast<std::size_t>(gh) * gw);
  for (int gy = 0; gy < gh; ++gy)
    for (int gx = 0; gx < gw; ++gx) {
      auto& c = near[static_cast<std::size_t>(gy) * gw + gx];
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) {
          const int ny = gy + dy, nx = gx + dx;
          if (ny < 0 || ny >= gh || nx < 0 || nx >= gw) continue;
          const std::int32_t t = grid[static_cast<std::size_t>(ny) * gw + nx];
          if (t >= 0 && std::find(c.begin(), c.end(), t) == c.end()) c.push_back(t);
        }
    }
  std::vector<std::int32_t> out = map;
  for (int y = 0; y < H; ++y) {
    const int gy = std::min(gh - 1, static_cast<int>((y + 0.5) * gh / H));
    for (int x = 0; x < W; ++x) {
      const int gx = std::min(gw - 1, static_cast<int>((x + 0.5) * gw / W));
      const std::size_t p = static_cast<std::size_t>(y) * W + x;
      const auto& c = near[static_cast<std::size_t>(gy) * gw + gx];
      if (map[p] < 0 || c.size() < 2) continue;
      double best_d = -1;
      for (std::int32_t t : c) {
        double d = 0;
        for (int k = 0; k < 3; ++k) {
          const double v = img.rgb[p * 3 + k] - mean[t * 3 + k];
          d += v * v;
        }
        // Ties keep the patch's own token.
        if (best_d < 0 || d < best_d || (d == best_d && t == map[p])) best_d = d, out[p] = t;
      }
    }
  }
  return out;
}

std::vector<TokenStat> token_stats(const std::vector<std::int32_t>& map, int width, int height, int tokens) {
  std::vector<TokenStat> s(tokens);
  std::vector<int> x1(tokens, -1), y1(tokens, -1);
  for (int t = 0; t < tokens; ++t) {
    s[t].index = t;
    s[t].colour = token_colour(t);
    s[t].x = width;
    s[t].y = height;
  }
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      int t = map[static_cast<std::size_t>(y) * width + x];
      if (t < 0 || t >= tokens) continue;
      TokenStat& st = s[t];
      ++st.area;
      st.cx += x;
      st.cy += y;
      st.x = std::min(st.x, x);
      st.y = std::min(st.y, y);
      x1[t] = std::max(x1[t], x);
      y1[t] = std::max(y1[t], y);
    }
  for (int t = 0; t < tokens; ++t) {
    if (s[t].area == 0) {
      s[t].x = s[t].y = 0;
      continue;
    }
    s[t].cx /= s[t].area;
    s[t].cy /= s[t].area;
    s[t].w = x1[t] - s[t].x + 1;
    s[t].h = y1[t] - s[t].y + 1;
  }
  return s;
}

io::Image render_overlay(const io::Image& img, const std::vector<std::int32_t>& map, float opacity, bool outline) {
  if (map.size() != static_cast<std::size_t>(img.width) * img.height) throw Error("token map and image differ in size");
  io::Image out = img;
  const float a = std::clamp(opacity, 0.0f, 1.0f);
  auto at = [&](int x, int y) { return map[static_cast<std::size_t>(y) * img.width + x]; };
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      int t = at(x, y);
      if (t < 0) continue;
      Rgb c = token_colour(t);
      bool edge = outline && ((x + 1 < img.width && at(x + 1, y) != t) || (y + 1 < img.height && at(x, y + 1) != t) ||
                              (x > 0 && at(x - 1, y) != t) || (y > 0 && at(x, y - 1) != t));
      float w = edge ? 1.0f : a;
      std::uint8_t* p = &out.rgb[(static_cast<std::size_t>(y) * img.width + x) * 3];
      p[0] = static_cast<std::uint8_t>(std::lround(p[0] * (1 - w) + c.r * w));
      p[1] = static_cast<std::uint8_t>(std::lround(p[1] * (1 - w) + c.g * w));
      p[2] = static_cast<std::uint8_t>(std::lround(p[2] * (1 - w) + c.b * w));
    }
  return out;
}

}  // namespace setok::tokenizer
