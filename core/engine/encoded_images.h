#pragma once
// The last few images the segmenter encoded, by the caller's key: a click, a box or a hover preview
// on an image opened a moment ago runs only the mask decoder. Internal to core/engine; worker only.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>

#include "core/heads/segmenter.h"

namespace setok::engine {

class EncodedImages {
 public:
  struct Entry {
    std::uint64_t key = 0;
    int width = 0, height = 0;
    std::shared_ptr<const heads::EncodedImage> image;
  };

  explicit EncodedImages(std::size_t keep = 4) : keep_(keep) {}

  // The entry for `key` (0 never matches), now the most recent one.
  std::optional<Entry> find(std::uint64_t key) {
    if (key == 0) return std::nullopt;
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
      if (it->key == key) {
        Entry e = *it;
        entries_.erase(it);
        entries_.push_front(e);
        return e;
      }
    return std::nullopt;
  }

  // Keeps `e` as the most recent entry, forgetting the oldest beyond `keep`; key 0 is not kept.
  void put(Entry e) {
    if (e.key == 0) return;
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
      if (it->key == e.key) {
        entries_.erase(it);
        break;
      }
    entries_.push_front(std::move(e));
    while (entries_.size() > keep_) entries_.pop_back();
  }

  void clear() { entries_.clear(); }

 private:
  std::size_t keep_;
  std::deque<Entry> entries_;  // most recent first
};

}  // namespace setok::engine
