#include "core/tokenizer/token_cleanup.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "core/runtime/error.h"
#include "core/tokenizer/patch_grid.h"

namespace setok::tokenizer {
namespace {

// Each patch's token under hard masks, on the CPU, contiguous: [B, N].
at::Tensor hard_assignment(const ClusterResult& r) {
  return r.masks.detach().masked_fill(~r.token_valid.unsqueeze(1), -1.0).argmax(2).cpu().contiguous();
}

// x [B, N, D] with each row scaled to unit length, in double on the CPU, contiguous.
at::Tensor unit_rows(const at::Tensor& x) {
  at::Tensor unit = x.detach().to(at::kDouble).cpu();
  return (unit / unit.norm(2, -1, /*keepdim=*/true).clamp_min(1e-12)).contiguous();
}

// v[i] for a signed index.
template <class V>
auto& at_(V& v, int64_t i) {
  return v[static_cast<std::size_t>(i)];
}

// ---- split_islands ----

// A 4-connected region of one token's patches, with its densest patch.
struct Island {
  int64_t token, size, densest;
  std::vector<int64_t> patches;
};

// One image's islands: the connected regions of each token (4-neighbours) of its hard assignment
// [N] on a side × side grid, by flood fill; density [N] picks each one's densest patch.
std::vector<Island> find_islands(const at::Tensor& assign_b, const at::Tensor& density_b, int64_t side) {
  const int64_t n = assign_b.size(0);
  const auto a = assign_b.accessor<int64_t, 1>();
  const auto rho = density_b.accessor<float, 1>();
  std::vector<int64_t> region(static_cast<std::size_t>(n), -1);
  std::vector<Island> islands;
  for (int64_t p = 0; p < n; ++p) {
    if (region[static_cast<std::size_t>(p)] >= 0) continue;
    Island is{a[p], 0, p, {}};
    std::vector<int64_t> stack{p};
    region[static_cast<std::size_t>(p)] = static_cast<int64_t>(islands.size());
    while (!stack.empty()) {
      const int64_t q = stack.back();
      stack.pop_back();
      is.patches.push_back(q);
      if (rho[q] > rho[is.densest]) is.densest = q;
      for (int64_t m : neighbours4(q, side))
        if (m >= 0 && region[static_cast<std::size_t>(m)] < 0 && a[m] == is.token) {
          region[static_cast<std::size_t>(m)] = region[static_cast<std::size_t>(p)];
          stack.push_back(m);
        }
    }
    is.size = static_cast<int64_t>(is.patches.size());
    islands.push_back(std::move(is));
  }
  return islands;
}

// The islands that may become tokens: per token (of `count`), its regions largest first, every
// region after the first that is big enough; then biggest regions of the whole image first.
std::vector<const Island*> extra_islands(const std::vector<Island>& islands, int64_t count, int min_patches) {
  std::vector<const Island*> extra;
  for (int64_t t = 0; t < count; ++t) {
    std::vector<const Island*> mine;
    for (const Island& is : islands)
      if (is.token == t) mine.push_back(&is);
    std::stable_sort(mine.begin(), mine.end(), [](const Island* x, const Island* y) { return x->size > y->size; });
    for (std::size_t k = 1; k < mine.size(); ++k)
      if (mine[k]->size >= min_patches) extra.push_back(mine[k]);
  }
  std::stable_sort(extra.begin(), extra.end(), [](const Island* x, const Island* y) { return x->size > y->size; });
  return extra;
}

// One image's tokens after splitting: each patch's token, each token's seed, and the old token
// each came from.
struct SplitImage {
  std::vector<int64_t> assign, seeds, from;
};

// Image b of r split: its extra islands become tokens while there is room (max_tokens).
SplitImage split_image(const ClusterResult& r, int64_t b, const at::Tensor& assign, const at::Tensor& density,
                       int64_t side, int min_patches, int max_tokens) {
  const at::Tensor assign_b = assign[b].contiguous(), density_b = density[b].contiguous();
  const int64_t n = assign_b.size(0);
  const int64_t count = r.num_tokens[b].item<int64_t>();
  SplitImage s;
  s.assign.assign(assign_b.data_ptr<int64_t>(), assign_b.data_ptr<int64_t>() + n);
  for (int64_t t = 0; t < count; ++t) s.seeds.push_back(r.seeds[b][t].item<int64_t>()), s.from.push_back(t);
  const std::vector<Island> islands = find_islands(assign_b, density_b, side);
  for (const Island* is : extra_islands(islands, count, min_patches)) {
    if (static_cast<int64_t>(s.seeds.size()) >= max_tokens) break;
    const int64_t id = static_cast<int64_t>(s.seeds.size());
    for (int64_t q : is->patches) s.assign[static_cast<std::size_t>(q)] = id;
    s.seeds.push_back(is->densest);
    s.from.push_back(is->token);
  }
  return s;
}

// The result of r with its images split as `images` say, `widest` tokens wide.
ClusterResult split_result(const ClusterResult& r, const std::vector<SplitImage>& images, int64_t widest) {
  const int64_t B = r.masks.size(0), n = r.masks.size(1);
  ClusterResult s;
  const auto dev = r.masks.device();
  const auto lopt = at::TensorOptions().dtype(at::kLong);
  at::Tensor na = at::zeros({B, n}, lopt), seeds = at::full({B, widest}, -1, lopt), counts = at::zeros({B}, lopt);
  at::Tensor soft = at::zeros({B, n, widest}, r.soft_masks.options().device(at::kCPU));
  const at::Tensor old_soft = r.soft_masks.detach().cpu();
  for (int64_t b = 0; b < B; ++b) {
    const auto& out = images[static_cast<std::size_t>(b)].assign;
    const auto& sd = images[static_cast<std::size_t>(b)].seeds;
    const auto& from = images[static_cast<std::size_t>(b)].from;
    na[b].copy_(at::tensor(out, lopt));
    counts[b] = static_cast<int64_t>(sd.size());
    seeds[b].narrow(0, 0, static_cast<int64_t>(sd.size())).copy_(at::tensor(sd, lopt));
    const int64_t old_count = r.num_tokens[b].item<int64_t>();
    soft[b].narrow(1, 0, old_count).copy_(old_soft[b].narrow(1, 0, old_count));
    for (std::size_t t = static_cast<std::size_t>(old_count); t < sd.size(); ++t) {
      // The island's patches carry the old token's soft weight over to the new token.
      const at::Tensor mine = (na[b] == static_cast<int64_t>(t));
      const int64_t o = from[t];
      at::Tensor col = old_soft[b].select(1, o) * mine.to(old_soft.scalar_type());
      soft[b].select(1, static_cast<int64_t>(t)).copy_(col);
      soft[b].select(1, o).sub_(col);
    }
  }
  s.num_tokens = counts.to(dev);
  s.token_valid = (at::arange(widest, lopt).unsqueeze(0) < counts.unsqueeze(1)).to(dev);
  s.seeds = seeds.to(dev);
  s.soft_masks = soft.to(dev);
  s.masks = at::one_hot(na, widest).to(r.masks.scalar_type()).to(dev);
  s.density = r.density;
  s.score = r.score;
  return s;
}

// ---- absorb_small_regions ----

// One image's tokens while small regions join a neighbour: each patch's token (a), and per token
// its patch count, the sum of its patches' unit features (count × D) and its heir: who took its
// last region (itself while it has patches).
struct Absorbing {
  std::vector<int64_t> a, size, heir;
  std::vector<double> sum;
};

// Image b's tokens as clustered: assign_b [N] its hard assignment, u its unit features [N, D].
Absorbing start_absorbing(const at::Tensor& assign_b, const double* u, int64_t count, int64_t D) {
  const int64_t n = assign_b.size(0);
  Absorbing s;
  std::vector<int64_t>& a = s.a;
  a.assign(assign_b.data_ptr<int64_t>(), assign_b.data_ptr<int64_t>() + n);
  s.size.assign(static_cast<std::size_t>(count), 0);
  s.sum.assign(static_cast<std::size_t>(count * D), 0.0);  // per token, its patches' unit features
  for (int64_t p = 0; p < n; ++p) {
    ++at_(s.size, a[static_cast<std::size_t>(p)]);
    for (int64_t d = 0; d < D; ++d) at_(s.sum, a[static_cast<std::size_t>(p)] * D + d) += u[p * D + d];
  }
  s.heir.resize(static_cast<std::size_t>(count));
  for (int64_t t = 0; t < count; ++t) at_(s.heir, t) = t;
  return s;
}

// The grid's 4-connected regions of one token each under assignment a; the patches of the
// smallest below min_patches whose first patch is not stuck (ties: the one found last), else none.
std::vector<int64_t> smallest_region(const std::vector<int64_t>& a, int64_t side, int min_patches,
                                     const std::vector<bool>& stuck) {
  const auto n = static_cast<int64_t>(a.size());
  std::vector<int64_t> region(static_cast<std::size_t>(n), -1), best_patches;
  for (int64_t p = 0; p < n; ++p) {
    if (at_(region, p) >= 0) continue;
    std::vector<int64_t> patches{p}, stack{p};
    at_(region, p) = p;
    while (!stack.empty()) {
      const int64_t q = stack.back();
      stack.pop_back();
      for (int64_t m : neighbours4(q, side))
        if (m >= 0 && at_(region, m) < 0 && at_(a, m) == at_(a, p))
          at_(region, m) = p, stack.push_back(m), patches.push_back(m);
    }
    const auto sz = static_cast<int64_t>(patches.size());
    if (sz < min_patches && !stuck[static_cast<std::size_t>(p)] &&
        (best_patches.empty() || sz <= static_cast<int64_t>(best_patches.size())))
      best_patches = std::move(patches);
  }
  return best_patches;
}

// The token that a region of token `own` joins: of the tokens it touches, the one whose mean unit
// feature is most like the region's (cosine); -1 when it touches none. rs [D] gets the sum of the
// region's unit features u.
int64_t likeliest_neighbour(const Absorbing& s, const std::vector<int64_t>& patches, int64_t own, const double* u,
                            int64_t D, int64_t side, std::vector<double>& rs) {
  const auto& a = s.a;
  const auto& sum = s.sum;
  const auto count = static_cast<int64_t>(s.size.size());
  std::vector<bool> touches(static_cast<std::size_t>(count), false);
  for (int64_t q : patches) {
    for (int64_t d = 0; d < D; ++d) at_(rs, d) += u[q * D + d];
    for (int64_t m : neighbours4(q, side))
      if (m >= 0 && at_(a, m) != own) touches[static_cast<std::size_t>(at_(a, m))] = true;
  }
  double rn = 0;
  for (double v : rs) rn += v * v;
  rn = std::sqrt(rn);
  int64_t best = -1;
  double best_cos = -2;
  for (int64_t t = 0; t < count; ++t) {
    if (!touches[static_cast<std::size_t>(t)]) continue;
    double dot = 0, tn = 0;
    for (int64_t d = 0; d < D; ++d)
      dot += at_(rs, d) * at_(sum, t * D + d), tn += at_(sum, t * D + d) * at_(sum, t * D + d);
    const double c = dot / std::max(1e-12, rn * std::sqrt(tn));
    if (c > best_cos) best_cos = c, best = t;
  }
  return best;
}

// Moves one image's regions below min_patches into their likeliest neighbours, smallest first,
// until none is left or one token; whether anything moved.
bool absorb_image(Absorbing& s, const double* u, int64_t D, int64_t side, int min_patches) {
  const auto n = static_cast<int64_t>(s.a.size()), count = static_cast<int64_t>(s.size.size());
  std::vector<bool> stuck(static_cast<std::size_t>(n), false);  // by a region's first patch
  bool changed = false;
  for (;;) {
    int64_t living = 0;
    for (int64_t t = 0; t < count; ++t) living += at_(s.size, t) > 0;
    if (living < 2) break;
    const std::vector<int64_t> best_patches = smallest_region(s.a, side, min_patches, stuck);
    if (best_patches.empty()) break;
    const int64_t own = at_(s.a, best_patches[0]);
    std::vector<double> rs(static_cast<std::size_t>(D), 0.0);
    const int64_t best = likeliest_neighbour(s, best_patches, own, u, D, side, rs);
    if (best < 0) {  // no neighbour: the region is the whole grid (cannot happen with two tokens)
      stuck[static_cast<std::size_t>(best_patches[0])] = true;
      continue;
    }
    for (int64_t q : best_patches) at_(s.a, q) = best;
    for (int64_t d = 0; d < D; ++d) at_(s.sum, best * D + d) += at_(rs, d), at_(s.sum, own * D + d) -= at_(rs, d);
    const auto moved = static_cast<int64_t>(best_patches.size());
    at_(s.size, best) += moved;
    at_(s.size, own) -= moved;
    if (at_(s.size, own) == 0) at_(s.heir, own) = best;
    changed = true;
  }
  return changed;
}

// Follows each token's heir to a survivor (in place) and numbers the survivors in their order;
// re: each token's new number, -1 for a token with no patch. Returns the number of survivors.
int64_t renumber_survivors(std::vector<int64_t>& to, std::vector<int64_t>& re) {
  for (std::size_t t = 0; t < to.size(); ++t)
    while (at_(to, to[t]) != to[t]) to[t] = at_(to, to[t]);
  re.assign(to.size(), -1);
  int64_t k = 0;
  for (std::size_t t = 0; t < to.size(); ++t)
    if (to[t] == static_cast<int64_t>(t)) re[t] = k++;
  return k;
}

// The result of r after its images' regions moved as `images` say (assign: r's hard assignment).
// Survivors keep their order; a token that lost its last region hands its soft mass (on other
// patches) to whoever took that region, followed to a survivor.
ClusterResult absorbed_result(const ClusterResult& r, const at::Tensor& assign, std::vector<Absorbing>& images) {
  const int64_t B = r.masks.size(0), n = r.masks.size(1);
  const auto dev = r.masks.device();
  const auto lopt = at::TensorOptions().dtype(at::kLong);
  const at::Tensor old_soft = r.soft_masks.detach().to(at::kFloat).cpu(), old_seeds = r.seeds.cpu();
  std::vector<std::vector<int64_t>> renum(static_cast<std::size_t>(B));
  int64_t widest = 1;
  for (int64_t b = 0; b < B; ++b) widest = std::max(widest, renumber_survivors(at_(images, b).heir, at_(renum, b)));
  at::Tensor soft = at::zeros({B, n, widest}, old_soft.options());
  at::Tensor na = at::zeros({B, n}, lopt), seeds = at::full({B, widest}, -1, lopt), counts = at::zeros({B}, lopt);
  for (int64_t b = 0; b < B; ++b) {
    const auto& to = at_(images, b).heir;
    const auto& re = at_(renum, b);
    const auto& a = at_(images, b).a;
    const at::Tensor a0b = assign[b].contiguous(), os = old_soft[b].contiguous();
    at::Tensor sb = soft[b];
    const auto a0 = a0b.accessor<int64_t, 1>();
    const auto o = os.accessor<float, 2>();
    auto sm = sb.accessor<float, 2>();
    for (int64_t p = 0; p < n; ++p)
      for (std::size_t t = 0; t < to.size(); ++t) {
        // A patch that moved takes its old token's share to its new token; other shares follow
        // their token (or its heir).
        const int64_t dst = (static_cast<int64_t>(t) == a0[p]) ? at_(re, at_(a, p)) : at_(re, to[t]);
        sm[p][dst] += o[p][static_cast<int64_t>(t)];
      }
    int64_t k = 0;
    for (std::size_t t = 0; t < to.size(); ++t)
      if (re[t] >= 0) seeds[b][re[t]] = old_seeds[b][static_cast<int64_t>(t)], ++k;
    counts[b] = k;
    std::vector<int64_t> mapped(static_cast<std::size_t>(n));
    for (int64_t p = 0; p < n; ++p) at_(mapped, p) = at_(re, at_(a, p));
    na[b].copy_(at::tensor(mapped, lopt));
  }
  ClusterResult s;
  s.num_tokens = counts.to(dev);
  s.token_valid = (at::arange(widest, lopt).unsqueeze(0) < counts.unsqueeze(1)).to(dev);
  s.seeds = seeds.to(dev);
  s.soft_masks = soft.to(r.soft_masks.scalar_type()).to(dev);
  s.masks = at::one_hot(na, widest).to(r.masks.scalar_type()).to(dev);
  s.density = r.density;
  s.score = r.score;
  return s;
}

// ---- refine_edges ----

// One pass of refine_edges over one image's hard assignment a [N] (changed in place) on a
// side × side grid, with `count` tokens and unit features u [N, D]; whether any patch moved.
bool refine_pass(int64_t* a, const double* u, int64_t n, int64_t D, int64_t count, int64_t side) {
  std::vector<int64_t> size(static_cast<std::size_t>(count), 0);
  std::vector<double> sum(static_cast<std::size_t>(count * D), 0.0);
  for (int64_t p = 0; p < n; ++p) {
    ++size[static_cast<std::size_t>(a[p])];
    for (int64_t d = 0; d < D; ++d) sum[static_cast<std::size_t>(a[p] * D + d)] += u[p * D + d];
  }
  // Cosine between patch p and the mean of token t's patches, p itself left out of its own.
  const auto cosine = [&](int64_t p, int64_t t) {
    double dot = 0, nn = 0;
    for (int64_t d = 0; d < D; ++d) {
      const double m = sum[static_cast<std::size_t>(t * D + d)] - (a[p] == t ? u[p * D + d] : 0.0);
      dot += m * u[p * D + d], nn += m * m;
    }
    return nn > 0 ? dot / std::sqrt(nn) : -2.0;
  };
  // Decisions on the grouping before the pass; a token never loses its last patch.
  std::vector<int64_t> next(a, a + n), lost(static_cast<std::size_t>(count), 0);
  for (int64_t p = 0; p < n; ++p) {
    const int64_t own = a[p];
    if (size[static_cast<std::size_t>(own)] < 2) continue;
    const std::array<int64_t, 4> nb = neighbours4(p, side);
    int64_t best = own;
    double best_cos = cosine(p, own);
    for (int64_t m : nb) {
      if (m < 0 || a[m] == own || a[m] == best) continue;
      // Only a token holding two of the patch's 4-neighbours may take it: edges smooth out
      // rather than grow one-patch fingers along noisy features (photos).
      int held = 0;
      for (int64_t q : nb) held += (q >= 0 && a[q] == a[m]);
      if (held < 2) continue;
      const double c = cosine(p, a[m]);
      if (c > best_cos) best_cos = c, best = a[m];
    }
    if (best != own) next[static_cast<std::size_t>(p)] = best, ++lost[static_cast<std::size_t>(own)];
  }
  bool moved = false;
  for (int64_t p = 0; p < n; ++p) {
    const int64_t to = next[static_cast<std::size_t>(p)];
    if (to == a[p] || lost[static_cast<std::size_t>(a[p])] >= size[static_cast<std::size_t>(a[p])]) continue;
    a[p] = to;
    moved = true;
  }
  return moved;
}

}  // namespace

ClusterResult split_islands(const ClusterResult& r, int min_patches, int max_tokens) {
  if (min_patches < 1) return r;
  const int64_t B = r.masks.size(0), n = r.masks.size(1);
  const int64_t side = square_side(n, "split_islands");
  at::NoGradGuard ng;
  const at::Tensor assign = hard_assignment(r);  // [B,N]
  const at::Tensor density = r.density.detach().to(at::kFloat).cpu();
  std::vector<SplitImage> images;
  int64_t widest = 1;
  for (int64_t b = 0; b < B; ++b) {
    images.push_back(split_image(r, b, assign, density, side, min_patches, max_tokens));
    widest = std::max<int64_t>(widest, static_cast<int64_t>(images.back().seeds.size()));
  }
  if (widest == r.masks.size(2) && [&] {
        for (int64_t b = 0; b < B; ++b)
          if (static_cast<int64_t>(images[static_cast<std::size_t>(b)].seeds.size()) != r.num_tokens[b].item<int64_t>())
            return false;
        return true;
      }())
    return r;  // nothing split
  return split_result(r, images, widest);
}

ClusterResult absorb_small_regions(const ClusterResult& r, const at::Tensor& x, int min_patches) {
  if (min_patches < 2) return r;  // every region has at least one patch
  const int64_t B = r.masks.size(0), n = r.masks.size(1);
  const int64_t side = square_side(n, "min_region_patches");
  if (x.dim() != 3 || x.size(0) != B || x.size(1) != n)
    throw Error("absorb_small_regions: features must be [B, N, D] matching the masks");
  at::NoGradGuard ng;
  const at::Tensor assign = hard_assignment(r);  // [B,N]
  const at::Tensor unit = unit_rows(x);
  const int64_t D = unit.size(2);
  std::vector<Absorbing> images;
  bool changed = false;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t count = r.num_tokens[b].item<int64_t>();
    const double* u = unit[b].data_ptr<double>();
    images.push_back(start_absorbing(assign[b].contiguous(), u, count, D));
    changed = absorb_image(images.back(), u, D, side, min_patches) || changed;
  }
  if (!changed) return r;
  return absorbed_result(r, assign, images);
}

ClusterResult refine_edges(const ClusterResult& r, const at::Tensor& x, int passes) {
  if (passes < 1) return r;
  const int64_t B = r.masks.size(0), n = r.masks.size(1), width = r.masks.size(2);
  const int64_t side = square_side(n, "edge_passes");
  if (x.dim() != 3 || x.size(0) != B || x.size(1) != n)
    throw Error("refine_edges: features must be [B, N, D] matching the masks");
  at::NoGradGuard ng;
  const at::Tensor assign = hard_assignment(r);  // [B,N]
  const at::Tensor unit = unit_rows(x);
  const int64_t D = unit.size(2);
  at::Tensor current = assign.clone();
  for (int64_t b = 0; b < B; ++b) {
    const int64_t count = r.num_tokens[b].item<int64_t>();
    int64_t* a = current[b].data_ptr<int64_t>();
    const double* u = unit[b].data_ptr<double>();
    for (int pass = 0; pass < passes; ++pass)
      if (!refine_pass(a, u, n, D, count, side)) break;
  }
  const at::Tensor moved = (current != assign).nonzero();  // [M, 2]: batch, patch
  if (moved.size(0) == 0) return r;
  at::Tensor soft = r.soft_masks.detach().to(at::kFloat).cpu().clone();
  const auto mv = moved.accessor<int64_t, 2>();
  const auto from = assign.accessor<int64_t, 2>(), to = current.accessor<int64_t, 2>();
  auto sm = soft.accessor<float, 3>();
  for (int64_t k = 0; k < moved.size(0); ++k) {
    const int64_t b = mv[k][0], p = mv[k][1];
    sm[b][p][to[b][p]] += sm[b][p][from[b][p]];
    sm[b][p][from[b][p]] = 0;
  }
  const auto dev = r.masks.device();
  ClusterResult s = r;
  s.soft_masks = soft.to(r.soft_masks.scalar_type()).to(dev);
  s.masks = at::one_hot(current, width).to(r.masks.scalar_type()).to(dev);
  return s;
}

ClusterResult tidy_tokens(const ClusterResult& r, const at::Tensor& x, const ClusterParams& p) {
  if (p.mode != ClusterMode::kHard) return r;
  ClusterResult out = r;
  if (p.split_islands > 0) out = split_islands(out, p.split_islands, p.max_tokens);
  if (p.min_region_patches > 1) out = absorb_small_regions(out, x, p.min_region_patches);
  if (p.edge_passes > 0) out = refine_edges(out, x, p.edge_passes);
  return out;
}

}  // namespace setok::tokenizer
