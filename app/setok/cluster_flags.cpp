#include "app/setok/cluster_flags.h"

namespace setok::cli {

std::shared_ptr<ClusterFlags> add_cluster_flags(CLI::App* sub) {
  auto f = std::make_shared<ClusterFlags>();
  sub->add_option("--mode", f->mode, "Masks: hard (one-hot, the paper's best) or soft")
      ->check(CLI::IsMember({"hard", "soft"}));
  sub->add_option("--max-tokens", f->params.max_tokens, "Cap on tokens per image, final scope included")
      ->check(CLI::Range(1, 4096));
  sub->add_option("--knn", f->params.knn, "Neighbours K of the density (Eq. 1)")->check(CLI::Range(1, 4096));
  sub->add_option("--beta", f->params.beta, "Seed-score penalty (Algorithm 1, line 4)")->check(CLI::Range(0.0, 1e6));
  sub->add_option("--bandwidth", f->params.bandwidth, "Kernel bandwidth sigma of exp(-d^2/sigma); 0: 1/(cap ln 2)")
      ->check(CLI::Range(0.0, 1e6));
  sub->add_option("--stop-fraction", f->params.stop_fraction,
                  "Stop when fewer patches than this fraction are unclaimed")
      ->check(CLI::Range(0.0, 0.999));
  sub->add_option("--split-islands", f->params.split_islands,
                  "Split a token's separate regions of at least N patches into tokens of their own (0: off)")
      ->check(CLI::Range(0, 4096));
  sub->add_option("--min-region-patches", f->params.min_region_patches,
                  "Regions of a token with fewer patches join their most alike neighbouring token (0: off)")
      ->check(CLI::Range(0, 4096));
  sub->add_option(
         "--edge-passes", f->params.edge_passes,
         "Passes moving each patch on a token edge to the neighbouring token of the most alike mean feature (0: off)")
      ->check(CLI::Range(0, 64));
  sub->add_option("--position-weight", f->params.position_weight,
                  "Join each patch's grid place times this weight to its feature before clustering (0: off)")
      ->check(CLI::Range(0.0, 100.0));
  return f;
}

tokenizer::ClusterParams ClusterFlags::resolve(const tokenizer::ClusterParams& base, const CLI::App& sub) const {
  tokenizer::ClusterParams p = base;
  if (sub.count("--max-tokens")) p.max_tokens = params.max_tokens;
  if (sub.count("--knn")) p.knn = params.knn;
  if (sub.count("--beta")) p.beta = params.beta;
  if (sub.count("--bandwidth")) p.bandwidth = params.bandwidth;
  if (sub.count("--stop-fraction")) p.stop_fraction = params.stop_fraction;
  if (sub.count("--split-islands")) p.split_islands = params.split_islands;
  if (sub.count("--min-region-patches")) p.min_region_patches = params.min_region_patches;
  if (sub.count("--edge-passes")) p.edge_passes = params.edge_passes;
  if (sub.count("--position-weight")) p.position_weight = params.position_weight;
  if (sub.count("--mode")) p.mode = tokenizer::parse_cluster_mode(mode);
  p.validate();
  return p;
}

}  // namespace setok::cli
