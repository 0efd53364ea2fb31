#pragma once
// Where the scenes world's real ingredients live: Fashion-MNIST (Debian dataset-fashion-mnist) and
// photos for backgrounds (opencv-doc's examples, python3-skimage's data folder unpacked by
// packaging/install-deps.sh). SETOK_ASSETS_DIR, when set, is searched first: DIR/fashion-mnist/
// for the four IDX files, DIR/photos/ for background photos.
#include <string>
#include <vector>

namespace setok::data {

struct Photo {
  std::string path;
  std::string phrase;  // what it shows, as "a blurred photo of ___" reads: "grass", "a cat"
};

// The folder holding {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz; throws setok::Error naming
// the package to install when it is missing.
std::string fashion_mnist_dir();

// The background photos, in a fixed order (the scenes depend on it). Throws setok::Error naming
// what to install when either package's photos are missing.
const std::vector<Photo>& background_photos();

}  // namespace setok::data
