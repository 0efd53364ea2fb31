#pragma once
// Runs a program (the real binaries, as users do) and captures exit code, stdout and stderr.
#include <sys/wait.h>

#include <cstdlib>
#include <string>

#include "tests/support/temp_dir.h"

namespace setok::test {

struct ProcessResult {
  int rc = -1;
  std::string out, err;
};

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// `command` is a shell command line; quote arguments with shell_quote. The program gets an empty
// settings folder of its own ($XDG_CONFIG_HOME): nothing a user saved, or an earlier test left,
// changes what it does, and it changes nothing of theirs.
inline ProcessResult run_command(const std::string& command, int timeout_s = 120) {
  TempDir d;
  std::filesystem::create_directory(d / "config");
  std::string full = "XDG_CONFIG_HOME=" + shell_quote(d / "config") + " timeout " + std::to_string(timeout_s) + " " +
                     command + " >" + shell_quote(d / "out") + " 2>" + shell_quote(d / "err") + " </dev/null";
  int status = std::system(full.c_str());
  ProcessResult r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_bytes(d / "out");
  r.err = read_bytes(d / "err");
  return r;
}

inline int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n + (!s.empty() && s.back() != '\n');
}

}  // namespace setok::test
