// Row shards of a global batch, per-rank batch sizes and gradient buckets.
#include "sq/dist/sharding.hpp"

#include <algorithm>

#include "sq/core/error.hpp"

namespace sq::dist {

RowRange shard_rows(std::int64_t global_batch, int world, int rank) {
  SQ_CHECK(world >= 1 && rank >= 0 && rank < world, "shard_rows: rank " << rank << " of a world of " << world);
  SQ_CHECK(global_batch > 0 && global_batch % world == 0,
           "the global batch " << global_batch << " does not split into " << world
                               << " equal per-rank batches: pick a batch that is a multiple of the number of ranks "
                                  "(or --batch-per-rank)");
  const std::int64_t share = global_batch / world;
  return {share * rank, share * (rank + 1)};
}

std::int64_t per_rank_batch(std::int64_t batch, int world, bool batch_is_global) {
  if (!batch_is_global) return batch;
  return shard_rows(batch, world, 0).size();
}

std::vector<Bucket> make_buckets(std::int64_t numel, std::int64_t bucket_elements) {
  SQ_CHECK(numel >= 0 && bucket_elements > 0,
           "make_buckets: " << numel << " elements in buckets of " << bucket_elements);
  std::vector<Bucket> out;
  for (std::int64_t end = numel; end > 0;) {
    const std::int64_t begin = std::max<std::int64_t>(0, end - bucket_elements);
    out.push_back({begin, end});
    end = begin;
  }
  return out;
}

BucketSchedule schedule_buckets(const std::vector<Bucket>& buckets,
                                const std::vector<std::vector<Bucket>>& layer_ranges, const std::vector<Bucket>& late) {
  const int layers = static_cast<int>(layer_ranges.size());
  const auto overlaps = [](const Bucket& a, const Bucket& b) { return a.begin < b.end && b.begin < a.end; };
  BucketSchedule out;
  out.after_layer.resize(static_cast<std::size_t>(layers));
  for (int i = 0; i < static_cast<int>(buckets.size()); ++i) {
    const Bucket& b = buckets[static_cast<std::size_t>(i)];
    SQ_CHECK(b.begin <= b.end, "schedule_buckets: bucket " << i << " is [" << b.begin << ", " << b.end << ")");
    bool is_late = layers == 0;
    for (const Bucket& r : late) is_late = is_late || overlaps(b, r);
    if (is_late) {
      out.at_end.push_back(i);
      continue;
    }
    int ready = 0;  // the last layer that writes into the bucket (layer 0 when none does: final from the start)
    for (int k = 0; k < layers; ++k) {
      for (const Bucket& r : layer_ranges[static_cast<std::size_t>(k)]) {
        if (overlaps(b, r)) ready = k;
      }
    }
    out.after_layer[static_cast<std::size_t>(ready)].push_back(i);
  }
  return out;
}

int rank_cpu_threads(const CoreShare& share) {
  if (!share.on_cpu || share.world_size <= 1 || share.configured_threads != 0 || share.threads_from_environment) {
    return 0;
  }
  const int share_of_node = share.node_cores / std::max(1, share.local_ranks);
  return std::max(1, std::min(share_of_node, std::max(1, share.usable_cores)));
}

}  // namespace sq::dist
