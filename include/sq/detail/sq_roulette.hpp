// Roulette-wheel sampling without replacement (the paper's Algorithm 1) over a sum tree, shared by the host twin
// and the CUDA kernel (one thread per layer there): the same tree, the same doubles, the same choices.
#pragma once

#include <cstdint>

#include "sq/detail/host_device.hpp"
#include "sq/detail/sq_math.hpp"

namespace sq::detail {

// tree: 2 * leaves doubles, leaves at [leaves, leaves + units), node i = tree[2i] + tree[2i + 1] (built by the
// caller, level by level). Sets leaf `leaf` to zero and refreshes its ancestors.
SQ_HOST_DEVICE inline void tree_remove(double* tree, std::int64_t leaves, std::int64_t leaf) {
  std::int64_t node = leaves + leaf;
  tree[node] = 0.0;
  for (node /= 2; node >= 1; node /= 2) tree[node] = tree[2 * node] + tree[2 * node + 1];
}

// Draws `count` units without replacement, each with probability proportional to its leaf among the remaining
// ones, and writes `chosen_value` into mask[unit] for each (the mask holds !chosen_value elsewhere on entry).
// Draw t uses uniform v_t = philox(seed, subsequence, t) in (0, 1]: the first remaining unit whose running sum
// reaches v_t * (remaining total), found by descending the tree. Guards (SQ_SPEC section 5): a descent that ends
// on a zero leaf (rounding) takes the last remaining unit with weight > 0; with no weight left, the lowest-index
// remaining unit.
SQ_HOST_DEVICE inline void roulette_select(double* tree, std::int64_t leaves, std::int64_t units, std::int64_t count,
                                           std::uint64_t seed, std::uint64_t subsequence, std::uint8_t* mask,
                                           std::uint8_t chosen_value) {
  std::int64_t cursor = 0;  // lowest unit that may still be unchosen
  for (std::int64_t t = 0; t < count; ++t) {
    const double v = static_cast<double>(sq_uniform(seed, subsequence, static_cast<std::uint64_t>(t)));
    std::int64_t leaf = -1;
    if (tree[1] > 0.0) {
      double target = v * tree[1];
      std::int64_t node = 1;
      while (node < leaves) {
        const double left = tree[2 * node];
        if (target <= left) {
          node = 2 * node;
        } else {
          target -= left;
          node = 2 * node + 1;
        }
      }
      if (tree[node] > 0.0) {
        leaf = node - leaves;
      } else {
        node = 1;
        while (node < leaves) node = tree[2 * node + 1] > 0.0 ? 2 * node + 1 : 2 * node;
        leaf = node - leaves;
      }
    } else {
      while (cursor < units && mask[cursor] == chosen_value) ++cursor;
      leaf = cursor;
    }
    if (leaf < 0 || leaf >= units) break;  // unreachable with count <= units; keeps a bad input from writing out
    mask[leaf] = chosen_value;
    tree_remove(tree, leaves, leaf);
  }
}

}  // namespace sq::detail
