#pragma once
// One error type for everything a user can cause (bad file, bad argument): its what() is the
// one-line reason the CLI prints after "setok: " and the studio shows in a dialog.
#include <stdexcept>
#include <string>

namespace setok {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace setok
