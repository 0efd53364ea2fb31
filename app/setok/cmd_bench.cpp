// setok bench cluster: milliseconds per image of the Token Cluster (fused kernels), its LibTorch
// reference, the eager DPC-KNN baseline and the Gram matrix alone, median after warm-up.
#include <ATen/ATen.h>
#include <torch/cuda.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>

#include "app/setok/bench_timing.h"
#include "app/setok/cluster_flags.h"
#include "app/setok/command.h"
#include "core/runtime/error.h"
#include "core/runtime/system_info.h"
#include "core/tokenizer/density_peaks.h"
#include "core/tokenizer/dpc_knn.h"
#include "core/tokenizer/token_cluster.h"

namespace setok::cli {
Command add_bench(CLI::App& app, Globals& g) {
  auto* bench = app.add_subcommand("bench", "Benchmarks that print figures (see docs/benchmarks.md)");
  bench->require_subcommand(1);
  auto* sub = bench->add_subcommand("cluster", "Token Cluster speed against eager DPC-KNN, per image");
  struct Args {
    int n = 729, dim = 1152, batch = 1, repeats = 20, warmup = 3, objects = 24;
    std::string device = "cpu";
  };
  auto a = std::make_shared<Args>();
  sub->add_option("--n", a->n, "Patches per image (729 = SigLIP-SO400M at 384 px)")->check(CLI::Range(2, 100000));
  sub->add_option("--dim", a->dim, "Feature width (1152 = SigLIP-SO400M)")->check(CLI::Range(1, 100000));
  sub->add_option("--batch", a->batch, "Images per call")->check(CLI::Range(1, 4096));
  sub->add_option("--device", a->device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  sub->add_option("--repeats", a->repeats, "Timed runs (the median is reported)")->check(CLI::Range(1, 100000));
  sub->add_option("--warmup", a->warmup, "Untimed runs first")->check(CLI::Range(0, 1000));
  sub->add_option("--objects", a->objects, "Feature clusters in the synthetic input")->check(CLI::Range(1, 10000));
  sub->add_flag("--json", g.json, "Machine-readable output");
  auto flags = add_cluster_flags(sub);
  return {sub,
          [&g, a, flags, sub]() {
            tokenizer::ClusterParams base;
            base.max_tokens = 32;
            tokenizer::ClusterParams p = flags->resolve(base, *sub);
            const bool cuda = a->device == "cuda";
            if (cuda && !torch::cuda::is_available())
              throw Error("--device cuda: no CUDA device is available to LibTorch");
            at::manual_seed(0);
            // Synthetic features with object structure: `objects` directions plus noise, as an encoder gives.
            at::Tensor centers = at::randn({a->batch, a->objects, a->dim});
            at::Tensor which = at::randint(0, a->objects, {a->batch, a->n}, at::kLong);
            at::Tensor x = at::gather(centers, 1, which.unsqueeze(2).expand({a->batch, a->n, a->dim})) +
                           0.3 * at::randn({a->batch, a->n, a->dim});
            if (cuda) x = x.to(at::kCUDA);
            at::NoGradGuard no_grad;
            int64_t tokens = 0;
            double fused = median_ms([&] { tokens = tokenizer::cluster_fast(x, p).num_tokens.sum().item<int64_t>(); },
                                     a->warmup, a->repeats, cuda);
            double reference = median_ms([&] { tokenizer::cluster_reference(x, p); }, a->warmup, a->repeats, cuda);
            double dpc = median_ms([&] { tokenizer::dpc_knn(x, p.max_tokens, p.knn); }, a->warmup, a->repeats, cuda);
            double gram = median_ms(
                [&] {
                  at::Tensor xn = tokenizer::normalize_features(x);
                  at::bmm(xn, xn.transpose(1, 2));
                },
                a->warmup, a->repeats, cuda);
            const double b = a->batch;
            nlohmann::json j = {{"device", a->device},
                                {"n", a->n},
                                {"dim", a->dim},
                                {"batch", a->batch},
                                {"threads", intra_op_threads()},
                                {"ms_per_image", fused / b},
                                {"reference_ms_per_image", reference / b},
                                {"dpc_knn_ms_per_image", dpc / b},
                                {"gram_ms_per_image", gram / b},
                                {"speedup_vs_dpc_knn", dpc / fused},
                                {"tokens_per_image", tokens / b}};
            if (g.json) {
              std::printf("%s\n", j.dump().c_str());
            } else {
              std::printf("Token Cluster, N=%d d=%d batch=%d on %s (%d threads), median of %d:\n", a->n, a->dim,
                          a->batch, a->device.c_str(), intra_op_threads(), a->repeats);
              std::printf("  fused kernels      %8.3f ms/image  (%.1f tokens/image)\n", fused / b, tokens / b);
              std::printf("  LibTorch reference %8.3f ms/image\n", reference / b);
              std::printf("  eager DPC-KNN      %8.3f ms/image  (%.2fx slower than fused)\n", dpc / b, dpc / fused);
              std::printf("  Gram matrix alone  %8.3f ms/image\n", gram / b);
            }
            return 0;
          },
          true};
}

}  // namespace setok::cli
