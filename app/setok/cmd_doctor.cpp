// setok doctor: what this installation runs on. Exits 1 when something would make it slow or
// wrong (the reference BLAS), so scripts can gate on it.
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "app/setok/command.h"
#include "core/runtime/memory.h"
#include "core/runtime/openmp_policy.h"
#include "core/runtime/system_info.h"
#include "core/runtime/threads.h"

#ifdef SETOK_HAVE_QT
#include <QtGlobal>
#endif

namespace setok::cli {

Command add_doctor(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("doctor", "Report LibTorch, Qt, OpenCV, CUDA, the loaded BLAS and threads");
  auto opts = std::make_shared<bool>(false);
  sub->add_flag("--json", g.json, "Machine-readable output");
  sub->add_flag("--no-bench", *opts, "Skip the matmul throughput probe");
  // Marked compute: it re-executes like the compute commands, so it reports the kernels they run with.
  return {sub,
          [&g, opts]() {
            BlasInfo blas = active_blas();
            CudaInfo cuda = cuda_info();
            double gflops = *opts ? 0.0 : matmul_gflops();
            double gflops_bf16 = *opts ? 0.0 : matmul_gflops(1024, true);
            const std::string bf16_unit = cpu_bf16_hardware();
            std::string qt;
#ifdef SETOK_HAVE_QT
            qt = qVersion();
#endif
            std::vector<std::string> problems;
            const std::string kernels = openblas_corename();
            const char* detected = std::getenv("SETOK_BLAS_DETECTED");
            std::string kernel_note;
            if (detected && std::getenv("OPENBLAS_CORETYPE"))
              kernel_note = std::string("OpenBLAS took this CPU for ") + detected +
                            "; setok set OPENBLAS_CORETYPE=" + std::getenv("OPENBLAS_CORETYPE");
            else if (const std::string want = wanted_blas_coretype(kernels); !want.empty())
              problems.push_back(
                  "OpenBLAS runs its SSE3 (Prescott) kernels on a CPU with better ones (about 5x slower): set "
                  "OPENBLAS_CORETYPE=" +
                  want);
            if (blas.is_reference())
              problems.push_back("the reference BLAS is active (about 50x slower): run packaging/install-deps.sh");
            nlohmann::json j = {
                {"setok", SETOK_VERSION},
                {"torch", torch_version()},
                {"qt", qt.empty() ? nlohmann::json(nullptr) : nlohmann::json(qt)},
                {"opencv", opencv_version().empty() ? nlohmann::json(nullptr) : nlohmann::json(opencv_version())},
                {"blas",
                 {{"vendor", blas.vendor},
                  {"library", blas.library},
                  {"config", blas.config},
                  {"threads", blas.threads},
                  {"kernels", kernels.empty() ? nlohmann::json(nullptr) : nlohmann::json(kernels)},
                  {"kernels_note", kernel_note.empty() ? nlohmann::json(nullptr) : nlohmann::json(kernel_note)}}},
                {"threads", {{"intra_op", intra_op_threads()}, {"cores", available_cores()}}},
                {"allocator", allocator_policy()},
                {"cuda",
                 {{"available", cuda.torch_cuda},
                  {"torch_devices", cuda.torch_devices},
                  {"kernels_compiled", cuda.kernels_compiled},
                  {"runtime", cuda.runtime},
                  {"devices", cuda.devices},
                  {"note", cuda.error}}},
                {"problems", problems},
            };
            j["cpu_bf16"] = {{"hardware", bf16_unit.empty() ? nlohmann::json(nullptr) : nlohmann::json(bf16_unit)}};
            if (!*opts) {
              j["matmul_gflops"] = gflops;
              j["cpu_bf16"]["matmul_gflops"] = gflops_bf16;
            }
            if (g.json) {
              print_json(j);
            } else {
              std::printf("setok     %s\n", SETOK_VERSION);
              std::printf("LibTorch  %s\n", torch_version().c_str());
              std::printf("Qt        %s\n", qt.empty() ? "(not built)" : qt.c_str());
              std::printf("OpenCV    %s\n", opencv_version().empty() ? "(not built)" : opencv_version().c_str());
              std::printf("BLAS      %s  %s\n", blas.vendor.c_str(), blas.library.c_str());
              if (!blas.config.empty()) std::printf("          %s (threads %d)\n", blas.config.c_str(), blas.threads);
              if (!kernels.empty())
                std::printf("kernels   %s%s%s\n", kernels.c_str(), kernel_note.empty() ? "" : "  (",
                            kernel_note.empty() ? "" : (kernel_note + ")").c_str());
              if (!*opts) std::printf("matmul    %.1f GFLOP/s (1024x1024 f32)\n", gflops);
              std::printf("bf16      %s",
                          bf16_unit.empty() ? "emulated (cpu_bf16 training would be slower)" : bf16_unit.c_str());
              if (!*opts) std::printf("  %.1f GFLOP/s (1024x1024 bf16)", gflops_bf16);
              std::printf("\n");
              std::printf("threads   %d intra-op, %d cores\n", intra_op_threads(), available_cores());
              std::printf("malloc    %s\n", allocator_policy().c_str());
              std::printf("CUDA      LibTorch: %s", cuda.torch_cuda ? "yes" : "no");
              if (cuda.torch_cuda) std::printf(" (%d devices)", cuda.torch_devices);
              std::printf("; kernels: %s",
                          cuda.kernels_compiled ? ("compiled, runtime " + cuda.runtime).c_str() : "not compiled");
              for (const auto& d : cuda.devices) std::printf("\n          %s", d.c_str());
              if (cuda.devices.empty() && !cuda.error.empty()) std::printf(" (%s)", cuda.error.c_str());
              std::printf("\n");
              for (const auto& p : problems) std::printf("PROBLEM   %s\n", p.c_str());
            }
            if (!problems.empty()) std::fprintf(stderr, "setok: %s\n", problems.front().c_str());
            return problems.empty() ? 0 : 1;
          },
          /*compute=*/true};
}

}  // namespace setok::cli
