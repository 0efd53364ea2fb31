// setok chat [-m MODEL] [--image IMG …] [--mask OUT.png] ["question"]
// With a question: one streamed answer. Without: an interactive session (history, /image PATH,
// /reset, /save FILE, /quit). An answer that is [SEG] stands for a mask (the model's mask decoder
// draws the question over the last image): --mask writes it (interactive: OUT-N.png for answer N).
#include <c10/core/InferenceMode.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "app/setok/command.h"
#include "core/heads/chat_mask.h"
#include "core/heads/segmenter.h"
#include "core/io/atomic_file.h"
#include "core/io/image.h"
#include "core/mllm/chat_session.h"
#include "core/runtime/error.h"
#include "core/tokenizer/setok_model.h"

namespace fs = std::filesystem;

namespace setok::cli {
namespace {

// --mask's file for answer `n` (0: the one answer).
std::string mask_path(const std::string& mask, int n) {
  if (mask.empty() || n == 0) return mask;
  const fs::path p(mask);
  return (p.parent_path() / (p.stem().string() + "-" + std::to_string(n) + p.extension().string())).string();
}

// A [SEG] answer's mask: written where --mask says, and described on stderr.
void report_mask(const mllm::ChatMask& m, const std::string& path) {
  if (!m.error.empty()) {
    std::fprintf(stderr, "note: no mask for [SEG]: %s\n", m.error.c_str());
    return;
  }
  std::int64_t area = 0;
  for (auto v : m.mask) area += v;
  std::fprintf(stderr, "(mask over image %d: %lld pixels, predicted IoU %.2f", m.image + 1,
               static_cast<long long>(area), m.predicted_iou);
  if (!path.empty()) heads::save_mask_png(path, m.width, m.height, m.mask);
  std::fprintf(stderr, "%s%s)\n", path.empty() ? "; --mask OUT.png writes it" : " -> ", path.c_str());
}

}  // namespace

Command add_chat(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("chat", "Talk about images with SeTokim (one question, or interactive without one)");
  struct Args {
    std::string model, question, mask;
    std::vector<std::string> images;
    double temperature = 0.0, top_p = 1.0;
    int max_tokens = 128;
    std::uint64_t seed = 0;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("-m,--model", a->model, "SeTokim model folder (default: the bundled one)");
  sub->add_option("--image", a->images, "An image (repeat for several)")
      ->check(CLI::ExistingFile)
      ->allow_extra_args(false);
  sub->add_option("question", a->question, "The question; none: interactive session");
  sub->add_option("--mask", a->mask, "Where a [SEG] answer's mask goes (PNG, 0/255; interactive: OUT-N.png)");
  sub->add_option("--temperature", a->temperature, "0 = greedy")->check(CLI::Range(0.0, 10.0));
  sub->add_option("--top-p", a->top_p, "Nucleus sampling mass")->check(CLI::Range(0.0, 1.0));
  sub->add_option("--max-tokens", a->max_tokens, "Tokens per answer")->check(CLI::Range(1, 4096));
  sub->add_option("--seed", a->seed, "Sampling seed");
  return {sub,
          [a]() {
            const std::string dir = a->model.empty() ? tokenizer::default_setokim_model() : a->model;
            if (dir.empty())
              throw Error("no SeTokim model given and none bundled (use -m MODEL; train one with `setok train mllm`)");
            auto model = mllm::LoadedSetokim::load(dir);
            mllm::ChatSession s(model);
            s.set_segmenter(heads::chat_segmenter(model));
            int answers = 0;
            mllm::ChatSampling sampling;
            sampling.temperature = a->temperature;
            sampling.top_p = a->top_p;
            sampling.max_tokens = a->max_tokens;
            sampling.seed = a->seed;
            const std::string name = fs::path(dir).filename().string();
            // Notes on stderr, as the Chat panel shows them: the answer may be wrong, and why.
            auto add_image = [&s, &name](const std::string& path) {
              const int i = s.add_image(io::load_image(path), path);
              if (s.images()[static_cast<std::size_t>(i)].unfamiliar)
                std::fprintf(stderr, "note: %s is unlike the images %s was trained on: its answers may be wrong\n",
                             path.c_str(), name.c_str());
              return i;
            };
            auto ask = [&](const std::string& q) {
              if (s.domain()) {
                std::string words;
                for (const std::string& w : s.domain()->unknown_words(q))
                  words += (words.empty() ? "\"" : ", \"") + w + "\"";
                if (!words.empty())
                  std::fprintf(stderr,
                               "note: %s never saw %s in a training question: it may not understand the question\n",
                               name.c_str(), words.c_str());
              }
              bool first = true;
              s.ask(q, sampling, [&first](const std::string& piece) {
                std::string p = piece;
                if (first) p.erase(0, p.find_first_not_of(" \n"));  // the answer's leading space, as the turn keeps it
                if (p.empty()) return true;
                first = false;
                std::fputs(p.c_str(), stdout);
                std::fflush(stdout);
                return true;
              });
              std::fputs("\n", stdout);
              std::fflush(stdout);  // the answer's line before any note on stderr
              ++answers;
              const auto& mask = s.turns().back().mask;
              if (mask) report_mask(*mask, mask_path(a->mask, a->question.empty() ? answers : 0));
            };
            for (const auto& p : a->images) add_image(p);
            if (!a->question.empty()) {
              ask(a->question);
              return 0;
            }
            std::fprintf(stderr, "setok chat: %s. Commands: /image PATH, /reset, /save FILE, /quit\n", dir.c_str());
            std::string line;
            while (std::fputs("> ", stderr), std::getline(std::cin, line)) {
              if (line.empty()) continue;
              try {
                if (line == "/quit" || line == "/exit") break;
                if (line == "/reset") {
                  s.reset();
                  std::fprintf(stderr, "(conversation cleared)\n");
                } else if (line.rfind("/image ", 0) == 0) {
                  const int i = add_image(line.substr(7));
                  std::fprintf(stderr, "(image %d: %d visual tokens)\n", i + 1,
                               s.images()[static_cast<std::size_t>(i)].tokens);
                } else if (line.rfind("/save ", 0) == 0) {
                  io::write_file_atomic(line.substr(6), s.to_json().dump(2) + "\n");
                  std::fprintf(stderr, "(saved %s)\n", line.substr(6).c_str());
                } else if (line[0] == '/') {
                  std::fprintf(stderr, "unknown command %s (/image PATH, /reset, /save FILE, /quit)\n", line.c_str());
                } else {
                  ask(line);
                }
              } catch (const Error& e) {
                std::fprintf(stderr, "setok: %s\n", e.what());
              }
            }
            return 0;
          },
          true};
}

}  // namespace setok::cli
