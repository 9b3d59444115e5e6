// Gradient averaging for CPU ranks: the arena's gradients all-reduced over the collective in buckets, each as soon
// as the layers that write it have finished backward (the same schedule as the GPU's, BackwardBuckets), then
// scaled by 1 / N. Deterministic for a fixed N: MPI's reduction order depends only on the
// world, and every rank receives the same sums.
#include <vector>

#include "dist/backward_buckets.hpp"
#include "sq/core/error.hpp"
#include "sq/dist/gradient_sync.hpp"
#include "sq/dist/sharding.hpp"
#include "sq/nn/context.hpp"
#include "sq/nn/parameter.hpp"

namespace sq::dist {

namespace {
class HostGradientSync final : public GradientSync {
 public:
  HostGradientSync(Collective& collective, std::int64_t bucket_elements)
      : collective_(&collective), buckets_(bucket_elements) {}

  void begin_backward(nn::ParameterArena& arena, nn::ExecutionContext& ctx) override {
    SQ_CHECK(!ctx.on_gpu() && arena.device().is_cpu(),
             "the MPI gradient all-reduce runs on CPU ranks; GPU ranks use NCCL (make_nccl_gradient_sync)");
    buckets_.begin(arena);
    grads_ = arena.grads().data<float>();
  }
  void grads_ready(const nn::Module& layer, nn::ExecutionContext&) override { launch(buckets_.layer_done(layer)); }
  void reduce(nn::ParameterArena& arena, nn::ExecutionContext&) override {
    SQ_CHECK(grads_ == arena.grads().data<float>(), "HostGradientSync: reduce without begin_backward");
    launch(buckets_.end());
  }
  bool capturable() const override { return false; }
  int world_size() const override { return collective_->size(); }

 private:
  void launch(const std::vector<int>& which) {
    const int world = collective_->size();
    if (world == 1) return;
    const float scale = 1.f / static_cast<float>(world);
    for (const int i : which) {
      const Bucket& b = buckets_.buckets()[static_cast<std::size_t>(i)];
      collective_->all_reduce_sum(grads_ + b.begin, b.end - b.begin);
      for (std::int64_t j = b.begin; j < b.end; ++j) grads_[j] *= scale;
    }
  }

  Collective* collective_;
  BackwardBuckets buckets_;
  float* grads_ = nullptr;
};
}  // namespace

std::unique_ptr<GradientSync> make_host_gradient_sync(Collective& collective, std::int64_t bucket_elements) {
  SQ_CHECK(bucket_elements > 0, "gradient buckets must hold at least one element, got " << bucket_elements);
  return std::make_unique<HostGradientSync>(collective, bucket_elements);
}

}  // namespace sq::dist
