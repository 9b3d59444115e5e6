// The canonical summation order of every SQ sum, so the CUDA kernels and the host twins add the same numbers
// in the same order and get the same double to the bit: 256 lanes, lane l adds x_l, x_{l+256}, ... in order,
// then lanes fold pairwise (l += l + 128, then + 64, ... + 1). A 256-thread block does exactly this.
#pragma once

#include <cstdint>

namespace sq::detail {

constexpr int kSqLanes = 256;

// Host form of the canonical sum of get(0) .. get(n - 1).
template <class Get>
double canonical_sum(std::int64_t n, Get get) {
  double lanes[kSqLanes];
  for (int l = 0; l < kSqLanes; ++l) lanes[l] = 0.0;
  for (std::int64_t j = 0; j < n; ++j) lanes[j % kSqLanes] += get(j);
  for (int stride = kSqLanes / 2; stride > 0; stride /= 2) {
    for (int l = 0; l < stride; ++l) lanes[l] += lanes[l + stride];
  }
  return lanes[0];
}

}  // namespace sq::detail

namespace sq::detail {

// Host accumulator for the canonical order when data is visited in chunks of 256 (element base + l goes to lane
// l): the inner loop over l vectorises. For n < 256 elements only the first n lanes are live; fold() skips the
// additions of never-touched lanes (+0, which leave every sum unchanged), so short rows cost O(n), not O(256).
struct CanonicalLanes {
  double lane[kSqLanes];
  int active;

  explicit CanonicalLanes(std::int64_t n) : active(n < kSqLanes ? static_cast<int>(n) : kSqLanes) {
    for (int l = 0; l < active; ++l) lane[l] = 0.0;
  }

  // Same pairwise tree as canonical_sum (lanes hold sums started at +0, so never -0).
  double fold() {
    if (active == 0) return 0.0;
    int live = active;  // live <= 2 * stride at every level, so lanes l < live - stride have a live partner
    for (int stride = kSqLanes / 2; stride > 0; stride /= 2) {
      const int pairs = live - stride;  // a simple trip count: the level's adds vectorise
      for (int l = 0; l < pairs; ++l) lane[l] += lane[l + stride];
      live = live < stride ? live : stride;
    }
    return lane[0];
  }
};

}  // namespace sq::detail
