#include "app/setok/segment_prompts.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "core/runtime/error.h"

namespace setok::cli {
namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> parts;
  std::size_t begin = 0;
  for (std::size_t comma; (comma = s.find(',', begin)) != std::string::npos; begin = comma + 1)
    parts.push_back(trim(s.substr(begin, comma - begin)));
  parts.push_back(trim(s.substr(begin)));
  return parts;
}

// A finite number and nothing else; throws with `what` (the option and its text) otherwise.
float number(const std::string& s, const std::string& what) {
  char* end = nullptr;
  const float v = s.empty() ? NAN : std::strtof(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !std::isfinite(v)) throw Error(what + ": '" + s + "' is not a number");
  return v;
}

std::string fmt(float v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", static_cast<double>(v));
  return b;
}

std::string size_text(int width, int height) {
  return "the " + std::to_string(width) + "x" + std::to_string(height) + " image (x 0.." + std::to_string(width) +
         ", y 0.." + std::to_string(height) + ")";
}

}  // namespace

heads::Click parse_click(const std::string& text) {
  const std::string what = "--point " + text;
  const std::vector<std::string> p = split_commas(text);
  if (p.size() != 2 && p.size() != 3) throw Error(what + ": expected X,Y or X,Y,neg (pixel coordinates)");
  heads::Click c;
  c.x = number(p[0], what);
  c.y = number(p[1], what);
  if (p.size() == 3) {
    const std::string& kind = p[2];
    if (kind == "neg" || kind == "negative" || kind == "-") c.positive = false;
    else if (kind == "pos" || kind == "positive" || kind == "+") c.positive = true;
    else throw Error(what + ": '" + kind + "' is neither pos nor neg");
  }
  return c;
}

heads::Box parse_box(const std::string& text) {
  const std::string what = "--box " + text;
  const std::vector<std::string> p = split_commas(text);
  if (p.size() != 4) throw Error(what + ": expected X0,Y0,X1,Y1 (pixel coordinates of two corners)");
  heads::Box b{number(p[0], what), number(p[1], what), number(p[2], what), number(p[3], what)};
  if (!(b.x0 < b.x1 && b.y0 < b.y1)) throw Error(what + ": expected X0 < X1 and Y0 < Y1 (top left, bottom right)");
  return b;
}

void check_inside(const heads::Click& c, int width, int height) {
  if (c.x < 0 || c.y < 0 || c.x > width || c.y > height)
    throw Error("--point " + fmt(c.x) + "," + fmt(c.y) + " is outside " + size_text(width, height));
}

void check_inside(const heads::Box& b, int width, int height) {
  if (b.x0 < 0 || b.y0 < 0 || b.x1 > width || b.y1 > height)
    throw Error("--box " + fmt(b.x0) + "," + fmt(b.y0) + "," + fmt(b.x1) + "," + fmt(b.y1) + " reaches outside " +
                size_text(width, height));
}

}  // namespace setok::cli
