// The run's data-parallel hooks (see the header).
#include "dist/run_world.hpp"

#include <cstdlib>
#include <streambuf>

#include "sq/core/error.hpp"
#include "sq/nn/context.hpp"

namespace sq::dist {

namespace {
double env_double(const char* name, double fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const double x = std::strtod(v, &end);
  SQ_CHECK(*end == '\0' && x >= 0, name << "='" << v << "' is not a number >= 0");
  return x;
}

std::unique_ptr<RunWorld>& world_slot() {
  static std::unique_ptr<RunWorld> world;
  return world;
}
}  // namespace

bool RunWorld::any(bool value) {
  if (!distributed()) return value;
  std::int64_t v = value ? 1 : 0;
  collective->all_reduce_sum(&v, 1);
  return v > 0;
}

RunWorld& process_world() {
  std::unique_ptr<RunWorld>& slot = world_slot();
  if (!slot) {
    auto world = std::make_unique<RunWorld>();
    world->launch = detect_launch();
    WorldOptions options;
    options.timeout_s = env_double("SQ_DIST_TIMEOUT_S", 300);
    world->collective = make_world(world->launch, env_double("SQ_DISTRIBUTED", 0) > 0, options);
    world->sync_bn = env_double("SQ_DIST_SYNC_BN", 0) > 0;
    world->check_every = static_cast<std::int64_t>(env_double("SQ_DIST_CHECK_EVERY", 100));
    slot = std::move(world);
  }
  return *slot;
}

RunWorld* distributed_world_if_any() {
  RunWorld* w = world_slot().get();
  return w != nullptr && w->distributed() ? w : nullptr;
}

Device rank_device(const RunWorld& world, Device configured) {
  if (!world.distributed() || !configured.is_cuda()) return configured;
  return Device::cuda(world.launch.local_rank);
}

void attach(RunWorld& world, nn::ExecutionContext& ctx) {
  if (!world.distributed()) return;
  if (ctx.on_gpu()) {
    SQ_CHECK(!world.sync_bn,
             "SQ_DIST_SYNC_BN: synchronised BN runs on CPU ranks only for now (GPU ranks keep "
             "per-rank statistics, as PyTorch DDP does by default); unset it");
    world.sync = make_nccl_gradient_sync(*world.collective, ctx.device);
  } else {
    world.sync = make_host_gradient_sync(*world.collective);
  }
  if (world.sync_bn) ctx.sync_bn = world.collective.get();
}

std::ostream& null_stream() {
  struct NullBuffer : std::streambuf {
    int overflow(int c) override { return c; }
  };
  static NullBuffer buffer;
  static std::ostream stream(&buffer);
  return stream;
}

}  // namespace sq::dist
