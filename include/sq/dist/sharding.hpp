// Pure arithmetic of data parallelism: which rows of a global batch a rank takes, which batches of an evaluation
// pass, how the gradient arena is cut into all-reduce buckets, and CPU ranks' share of the cores. docs/DISTRIBUTED.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sq::dist {

// A rank's rows [begin, end) of a global batch of `global_batch` rows split over `world` ranks: equal shares,
// so global_batch % world must be 0 (throws sq::Error saying what to change).
struct RowRange {
  std::int64_t begin = 0, end = 0;
  std::int64_t size() const { return end - begin; }
};
RowRange shard_rows(std::int64_t global_batch, int world, int rank);

// The per-rank batch for a configured batch: `batch_is_global` (the default: the config's batch is the global
// batch, N-independent results) divides it by the world; otherwise it is per rank and the global is batch * world.
std::int64_t per_rank_batch(std::int64_t batch, int world, bool batch_is_global);

// Evaluation batches: rank r takes batches r, r + world, ... of a pass (any split gives the same sums).
inline bool owns_batch(std::int64_t batch_index, int world, int rank) {
  return batch_index % world == rank;
}

// Buckets of at most `bucket_elements` elements covering [0, numel) in reverse order (the last parameters' gradients
// are the first backward finishes), each [begin, end).
struct Bucket {
  std::int64_t begin = 0, end = 0;
};
std::vector<Bucket> make_buckets(std::int64_t numel, std::int64_t bucket_elements);

// When each bucket's gradients are final, so that its all-reduce can start during backward (GPU overlap).
// layer_ranges[k]: the arena ranges [begin, end) whose gradients the k-th layer to finish backward writes (in
// backward order); late: ranges no reporting layer writes (final only after the whole backward). Elements in no
// range are final from the start. after_layer[k] lists the buckets (indices into `buckets`, ascending) that become
// complete when layer k finishes, and not before; at_end the buckets that touch a late range (or all of them
// when there are no layers). Every bucket appears exactly once.
struct BucketSchedule {
  std::vector<std::vector<int>> after_layer;
  std::vector<int> at_end;
};
BucketSchedule schedule_buckets(const std::vector<Bucket>& buckets,
                                const std::vector<std::vector<Bucket>>& layer_ranges, const std::vector<Bucket>& late);

// CPU ranks' threads (docs/DISTRIBUTED.md "Cores"). A rank training on the CPU in a world of more than one rank,
// when the user chose no count (no --threads, OMP_NUM_THREADS or SQ_CPU_THREADS), takes its share of the node:
// max(1, node_cores / local_ranks), and no more than the cores it may run on (mpirun's binding may have cut those).
// Returns that count, or 0 to keep the configured one (every other case).
struct CoreShare {
  bool on_cpu = true;
  int world_size = 1;
  int local_ranks = 1;                    // ranks on this node (LaunchInfo::local_size)
  std::int64_t configured_threads = 0;    // --threads (run.threads); 0: not given
  bool threads_from_environment = false;  // OMP_NUM_THREADS or SQ_CPU_THREADS is set
  int node_cores = 1;                     // the machine's hardware threads
  int usable_cores = 1;                   // those this process may run on (its affinity)
};
int rank_cpu_threads(const CoreShare& share);

}  // namespace sq::dist
