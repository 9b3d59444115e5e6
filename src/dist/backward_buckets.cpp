// Bucket readiness during backward (see the header).
#include "dist/backward_buckets.hpp"

#include <algorithm>
#include <numeric>

#include "sq/core/error.hpp"
#include "sq/nn/module.hpp"
#include "sq/nn/parameter.hpp"

namespace sq::dist {

void BackwardBuckets::begin(const nn::ParameterArena& arena) {
  if (arena_ != &arena || numel_ != arena.numel()) {  // a new layout: record its backward order once
    arena_ = &arena;
    numel_ = arena.numel();
    buckets_ = make_buckets(numel_, bucket_elements_);
    all_.resize(buckets_.size());
    std::iota(all_.begin(), all_.end(), 0);
    order_.clear();
    recording_ = true;
  }
  next_ = 0;
}

const std::vector<int>& BackwardBuckets::layer_done(const nn::Module& layer) {
  SQ_CHECK(arena_ != nullptr, "BackwardBuckets: layer_done before begin");
  if (recording_) {
    order_.push_back(&layer);
    return none_;
  }
  SQ_CHECK(next_ < order_.size() && order_[next_] == &layer,
           "data-parallel gradient buckets: the layers' backward order differs from the first step's (layer '"
               << layer.name() << "' reported as number " << next_ + 1 << "); the all-reduce schedule would be wrong");
  return schedule_.after_layer[next_++];
}

const std::vector<int>& BackwardBuckets::end() {
  SQ_CHECK(arena_ != nullptr, "BackwardBuckets: end before begin");
  if (recording_) {
    build_schedule();
    recording_ = false;
    return all_;
  }
  SQ_CHECK(next_ == order_.size(), "data-parallel gradient buckets: " << next_ << " layers reported in backward, "
                                                                      << order_.size() << " at the first step");
  return schedule_.at_end;
}

void BackwardBuckets::build_schedule() {
  std::vector<std::vector<Bucket>> layer_ranges;
  std::vector<const nn::Parameter*> owned;
  bool repeated = false;
  for (const nn::Module* m : order_) {
    repeated = repeated || std::count(order_.begin(), order_.end(), m) > 1;
    std::vector<nn::Parameter*> params;
    const_cast<nn::Module*>(m)->collect_parameters(params);
    std::vector<Bucket> ranges;
    for (const nn::Parameter* p : params) {
      const std::int64_t begin = arena_->offset_of(*p);
      ranges.push_back({begin, begin + p->grad.numel()});
      owned.push_back(p);
    }
    layer_ranges.push_back(std::move(ranges));
  }
  std::vector<Bucket> late;
  for (const nn::Parameter* p : arena_->parameters()) {
    if (std::find(owned.begin(), owned.end(), p) != owned.end()) continue;
    const std::int64_t begin = arena_->offset_of(*p);
    late.push_back({begin, begin + p->grad.numel()});
  }
  // A layer that runs backward twice per step (shared weights) would accumulate: no early launch at all.
  if (repeated) late.push_back({0, numel_});
  schedule_ = schedule_buckets(buckets_, layer_ranges, late);
}

}  // namespace sq::dist
