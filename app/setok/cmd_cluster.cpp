// setok cluster FEATURES.npy -o MASKS.npy: the Token Cluster on features from any encoder.
#include <ATen/ATen.h>

#include <cstdio>

#include "app/setok/cluster_flags.h"
#include "app/setok/command.h"
#include "core/io/npy.h"
#include "core/runtime/error.h"
#include "core/tokenizer/token_cleanup.h"
#include "core/tokenizer/token_cluster.h"

namespace setok::cli {

Command add_cluster(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("cluster", "Group patch features into semantic tokens (Algorithm 1); masks to .npy");
  struct Args {
    std::string in, out;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("FEATURES", a->in, "float32 .npy of [N, d] or [h, w, d] patch features")->required();
  sub->add_option("-o,--output", a->out, "Masks .npy to write: float32 [N, C]")->required();
  auto flags = add_cluster_flags(sub);
  sub->footer("Prints one JSON line: tokens, patches, mode, each token's patch count and seed.");
  return {sub,
          [a, flags, sub]() {
            tokenizer::ClusterParams p = flags->resolve(tokenizer::ClusterParams{}, *sub);
            at::Tensor x = io::load_npy(a->in);
            if (!x.is_floating_point()) throw Error(a->in + ": features must be float32 or float64");
            if (x.dim() == 3) x = x.reshape({-1, x.size(2)});
            if (x.dim() != 2)
              throw Error(a->in + ": features must be [N, d] or [h, w, d], got " + std::to_string(x.dim()) + " dims");
            if (x.size(0) < 1 || x.size(1) < 1) throw Error(a->in + ": no patches or no feature dimensions");
            if (!at::isfinite(x).all().item<bool>()) throw Error(a->in + ": features hold NaN or infinite values");
            // The module's path: place joined to the features, islands split and small tokens absorbed
            // after (all off by default).
            const at::Tensor xp = tokenizer::with_grid_position(x.unsqueeze(0), p.position_weight);
            const tokenizer::ClusterResult r = tokenizer::tidy_tokens(tokenizer::cluster_fast(xp, p), xp, p);
            const int64_t c = r.num_tokens[0].item<int64_t>();
            at::Tensor masks = r.masks[0].narrow(1, 0, c).contiguous();
            io::save_npy(a->out, masks);
            nlohmann::json j = {{"tokens", c}, {"patches", x.size(0)}, {"mode", tokenizer::to_string(p.mode)}};
            j["params"] = p;
            at::Tensor hard = at::one_hot(masks.argmax(1), c).sum(0);
            j["sizes"] = std::vector<int64_t>(hard.data_ptr<int64_t>(), hard.data_ptr<int64_t>() + c);
            at::Tensor seeds = r.seeds[0].narrow(0, 0, c).contiguous();
            j["seeds"] = std::vector<int64_t>(seeds.data_ptr<int64_t>(), seeds.data_ptr<int64_t>() + c);
            std::printf("%s\n", j.dump().c_str());
            return 0;
          },
          true};
}

}  // namespace setok::cli
