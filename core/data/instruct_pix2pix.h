#pragma once
// InstructPix2Pix-style edit triplets: (input image, instruction, edited image), with the captions
// before and after when known. Two layouts read:
//  - JSON Lines, one triplet a line: {"input_image", "edit_prompt", "edited_image",
//    "original_prompt"?, "edited_prompt"?}, image paths relative to the file's folder's parent
//    (what `setok data scenes` writes: DIR/annotations/edits_SPLIT.jsonl, DIR/images, DIR/edits);
//  - the paper's generated folders: DIR/<name>/prompt.json {"input", "edit", "output"} with
//    <seed>_0.jpg (input) and <seed>_1.jpg (edited) beside it.
#include <string>
#include <vector>

namespace setok::data {

struct EditTriplet {
  std::string input_image, edited_image;  // full paths
  std::string instruction;
  std::string input_caption, edited_caption;  // may be empty
};

// A .jsonl file or a folder in the paper's layout. Throws setok::Error naming file and fault.
// images_root, when given, is the folder a .jsonl file's image paths are relative to.
std::vector<EditTriplet> read_edit_triplets(const std::string& path, const std::string& images_root = "");

}  // namespace setok::data
