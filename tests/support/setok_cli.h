#pragma once
// The setok command line in integration tests (SETOK_CLI, its path, is defined for them), and the
// answer to a bad input: one line on stderr, "setok: ...", exit 1.
#include <gtest/gtest.h>

#include <string>

#include "tests/support/run_process.h"

namespace setok::test {

inline ProcessResult setok_cli(const std::string& args) { return run_command(shell_quote(SETOK_CLI) + " " + args); }

inline void expect_one_line_error(const ProcessResult& r) {
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_EQ(r.err.rfind("setok: ", 0), 0u) << r.err;
}

}  // namespace setok::test
