#include "core/mllm/domain_profile.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>

#include "core/io/atomic_file.h"
#include "core/io/checkpoint.h"
#include "core/runtime/error.h"

namespace setok::mllm {

namespace fs = std::filesystem;

std::vector<std::string> text_words(const std::string& text) {
  std::string t = text;
  for (std::size_t at; (at = t.find("<image>")) != std::string::npos;) t.erase(at, 7);
  std::vector<std::string> out;
  std::string w;
  auto flush = [&] {
    while (!w.empty() && w.back() == '\'') w.pop_back();
    if (!w.empty()) out.push_back(w);
    w.clear();
  };
  for (unsigned char c : t) {
    if (std::isalpha(c) || (c == '\'' && !w.empty()) || c >= 0x80) w += static_cast<char>(std::tolower(c));
    else flush();
  }
  flush();
  return out;
}

double DomainProfile::image_distance(const std::vector<float>& f) const {
  if (f.size() != mean.size() || mean.empty())
    throw Error("domain profile: a feature of " + std::to_string(f.size()) + " numbers, the profile has " +
                std::to_string(mean.size()));
  double sum = 0;
  for (std::size_t i = 0; i < f.size(); ++i) {
    const double z = (f[i] - mean[i]) / std::max(1e-6f, spread[i]);
    sum += z * z;
  }
  return std::sqrt(sum / static_cast<double>(f.size()));
}

bool DomainProfile::unfamiliar_image(const std::vector<float>& f) const {
  return knows_images() && image_distance(f) > threshold;
}

std::vector<std::string> DomainProfile::unknown_words(const std::string& question) const {
  std::vector<std::string> out;
  if (words.empty()) return out;
  for (const std::string& w : text_words(question))
    if (!words.count(w) && std::find(out.begin(), out.end(), w) == out.end()) out.push_back(w);
  return out;
}

nlohmann::json DomainProfile::to_json() const {
  return {{"format", "setok-domain-1"},
          {"source", source},
          {"image_feature", "mean and spread over patches of the SeTok vision encoder's patch features"},
          {"images", images},
          {"quantile", quantile},
          {"threshold", threshold},
          {"mean", mean},
          {"spread", spread},
          {"question_words", std::vector<std::string>(words.begin(), words.end())}};
}

DomainProfile DomainProfile::from_json(const nlohmann::json& j) {
  DomainProfile p;
  try {
    if (!j.is_object() || j.value("format", std::string()) != "setok-domain-1")
      throw Error("not a domain profile (format setok-domain-1)");
    p.source = j.value("source", std::string());
    p.images = j.value("images", 0);
    p.quantile = j.value("quantile", 0.99);
    p.threshold = j.value("threshold", 0.0);
    p.mean = j.value("mean", std::vector<float>());
    p.spread = j.value("spread", std::vector<float>());
    for (const auto& w : j.value("question_words", std::vector<std::string>())) p.words.insert(w);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("domain profile: ") + e.what());
  }
  if (p.mean.size() != p.spread.size()) throw Error("domain profile: mean and spread differ in length");
  return p;
}

std::optional<DomainProfile> DomainProfile::load(const std::string& model_dir) {
  const fs::path f = fs::path(model_dir) / "domain.json";
  if (!fs::exists(f)) return std::nullopt;
  try {
    return from_json(io::read_json_file(f.string()));
  } catch (const Error& e) {
    throw Error(f.string() + ": " + e.what());
  }
}

void DomainProfile::save(const std::string& model_dir) const {
  io::write_file_atomic((fs::path(model_dir) / "domain.json").string(), to_json().dump(1) + "\n");
}

DomainProfile DomainProfile::from_features(const std::vector<std::vector<float>>& train,
                                           const std::vector<std::vector<float>>& heldout, double quantile) {
  if (train.empty()) throw Error("domain profile: no training images");
  const std::size_t d = train[0].size();
  DomainProfile p;
  p.images = static_cast<int>(train.size());
  p.quantile = quantile;
  p.mean.assign(d, 0.0f);
  p.spread.assign(d, 0.0f);
  std::vector<double> sum(d, 0.0), sq(d, 0.0);
  for (const auto& f : train) {
    if (f.size() != d) throw Error("domain profile: features of different lengths");
    for (std::size_t i = 0; i < d; ++i) sum[i] += f[i], sq[i] += double(f[i]) * f[i];
  }
  const double n = static_cast<double>(train.size());
  for (std::size_t i = 0; i < d; ++i) {
    p.mean[i] = static_cast<float>(sum[i] / n);
    p.spread[i] = static_cast<float>(std::sqrt(std::max(0.0, sq[i] / n - (sum[i] / n) * (sum[i] / n))));
  }
  std::vector<double> dist;
  for (const auto& f : heldout.empty() ? train : heldout) dist.push_back(p.image_distance(f));
  std::sort(dist.begin(), dist.end());
  const auto k = static_cast<std::size_t>(std::ceil(quantile * static_cast<double>(dist.size()))) - 1;
  p.threshold = dist[std::min(k, dist.size() - 1)];
  return p;
}

}  // namespace setok::mllm
