#pragma once
// The Segment tool's masks for one image: several named masks, each a 0/1 mask at the image's
// resolution with what produced it (mask_prompt.h), and the undo history of every change to them —
// a decoder result, an alternative picked, a brush or eraser stroke, a token's mask taken as the
// start, a mask added, renamed or deleted: one step each. Selection is not a step, as in editors.
// Qt-free and torch-free: the studio draws it, tests drive it directly.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "core/data/coco_rle.h"
#include "core/edit/mask_brush.h"
#include "core/edit/mask_prompt.h"

namespace setok::edit {

struct NamedMask {
  std::uint32_t id = 0;  // stable while the image is open, never reused: colours, requests in flight
  std::string name;
  std::vector<std::uint8_t> bits;  // 0/1, width × height, row-major
  MaskPrompt prompt;
  std::int64_t area() const;
};

class MaskDocument {
 public:
  // At most `history_limit` undo steps are kept (the oldest go first). The history keeps each
  // step's other side of the mask run-length encoded, so a long history of a large image is small.
  explicit MaskDocument(std::size_t history_limit = 200) : limit_(history_limit) {}

  // A new image: no masks, no history. Throws setok::Error on a negative size.
  void reset(int width, int height);
  int width() const { return width_; }
  int height() const { return height_; }
  const std::vector<NamedMask>& masks() const { return masks_; }
  int count() const { return static_cast<int>(masks_.size()); }
  const NamedMask& mask(int i) const;       // throws setok::Error when i is out of range
  int index_of(std::uint32_t id) const;     // -1 when no mask has it
  int current() const { return current_; }  // -1: none
  const NamedMask* current_mask() const { return current_ < 0 ? nullptr : &masks_[current_]; }
  void select(int i);  // -1 selects none; throws setok::Error when i is out of range
  // Grows with every change, undo, redo and selection: views redraw when it moved.
  std::uint64_t revision() const { return revision_; }

  // The edits, one undo step each (and what could be redone is gone). Indices out of range and
  // masks of the wrong size throw setok::Error and change nothing.
  int add(std::string name = {});  // an empty mask at the end, selected; unnamed: "mask N"
  // A mask that arrives with its pixels in the same step (an expression's answer), as set_mask.
  int add(std::string name, std::vector<std::uint8_t> bits, MaskPrompt prompt, std::string label);
  void rename(int i, std::string name);
  void remove(int i);
  // Mask i becomes `bits` (nonzero = inside), produced by `prompt`; `label` names the step
  // ("Click", "Pick alternative", "Start from token", …).
  void set_mask(int i, std::vector<std::uint8_t> bits, MaskPrompt prompt, std::string label);
  // A brush (or, with erase, eraser) stroke on mask i (mask_brush.h). No pixel changed: no step,
  // false. The decoder's logits no longer describe the mask: the next click starts from its pixels.
  bool stroke(int i, const std::vector<Point>& path, float radius, bool erase);

  bool can_undo() const { return done_ > 0; }
  bool can_redo() const { return done_ < steps_.size(); }
  std::string undo_label() const { return can_undo() ? steps_[done_ - 1].label : std::string(); }
  std::string redo_label() const { return can_redo() ? steps_[done_].label : std::string(); }
  bool undo();  // false when there is nothing to undo
  bool redo();

 private:
  // A mask as the history keeps it.
  struct StoredMask {
    std::uint32_t id = 0;
    std::string name;
    data::Rle bits;
    MaskPrompt prompt;
  };
  // One step, at slot `index`: whether the slot holds a mask before and after it, and the slot's
  // content on the side of the step the document is not on (swapped in and out by undo and redo).
  struct Step {
    std::string label;
    int index = 0;
    bool before = true, after = true;
    StoredMask other;
    int current_before = -1, current_after = -1;
  };
  StoredMask store(const NamedMask& m) const;
  NamedMask load(const StoredMask& s) const;
  void check_index(int i) const;
  void check_size(const std::vector<std::uint8_t>& bits) const;
  void push(Step step);
  void swap_side(Step& step, bool to_after);

  int width_ = 0, height_ = 0;
  std::vector<NamedMask> masks_;
  int current_ = -1;
  std::uint32_t next_id_ = 1;
  std::uint64_t revision_ = 0;
  std::deque<Step> steps_;
  std::size_t done_ = 0;  // steps_[0, done_) are done, the rest undone
  std::size_t limit_;
};

}  // namespace setok::edit
