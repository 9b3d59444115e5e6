// The run's data-parallel hooks (see the header).
#include "dist/run_world.hpp"

#include <streambuf>

#include "sq/core/error.hpp"
#include "sq/nn/context.hpp"

namespace sq::dist {

namespace {
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

RunWorld& process_world(const WorldSettings& settings) {
  SQ_CHECK(settings.mode == "auto" || settings.mode == "on" || settings.mode == "off",
           "--distributed must be auto, on or off, not '" << settings.mode << "'");
  SQ_CHECK(settings.timeout_s >= 0, "--dist-timeout must be >= 0 seconds (0: forever), not " << settings.timeout_s);
  SQ_CHECK(settings.check_every >= 0, "--replica-check-every must be >= 0 (0: never), not " << settings.check_every);
  std::unique_ptr<RunWorld>& slot = world_slot();
  if (!slot) {
    auto world = std::make_unique<RunWorld>();
    // off: a world of one whatever the launcher says (every process trains alone).
    if (settings.mode != "off") world->launch = detect_launch();
    WorldOptions options;
    options.timeout_s = settings.timeout_s;
    world->collective = make_world(world->launch, /*force_mpi=*/settings.mode == "on", options);
    world->timeout_s = settings.timeout_s;
    slot = std::move(world);
  }
  slot->sync_bn = settings.sync_bn;
  slot->check_every = settings.check_every;
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
    world.sync = make_nccl_gradient_sync(*world.collective, ctx.device, kDefaultBucketElements, world.timeout_s);
    // Synchronised BN (--sync-bn, and the BN recalibration of every distributed evaluation) on the NCCL communicator.
    ctx.device_collective = world.sync->device_collective();
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
