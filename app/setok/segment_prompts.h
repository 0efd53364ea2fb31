#pragma once
// `setok segment`'s clicks and box as typed: "X,Y[,neg]" and "X0,Y0,X1,Y1" in the image's pixel
// coordinates, parsed before anything is loaded and checked against the image once it is read.
#include <string>

#include "core/heads/segmenter.h"

namespace setok::cli {

// "X,Y", "X,Y,pos" or "X,Y,neg" ("+" and "-" too). Throws setok::Error naming the text.
heads::Click parse_click(const std::string& text);
// "X0,Y0,X1,Y1" with X0 < X1 and Y0 < Y1. Throws setok::Error naming the text.
heads::Box parse_box(const std::string& text);

// Throws setok::Error when the click or box reaches outside a width × height image, naming it and
// the image's size.
void check_inside(const heads::Click& c, int width, int height);
void check_inside(const heads::Box& b, int width, int height);

}  // namespace setok::cli
