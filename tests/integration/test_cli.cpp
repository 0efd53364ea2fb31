// The setok binary as users and scripts meet it: help, version, exit codes, one-line errors,
// doctor and inspect.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/io/checkpoint.h"
#include "core/io/npy.h"
#include "tests/support/run_process.h"

using namespace setok::test;

namespace {
ProcessResult setok_cli(const std::string& args, const std::string& env = "") {
  return run_command("env " + env + " " + shell_quote(SETOK_CLI) + " " + args);
}

void expect_one_line_error(const ProcessResult& r, int rc) {
  EXPECT_EQ(r.rc, rc) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_EQ(r.err.rfind("setok: ", 0), 0u) << r.err;
}
}  // namespace

TEST(Cli, VersionAndHelp) {
  auto v = setok_cli("--version");
  EXPECT_EQ(v.rc, 0);
  EXPECT_NE(v.out.find("setok " SETOK_VERSION), std::string::npos) << v.out;
  auto h = setok_cli("--help");
  EXPECT_EQ(h.rc, 0);
  for (const char* sub : {"doctor", "inspect", "Exit codes"}) EXPECT_NE(h.out.find(sub), std::string::npos) << sub;
  for (const char* sub : {"doctor", "inspect"}) {
    auto s = setok_cli(std::string(sub) + " --help");
    EXPECT_EQ(s.rc, 0) << sub;
    EXPECT_NE(s.out.find("--json"), std::string::npos) << sub << ": " << s.out;
  }
}

TEST(Cli, UsageErrorsExitTwoWithOneLine) {
  expect_one_line_error(setok_cli(""), 2);
  expect_one_line_error(setok_cli("frobnicate"), 2);
  expect_one_line_error(setok_cli("doctor --no-such-flag"), 2);
  expect_one_line_error(setok_cli("inspect"), 2);
  expect_one_line_error(setok_cli("--threads 0 doctor"), 2);
}

TEST(Cli, DoctorReportsOpenBlasAndThreads) {
  auto r = setok_cli("doctor --json");
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["blas"]["vendor"], "OpenBLAS") << "the project must never run on the reference BLAS";
  EXPECT_EQ(j["threads"]["intra_op"], j["threads"]["cores"]);
  EXPECT_GE(j["threads"]["intra_op"].get<int>(), 1);
  EXPECT_GT(j["matmul_gflops"].get<double>(), 0.0);
  // The CPU's bf16 unit, as /proc/cpuinfo names it, and a bf16 matmul that ran.
  EXPECT_TRUE(j["cpu_bf16"]["hardware"].is_null() || j["cpu_bf16"]["hardware"] == "AMX" ||
              j["cpu_bf16"]["hardware"] == "AVX512-BF16")
      << j["cpu_bf16"];
  EXPECT_GT(j["cpu_bf16"]["matmul_gflops"].get<double>(), 0.0);
  EXPECT_TRUE(j["torch"].is_string());
  EXPECT_TRUE(j["cuda"].contains("available"));
  EXPECT_TRUE(j["problems"].empty());

  auto one = setok_cli("--threads 1 doctor --json --no-bench");
  ASSERT_EQ(one.rc, 0) << one.err;
  EXPECT_EQ(nlohmann::json::parse(one.out)["threads"]["intra_op"], 1);
  auto env = setok_cli("doctor --json --no-bench", "SETOK_THREADS=1");
  EXPECT_EQ(nlohmann::json::parse(env.out)["threads"]["intra_op"], 1);
  expect_one_line_error(setok_cli("doctor --no-bench", "SETOK_THREADS=lots"), 1);

  auto human = setok_cli("doctor --no-bench");
  EXPECT_EQ(human.rc, 0);
  EXPECT_NE(human.out.find("OpenBLAS"), std::string::npos) << human.out;
}

// OpenBLAS falls back to its SSE3 kernels on CPUs it does not know (core/runtime/openmp_policy.h):
// the compute commands never run on them where the CPU has AVX2 and FMA, and doctor says so when
// the re-execution that fixes it is switched off.
TEST(Cli, DoctorNeverLeavesOpenBlasOnItsFallbackKernels) {
  auto r = setok_cli("doctor --json --no-bench");
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  if (!j["blas"]["kernels"].is_string()) GTEST_SKIP() << "this OpenBLAS does not name its kernels";
  const std::string kernels = j["blas"]["kernels"];
  std::printf("OpenBLAS kernels: %s\n", kernels.c_str());
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    EXPECT_NE(kernels, "Prescott");
  }
  auto raw = setok_cli("doctor --json --no-bench", "SETOK_NO_REEXEC=1");
  auto rj = nlohmann::json::parse(raw.out);
  if (rj["blas"]["kernels"] == "Prescott" && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    EXPECT_EQ(raw.rc, 1);
    EXPECT_NE(raw.err.find("setok: OpenBLAS runs its SSE3 (Prescott) kernels"), std::string::npos) << raw.err;
    EXPECT_TRUE(j["blas"]["kernels_note"].is_string()) << "the re-executed doctor says why the kernels changed";
  } else {
    EXPECT_EQ(raw.rc, 0) << raw.err;
  }
}

// Debian's reference BLAS, put in front of the alternative that install-deps.sh chose.
TEST(Cli, DoctorFailsOnTheReferenceBlas) {
  const std::string ref = "/usr/lib/x86_64-linux-gnu/blas";
  if (!std::filesystem::exists(ref + "/libblas.so.3")) GTEST_SKIP() << "Debian's reference BLAS is not installed";
  auto r = setok_cli("doctor --json", "LD_LIBRARY_PATH=" + ref);
  EXPECT_EQ(r.rc, 1);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["blas"]["vendor"], "reference BLAS");
  EXPECT_FALSE(j["problems"].empty());
  EXPECT_NE(r.err.find("setok: the reference BLAS is active"), std::string::npos) << r.err;
}

TEST(Cli, InspectsFilesFoldersShardsAndNpy) {
  TempDir d;
  setok::io::save_safetensors(d / "w.safetensors", {{"a", at::ones({2, 3})}, {"b", at::ones({4}, at::kHalf)}});
  auto r = setok_cli("inspect --json " + shell_quote(d / "w.safetensors"));
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["kind"], "safetensors");
  ASSERT_EQ(j["tensors"].size(), 2u);
  EXPECT_EQ(j["tensors"][0]["name"], "a");
  EXPECT_EQ(j["tensors"][0]["dtype"], "F32");
  EXPECT_EQ(j["tensors"][0]["shape"], nlohmann::json({2, 3}));
  EXPECT_EQ(j["tensors"][0]["bytes"], 24);
  EXPECT_EQ(j["tensors"][1]["dtype"], "F16");
  EXPECT_EQ(j["parameters"], 10);

  setok::io::save_checkpoint(d / "model", {{"hidden_size", 8}}, {{"x", at::ones({100})}, {"y", at::ones({100})}}, 500);
  auto f = setok_cli("inspect --json " + shell_quote(d / "model"));
  ASSERT_EQ(f.rc, 0) << f.err;
  auto fj = nlohmann::json::parse(f.out);
  EXPECT_EQ(fj["config"]["hidden_size"], 8);
  EXPECT_EQ(fj["files"].size(), 2u);
  EXPECT_EQ(fj["total_bytes"], 800);
  auto idx = setok_cli("inspect " + shell_quote(d / "model/model.safetensors.index.json"));
  EXPECT_EQ(idx.rc, 0) << idx.err;
  EXPECT_NE(idx.out.find("sharded"), std::string::npos) << idx.out;

  setok::io::save_npy(d / "f.npy", at::zeros({5, 7}));
  auto n = setok_cli("inspect --json " + shell_quote(d / "f.npy"));
  ASSERT_EQ(n.rc, 0) << n.err;
  EXPECT_EQ(nlohmann::json::parse(n.out)["tensors"][0]["shape"], nlohmann::json({5, 7}));
}

TEST(Cli, InspectRefusesMalformedFilesWithOneLine) {
  TempDir d;
  write_bytes(d / "trunc.safetensors", u64le(1000) + "{\"a\":");
  write_bytes(d / "junk.safetensors", std::string(64, '\xff'));
  write_bytes(d / "bad.npy", "\x93NUMPY\x01\x00\x05\x00{'de");
  write_bytes(d / "dir.index.json", "[1, 2]");
  for (const char* f : {"trunc.safetensors", "junk.safetensors", "bad.npy", "dir.index.json", "missing.safetensors"}) {
    auto r = setok_cli("inspect " + shell_quote(d / f));
    SCOPED_TRACE(f);
    expect_one_line_error(r, 1);
    EXPECT_EQ(r.out, "");
  }
}
