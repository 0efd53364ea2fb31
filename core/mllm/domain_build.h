#pragma once
// Builds a SeTokim's domain profile (DomainProfile) from the data it was trained on: the words of
// the questions of a LLaVA-format conversations file, and the image features of its images and of
// held-out images, which set the distance past which an image counts as unfamiliar.
#include <string>
#include <vector>

#include "core/mllm/domain_profile.h"
#include "core/mllm/setokim.h"

namespace setok::mllm {

struct DomainBuildOptions {
  std::string data;                   // a folder with annotations/llava_SPLIT.json and its images
  std::string split = "train";        // the training conversations: their questions' words and images
  std::string heldout_split = "val";  // images for the threshold; "" (or absent): the training images
  std::string check_split = "test";   // images to measure how many a familiar split gets flagged ("": none)
  int limit = 2000;                   // images of each split at most
  double quantile = 0.99;
  // Training configs whose question_rewrites taught the model other wordings: their words count too.
  std::vector<std::string> configs;
};

struct DomainBuildReport {
  DomainProfile profile;
  int questions = 0;  // training questions read
  int heldout_images = 0;
  int check_images = 0;
  double check_flagged = 0;  // share of the check split's images past the threshold: false alarms
};

DomainBuildReport build_domain_profile(Setokim& model, const DomainBuildOptions& o);

}  // namespace setok::mllm
