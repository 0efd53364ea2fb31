#pragma once
// A RefCOCO-format refs file as work for `setok segment --refs`: its sentences grouped by the image
// they are about (so that each image is encoded once), every image found on disk first.
#include <cstdint>
#include <string>
#include <vector>

namespace setok::cli {

struct RefSentenceJob {
  std::int64_t sent_id = 0, ref_id = 0;
  std::string sentence;
};

struct RefImageJobs {
  std::string path;  // the image file
  std::vector<RefSentenceJob> sentences;
};

// Reads `refs_path` (data::read_refs) and finds each ref's image in `images_dir`: DIR/file_name, or
// for the real RefCOCO refs, whose file_name carries a suffix the COCO image's name has not
// ("COCO_train2014_000000581857_16.jpg"), DIR/COCO_train2014_000000581857.jpg. `limit` > 0 keeps
// that many sentences, in the file's order. Throws setok::Error naming the file for a refs file
// that is not RefCOCO-shaped or has no sentences, a sent_id used twice (the masks are named by
// it), and images that are not there (how many, and where the first was looked for).
std::vector<RefImageJobs> plan_ref_jobs(const std::string& refs_path, const std::string& images_dir, long long limit);

}  // namespace setok::cli
