// Which gradient buckets are complete as backward goes (the GPU overlap of the all-reduce with backward;
// docs/DISTRIBUTED.md "Overlap"). Host logic only, shared by the NCCL and MPI gradient syncs.
//
// The first step at an arena layout records the order in which layers report (nn::BackwardObserver) and launches
// every bucket after backward; from the next step on, layer_done() returns the buckets that layer completes
// (schedule_buckets over the recorded order and the layers' parameter ranges), so their all-reduce can start while
// the rest of backward runs. No allocation after the recording step.
#pragma once

#include <cstdint>
#include <vector>

#include "sq/dist/sharding.hpp"

namespace sq::nn {
class Module;
class ParameterArena;
}  // namespace sq::nn

namespace sq::dist {

class BackwardBuckets {
 public:
  explicit BackwardBuckets(std::int64_t bucket_elements) : bucket_elements_(bucket_elements) {}

  // Before a step's backward. A new arena (layout) starts a recording step.
  void begin(const nn::ParameterArena& arena);
  // A layer finished its backward: the buckets (indices into buckets()) to launch now; empty while recording.
  // Throws sq::Error when the backward order differs from the recorded one (the schedule would be wrong).
  const std::vector<int>& layer_done(const nn::Module& layer);
  // After backward: the buckets not launched yet (every bucket at the recording step).
  const std::vector<int>& end();

  const std::vector<Bucket>& buckets() const { return buckets_; }
  bool recording() const { return recording_; }
  const BucketSchedule& schedule() const { return schedule_; }

 private:
  void build_schedule();

  std::int64_t bucket_elements_;
  const nn::ParameterArena* arena_ = nullptr;
  std::int64_t numel_ = -1;
  std::vector<Bucket> buckets_;
  std::vector<int> all_, none_;
  std::vector<const nn::Module*> order_;  // the recorded backward order
  BucketSchedule schedule_;
  bool recording_ = false;
  std::size_t next_ = 0;  // layers reported in this step
};

}  // namespace sq::dist
