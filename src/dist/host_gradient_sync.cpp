// Gradient averaging for CPU ranks: the arena's gradients all-reduced over the collective in buckets (last
// parameters first), then scaled by 1 / N. Deterministic for a fixed N: MPI's reduction order depends only on the
// world, and every rank receives the same sums.
#include <vector>

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
      : collective_(&collective), bucket_elements_(bucket_elements) {}

  void reduce(nn::ParameterArena& arena, nn::ExecutionContext& ctx) override {
    SQ_CHECK(!ctx.on_gpu() && arena.device().is_cpu(),
             "the MPI gradient all-reduce runs on CPU ranks; GPU ranks use NCCL (make_nccl_gradient_sync)");
    const int world = collective_->size();
    if (world == 1) return;
    if (static_cast<std::int64_t>(buckets_.size()) == 0 || numel_ != arena.numel()) {
      buckets_ = make_buckets(arena.numel(), bucket_elements_);  // once per arena, outside the steady state
      numel_ = arena.numel();
    }
    float* g = arena.grads().data<float>();
    const float scale = 1.f / static_cast<float>(world);
    for (const Bucket& b : buckets_) {
      collective_->all_reduce_sum(g + b.begin, b.end - b.begin);
      for (std::int64_t i = b.begin; i < b.end; ++i) g[i] *= scale;
    }
  }
  bool capturable() const override { return false; }
  int world_size() const override { return collective_->size(); }

 private:
  Collective* collective_;
  std::int64_t bucket_elements_;
  std::vector<Bucket> buckets_;
  std::int64_t numel_ = -1;
};
}  // namespace

std::unique_ptr<GradientSync> make_host_gradient_sync(Collective& collective, std::int64_t bucket_elements) {
  SQ_CHECK(bucket_elements > 0, "gradient buckets must hold at least one element, got " << bucket_elements);
  return std::make_unique<HostGradientSync>(collective, bucket_elements);
}

}  // namespace sq::dist
