// setok: the command-line interface. Exit codes: 0 ok, 1 runtime error, 2 usage error.
// Errors are one line on stderr starting "setok: ".
#include <c10/util/Exception.h>

#include <cstdio>
#include <iostream>

#include "app/setok/command.h"
#include "core/runtime/error.h"
#include "core/runtime/memory.h"
#include "core/runtime/openmp_policy.h"
#include "core/runtime/threads.h"

namespace {

std::string first_line(const std::string& s) {
  std::string l = s.substr(0, s.find('\n'));
  return l.empty() ? "unknown error" : l;
}

int fail(const std::string& why, int code) {
  std::fprintf(stderr, "setok: %s\n", first_line(why).c_str());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace setok::cli;
  setok::configure_allocator();
  CLI::App app{"SeTok Studio command line: semantic visual tokens, from files to models.", "setok"};
  app.set_version_flag("-V,--version", std::string("setok ") + SETOK_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 success, 1 runtime error (bad file, failed run), 2 usage error.\n"
      "Environment: SETOK_THREADS sets the intra-op threads (as --threads).");
  Globals g;
  app.add_flag("--json", g.json, "Machine-readable output (one JSON document on stdout)");
  app.add_option("--threads", g.threads, "Intra-op threads (default: $SETOK_THREADS, else all cores)")
      ->check(CLI::PositiveNumber);

  const Command commands[] = {
      add_doctor(app, g),      add_inspect(app, g),       add_cluster(app, g),      add_tokenize(app, g),
      add_detokenize(app, g),  add_generate(app, g),      add_edit(app, g),         add_data(app, g),
      add_data_pack(app, g),   add_train(app, g),         add_train_mllm(app, g),   add_train_segment(app, g),
      add_eval(app, g),        add_eval_vqa(app, g),      add_eval_caption(app, g), add_eval_pope(app, g),
      add_eval_refseg(app, g), add_eval_generate(app, g), add_eval_edit(app, g),    add_train_judge(app, g),
      add_calibrate(app, g),   add_convert(app, g),       add_chat(app, g),         add_segment(app, g),
      add_domain(app, g),      add_bench(app, g),         add_bench_llm(app, g),    add_bench_segment(app, g),
      add_launch(app, g),      add_plan(app, g)};

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fail(std::string(e.what()) + " (see setok --help)", 2);
  }

  try {
    setok::configure_threads(g.threads > 0 ? std::optional<int>(g.threads) : std::nullopt);
    for (const Command& c : commands)
      if (c.sub->parsed()) {
        if (c.compute) setok::ensure_passive_openmp(argv);
        return c.run();
      }
    return fail("no subcommand given", 2);
  } catch (const setok::Error& e) {
    return fail(e.what(), 1);
  } catch (const c10::Error& e) {
    return fail(e.what_without_backtrace(), 1);
  } catch (const std::bad_alloc&) {
    return fail("out of memory", 1);
  } catch (const std::exception& e) {
    return fail(e.what(), 1);
  }
}
