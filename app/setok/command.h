#pragma once
// What every `setok` subcommand shares: the parsed global options and a way to print results.
#include <CLI/CLI.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace setok::cli {

struct Globals {
  bool json = false;
  int threads = 0;  // 0: $SETOK_THREADS or all cores
};

// A subcommand adds itself to `app` and returns the function that runs it (exit code).
using Runner = std::function<int()>;
struct Command {
  CLI::App* sub;
  Runner run;
  bool compute = false;  // re-executes with the CPU libraries' load-time settings (core/runtime/openmp_policy.h)
};

Command add_doctor(CLI::App& app, Globals& g);
Command add_inspect(CLI::App& app, Globals& g);
Command add_cluster(CLI::App& app, Globals& g);
Command add_bench(CLI::App& app, Globals& g);
Command add_tokenize(CLI::App& app, Globals& g);
Command add_detokenize(CLI::App& app, Globals& g);
Command add_generate(CLI::App& app, Globals& g);
Command add_edit(CLI::App& app, Globals& g);
Command add_launch(CLI::App& app, Globals& g);
Command add_plan(CLI::App& app, Globals& g);
Command add_train(CLI::App& app, Globals& g);
Command add_train_mllm(CLI::App& app, Globals& g);     // after add_train
Command add_train_segment(CLI::App& app, Globals& g);  // after add_train
Command add_eval(CLI::App& app, Globals& g);
Command add_calibrate(CLI::App& app, Globals& g);
// SeTokim evaluations, under `eval` (after add_eval).
Command add_eval_vqa(CLI::App& app, Globals& g);
Command add_eval_caption(CLI::App& app, Globals& g);
Command add_eval_pope(CLI::App& app, Globals& g);
// Referring segmentation and clicks, under `eval` (after add_eval).
Command add_eval_refseg(CLI::App& app, Globals& g);
// Generation (GenEval-style) under `eval`, and the judge it uses under `train`.
Command add_eval_generate(CLI::App& app, Globals& g);
Command add_eval_edit(CLI::App& app, Globals& g);
Command add_train_judge(CLI::App& app, Globals& g);
Command add_convert(CLI::App& app, Globals& g);
Command add_chat(CLI::App& app, Globals& g);
Command add_segment(CLI::App& app, Globals& g);
Command add_domain(CLI::App& app, Globals& g);
Command add_bench_llm(CLI::App& app, Globals& g);      // after add_bench
Command add_bench_segment(CLI::App& app, Globals& g);  // after add_bench
Command add_data(CLI::App& app, Globals& g);
Command add_data_pack(CLI::App& app, Globals& g);  // after add_data

// Prints `j` as one JSON document on stdout.
void print_json(const nlohmann::json& j);
std::string human_bytes(std::uint64_t n);

}  // namespace setok::cli
