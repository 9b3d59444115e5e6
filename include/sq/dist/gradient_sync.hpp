// GradientSync: what the trainer calls between backward and SGD so that every rank's gradient arena becomes the
// average over ranks (sum, then scale by 1 / N). CPU ranks: a bucketed all-reduce over a Collective (MPI); GPU
// ranks: NCCL on a side stream, ordered by events (no host sync). docs/DISTRIBUTED.md.
#pragma once

#include <cstdint>
#include <memory>

#include "sq/core/device.hpp"
#include "sq/dist/collective.hpp"
#include "sq/dist/device_collective.hpp"
#include "sq/nn/context.hpp"

namespace sq::nn {
class ParameterArena;
}  // namespace sq::nn

namespace sq::dist {

// The trainer calls begin_backward, sets itself as ctx.backward_observer during backward (grads_ready: the buckets
// a layer completes start their all-reduce then), and calls reduce after backward (the remaining buckets, and on
// the GPU the join of the all-reduce stream into the step's stream).
class GradientSync : public nn::BackwardObserver {
 public:
  ~GradientSync() override = default;
  virtual void begin_backward(nn::ParameterArena& arena, nn::ExecutionContext& ctx) = 0;
  // Inside the step, after backward: grads() := the average of every rank's grads().
  virtual void reduce(nn::ParameterArena& arena, nn::ExecutionContext& ctx) = 0;
  // True when reduce() only enqueues device work that a CUDA graph may record (NCCL); false: the step runs eager.
  virtual bool capturable() const = 0;
  virtual int world_size() const = 0;
  // Called by the trainer after it has enqueued a whole step (eager or a graph replay), outside any capture: GPU
  // ranks record there the marker their watchdog waits on (a stuck peer ends the job after --dist-timeout).
  virtual void step_enqueued(nn::ExecutionContext& /*ctx*/) {}
  // GPU ranks: the all-reduce of device buffers on the step's stream over the same ranks (synchronised BN); null
  // on CPU ranks.
  virtual DeviceCollective* device_collective() { return nullptr; }
};

// Default bucket: 1 Mi floats (4 MiB) per all-reduce.
constexpr std::int64_t kDefaultBucketElements = std::int64_t{1} << 20;

// CPU arenas: all-reduce of the gradient arena in buckets over `collective` (which must outlive it).
std::unique_ptr<GradientSync> make_host_gradient_sync(Collective& collective,
                                                      std::int64_t bucket_elements = kDefaultBucketElements);

// GPU arenas: a non-blocking NCCL communicator over the ranks of `bootstrap` (rank 0's ncclUniqueId is broadcast
// over it), one GPU (`device`) per rank. A watchdog thread aborts the communicator and ends the job through
// bootstrap.abort when NCCL reports an error or, with timeout_s > 0, when enqueued work makes no progress for that long
// (docs/DISTRIBUTED.md "Stops and failures"). Throws sq::Error in builds without NCCL.
std::unique_ptr<GradientSync> make_nccl_gradient_sync(Collective& bootstrap, Device device,
                                                      std::int64_t bucket_elements = kDefaultBucketElements,
                                                      double timeout_s = 0);
bool nccl_available();

}  // namespace sq::dist
