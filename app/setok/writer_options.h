#pragma once
// What the commands that write visual tokens share (generate, edit, eval generate, eval edit): the
// sampling options, and the models a judged evaluation reads.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "core/mllm/image_writer.h"

namespace setok::cli {

// --seed, --cfg, --steps, --temperature (and --max-tokens when max_tokens_help is not empty).
void add_writing_options(CLI::App* sub, mllm::ImageWriting& w, const std::string& max_tokens_help = "");

// A judged evaluation's models: the SeTokim (empty: the bundled one), the judge (empty: the bundled
// judge-small) and the bundled SeTok that finds the pictures' regions; and the data folder. Throws
// setok::Error with a one-line reason when one is missing.
void resolve_judged_models(std::string& model, std::string& judge, std::string& setok, const std::string& data);

// "\rdone/total" on stderr; always true (a progress callback that never stops the work).
bool print_progress(std::int64_t done, std::int64_t total);

}  // namespace setok::cli
