#include "core/data/coco_rle.h"

#include <algorithm>

#include "core/runtime/error.h"

namespace setok::data {

Rle rle_encode(const std::uint8_t* mask, int height, int width) {
  Rle r{height, width, {}};
  std::uint8_t current = 0;
  std::uint32_t run = 0;
  for (int x = 0; x < width; ++x)
    for (int y = 0; y < height; ++y) {
      const std::uint8_t v = mask[static_cast<std::size_t>(y) * width + x] ? 1 : 0;
      if (v != current) {
        r.counts.push_back(run);
        run = 0;
        current = v;
      }
      ++run;
    }
  r.counts.push_back(run);
  return r;
}

std::vector<std::uint8_t> rle_decode(const Rle& rle) {
  const std::uint64_t n = static_cast<std::uint64_t>(rle.height) * rle.width;
  std::uint64_t total = 0;
  for (std::uint32_t c : rle.counts) total += c;
  if (total != n)
    throw Error("RLE counts add up to " + std::to_string(total) + " pixels, the mask has " + std::to_string(n));
  std::vector<std::uint8_t> m(n, 0);
  std::uint64_t pos = 0;
  for (std::size_t i = 0; i < rle.counts.size(); ++i) {
    if (i % 2)
      for (std::uint32_t k = 0; k < rle.counts[i]; ++k, ++pos) {
        const std::uint64_t x = pos / rle.height, y = pos % rle.height;
        m[y * rle.width + x] = 1;
      }
    else pos += rle.counts[i];
  }
  return m;
}

std::string rle_to_string(const Rle& rle) {
  std::string s;
  for (std::size_t i = 0; i < rle.counts.size(); ++i) {
    long long x = rle.counts[i];
    if (i > 2) x -= rle.counts[i - 2];  // sic: pycocotools starts the deltas at the fourth count
    bool more = true;
    while (more) {
      char c = static_cast<char>(x & 0x1f);
      x >>= 5;  // arithmetic shift: negative deltas end at -1
      more = (c & 0x10) ? x != -1 : x != 0;
      if (more) c |= 0x20;
      s += static_cast<char>(c + 48);
    }
  }
  return s;
}

Rle rle_from_string(const std::string& s, int height, int width) {
  Rle r{height, width, {}};
  std::size_t p = 0;
  while (p < s.size()) {
    long long x = 0;
    int k = 0;
    bool more = true;
    while (more) {
      if (p >= s.size()) throw Error("compressed RLE ends inside a count");
      const int c = static_cast<unsigned char>(s[p]) - 48;
      if (c < 0 || c > 63)
        throw Error(std::string("compressed RLE has a character outside its alphabet: '") + s[p] + "'");
      if (k > 6) throw Error("compressed RLE count is too long");
      x |= static_cast<long long>(c & 0x1f) << (5 * k);
      more = c & 0x20;
      ++p;
      ++k;
      if (!more && (c & 0x10)) x |= ~((1LL << (5 * k)) - 1);  // sign-extend
    }
    if (r.counts.size() > 2) x += r.counts[r.counts.size() - 2];
    if (x < 0 || x > 0xffffffffLL) throw Error("compressed RLE decodes to a negative or huge count");
    r.counts.push_back(static_cast<std::uint32_t>(x));
  }
  return r;
}

std::uint64_t rle_area(const Rle& rle) {
  std::uint64_t a = 0;
  for (std::size_t i = 1; i < rle.counts.size(); i += 2) a += rle.counts[i];
  return a;
}

std::array<int, 4> rle_bbox(const Rle& rle) {
  if (rle.height <= 0) return {0, 0, 0, 0};
  const std::uint64_t h = rle.height;
  std::uint64_t pos = 0, x0 = UINT64_MAX, x1 = 0, y0 = UINT64_MAX, y1 = 0;
  bool any = false;
  for (std::size_t i = 0; i < rle.counts.size(); ++i) {
    const std::uint64_t c = rle.counts[i];
    if (i % 2 && c > 0) {
      any = true;
      const std::uint64_t first = pos, last = pos + c - 1;
      x0 = std::min(x0, first / h);
      x1 = std::max(x1, last / h);
      // A run spanning a column boundary covers every row in between.
      if (first / h != last / h) {
        y0 = 0;
        y1 = h - 1;
      } else {
        y0 = std::min(y0, first % h);
        y1 = std::max(y1, last % h);
      }
    }
    pos += c;
  }
  if (!any) return {0, 0, 0, 0};
  return {static_cast<int>(x0), static_cast<int>(y0), static_cast<int>(x1 - x0 + 1), static_cast<int>(y1 - y0 + 1)};
}

}  // namespace setok::data
