#include "core/edit/mask_document.h"

#include <algorithm>

#include "core/runtime/error.h"

namespace setok::edit {

std::int64_t NamedMask::area() const {
  return static_cast<std::int64_t>(std::count_if(bits.begin(), bits.end(), [](std::uint8_t v) { return v != 0; }));
}

void MaskDocument::reset(int width, int height) {
  if (width < 0 || height < 0) throw Error("masks: negative image size");
  width_ = width;
  height_ = height;
  masks_.clear();
  current_ = -1;
  next_id_ = 1;
  steps_.clear();
  done_ = 0;
  ++revision_;
}

const NamedMask& MaskDocument::mask(int i) const {
  check_index(i);
  return masks_[i];
}

int MaskDocument::index_of(std::uint32_t id) const {
  for (int i = 0; i < count(); ++i)
    if (masks_[i].id == id) return i;
  return -1;
}

void MaskDocument::check_index(int i) const {
  if (i < 0 || i >= count())
    throw Error("masks: no mask " + std::to_string(i) + " (there are " + std::to_string(count()) + ")");
}

void MaskDocument::check_size(const std::vector<std::uint8_t>& bits) const {
  if (bits.size() != static_cast<std::size_t>(width_) * height_)
    throw Error("masks: a mask of " + std::to_string(bits.size()) + " pixels for a " + std::to_string(width_) + "x" +
                std::to_string(height_) + " image");
}

void MaskDocument::select(int i) {
  if (i != -1) check_index(i);
  if (i == current_) return;
  current_ = i;
  ++revision_;
}

int MaskDocument::add(std::string name) {
  return add(std::move(name), std::vector<std::uint8_t>(static_cast<std::size_t>(width_) * height_, 0), {}, {});
}

int MaskDocument::add(std::string name, std::vector<std::uint8_t> bits, MaskPrompt prompt, std::string label) {
  check_size(bits);
  for (auto& b : bits) b = b ? 1 : 0;
  NamedMask m;
  m.id = next_id_++;
  m.name = name.empty() ? "mask " + std::to_string(m.id) : std::move(name);
  m.bits = std::move(bits);
  m.prompt = std::move(prompt);
  Step s;
  s.label = label.empty() ? "Add " + m.name : std::move(label);
  s.index = count();
  s.before = false;
  s.current_before = current_;
  s.current_after = s.index;
  masks_.push_back(std::move(m));
  current_ = s.index;
  push(std::move(s));
  return current_;
}

void MaskDocument::rename(int i, std::string name) {
  check_index(i);
  if (name.empty()) throw Error("masks: a mask needs a name");
  if (name == masks_[i].name) return;
  Step s;
  s.label = "Rename " + masks_[i].name;
  s.index = i;
  s.other = store(masks_[i]);
  s.current_before = s.current_after = current_;
  masks_[i].name = std::move(name);
  push(std::move(s));
}

void MaskDocument::remove(int i) {
  check_index(i);
  Step s;
  s.label = "Delete " + masks_[i].name;
  s.index = i;
  s.after = false;
  s.other = store(masks_[i]);
  s.current_before = current_;
  masks_.erase(masks_.begin() + i);
  // The selection stays on its mask; a deleted selected mask passes it to the one in its place.
  if (current_ > i || current_ >= count()) --current_;
  s.current_after = current_;
  push(std::move(s));
}

void MaskDocument::set_mask(int i, std::vector<std::uint8_t> bits, MaskPrompt prompt, std::string label) {
  check_index(i);
  check_size(bits);
  for (auto& b : bits) b = b ? 1 : 0;
  Step s;
  s.label = std::move(label);
  s.index = i;
  s.other = store(masks_[i]);
  s.current_before = current_;
  s.current_after = current_ = i;
  masks_[i].bits = std::move(bits);
  masks_[i].prompt = std::move(prompt);
  push(std::move(s));
}

bool MaskDocument::stroke(int i, const std::vector<Point>& path, float radius, bool erase) {
  check_index(i);
  std::vector<std::uint8_t> bits = masks_[i].bits;
  if (paint_stroke(bits, width_, height_, path, radius, erase ? 0 : 1) == 0) return false;
  MaskPrompt prompt = masks_[i].prompt;
  prompt.low_res.clear();
  prompt.low_res_side = 0;
  set_mask(i, std::move(bits), std::move(prompt), erase ? "Eraser" : "Brush");
  return true;
}

MaskDocument::StoredMask MaskDocument::store(const NamedMask& m) const {
  return {m.id, m.name, data::rle_encode(m.bits, height_, width_), m.prompt};
}

NamedMask MaskDocument::load(const StoredMask& s) const {
  NamedMask m;
  m.id = s.id;
  m.name = s.name;
  m.bits = data::rle_decode(s.bits);
  m.prompt = s.prompt;
  return m;
}

void MaskDocument::push(Step step) {
  steps_.erase(steps_.begin() + static_cast<std::ptrdiff_t>(done_), steps_.end());
  steps_.push_back(std::move(step));
  while (steps_.size() > limit_ && !steps_.empty()) steps_.pop_front();
  done_ = steps_.size();
  ++revision_;
}

// Moves the document to the step's `after` side (redo) or its `before` side (undo), keeping what
// it leaves in the step.
void MaskDocument::swap_side(Step& step, bool to_after) {
  const bool present_now = to_after ? step.before : step.after;
  const bool present_next = to_after ? step.after : step.before;
  auto at = masks_.begin() + step.index;
  if (present_now && present_next) {
    StoredMask leaving = store(*at);
    *at = load(step.other);
    step.other = std::move(leaving);
  } else if (present_now) {
    step.other = store(*at);
    masks_.erase(at);
  } else if (present_next) {
    masks_.insert(at, load(step.other));
  }
  current_ = to_after ? step.current_after : step.current_before;
  ++revision_;
}

bool MaskDocument::undo() {
  if (!can_undo()) return false;
  swap_side(steps_[--done_], false);
  return true;
}

bool MaskDocument::redo() {
  if (!can_redo()) return false;
  swap_side(steps_[done_++], true);
  return true;
}

}  // namespace setok::edit
