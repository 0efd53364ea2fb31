#include "app/setok/ref_jobs.h"

#include <filesystem>
#include <map>

#include "core/data/refcoco.h"
#include "core/runtime/error.h"

namespace fs = std::filesystem;

namespace setok::cli {
namespace {

struct Planned {
  std::string file_name;
  RefSentenceJob job;
};

bool all_digits(const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos; }

// DIR/file_name, then, for refer's "<COCO name>_<n>.jpg", DIR/<COCO name>.jpg. Ours
// ("images/test_0000000.png") has no such suffix: the part before its last '_' must itself end in
// '_' and digits, as COCO's "COCO_train2014_000000581857" does.
std::vector<fs::path> image_candidates(const fs::path& dir, const std::string& file_name) {
  std::vector<fs::path> out{dir / file_name};
  const fs::path name(file_name);
  const std::string stem = name.stem().string();
  const auto cut = stem.rfind('_');
  if (cut == std::string::npos || !all_digits(stem.substr(cut + 1))) return out;
  const std::string coco = stem.substr(0, cut);
  const auto id = coco.rfind('_');
  if (id != std::string::npos && all_digits(coco.substr(id + 1)))
    out.push_back(dir / name.parent_path() / (coco + name.extension().string()));
  return out;
}

std::string joined(const std::vector<fs::path>& paths) {
  std::string s;
  for (const fs::path& p : paths) s += (s.empty() ? "" : " or ") + p.string();
  return s;
}

std::vector<Planned> sentences_of(const std::string& refs_path, long long limit) {
  const std::vector<data::Ref> refs = data::read_refs(refs_path);
  std::vector<Planned> out;
  std::map<std::int64_t, std::int64_t> ref_of;  // sent_id → the ref it was first seen in
  for (const data::Ref& r : refs) {
    if (r.file_name.empty())
      throw Error(refs_path + ": ref " + std::to_string(r.ref_id) + " has no file_name (the image it is about)");
    for (const data::RefSentence& s : r.sentences) {
      if (limit > 0 && static_cast<long long>(out.size()) == limit) return out;
      const auto seen = ref_of.emplace(s.sent_id, r.ref_id);
      if (!seen.second)
        throw Error(refs_path + ": sent_id " + std::to_string(s.sent_id) + " appears twice (refs " +
                    std::to_string(seen.first->second) + " and " + std::to_string(r.ref_id) +
                    "; a sentence without a sent_id counts as 0), and the masks are named by it");
      out.push_back({r.file_name, {s.sent_id, r.ref_id, s.sent}});
    }
  }
  if (out.empty()) throw Error(refs_path + ": no refs in it");
  return out;
}

}  // namespace

std::vector<RefImageJobs> plan_ref_jobs(const std::string& refs_path, const std::string& images_dir, long long limit) {
  std::error_code ec;
  if (!fs::is_directory(images_dir, ec)) throw Error("--images " + images_dir + ": no such folder");
  std::vector<RefImageJobs> groups;
  std::map<std::string, std::size_t> group_of_path;
  std::map<std::string, std::string> path_of_name;  // file_name → the image found ("" when none)
  std::size_t missing = 0;
  std::string first_missing;
  for (Planned& p : sentences_of(refs_path, limit)) {
    auto named = path_of_name.find(p.file_name);
    if (named == path_of_name.end()) {
      std::string found;
      const std::vector<fs::path> tried = image_candidates(images_dir, p.file_name);
      for (const fs::path& c : tried)
        if (found.empty() && fs::is_regular_file(c, ec)) found = c.string();
      if (found.empty() && missing++ == 0)
        first_missing = "for ref " + std::to_string(p.job.ref_id) + ", looked for as " + joined(tried);
      named = path_of_name.emplace(p.file_name, found).first;
    }
    if (named->second.empty()) continue;
    // Grouped by the file, not the name: refer names one COCO image differently in each ref.
    const auto g = group_of_path.emplace(named->second, groups.size());
    if (g.second) groups.push_back({named->second, {}});
    groups[g.first->second].sentences.push_back(std::move(p.job));
  }
  if (missing > 0)
    throw Error(refs_path + ": " + std::to_string(missing) +
                (missing == 1 ? " image it names is" : " images it names are") + " not in " + images_dir +
                " (the first " + first_missing + ")");
  return groups;
}

}  // namespace setok::cli
