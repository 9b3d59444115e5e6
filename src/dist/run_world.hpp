// The training run's hooks for data parallelism (src/train/runner.cpp calls these; docs/DISTRIBUTED.md): the
// process's world (detected from mpirun / srun), the device of a rank, the gradient all-reduce and synchronised BN
// attached to a trainer, agreement on stop decisions, and the job-wide abort with the rank named.
#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>

#include "sq/core/device.hpp"
#include "sq/dist/collective.hpp"
#include "sq/dist/gradient_sync.hpp"
#include "sq/dist/world.hpp"

namespace sq::nn {
struct ExecutionContext;
}

namespace sq::dist {

// How the process world is made (train_cifar's --distributed, --dist-timeout, --sync-bn, --replica-check-every).
struct WorldSettings {
  std::string mode = "auto";  // auto: MPI when a launcher started more than one rank; on: MPI always; off: alone
  double timeout_s = 300;     // longest wait in one collective (0: forever)
  bool sync_bn = false;
  std::int64_t check_every = 100;  // steps between replica checks (0: never)
};

struct RunWorld {
  LaunchInfo launch;
  std::unique_ptr<Collective> collective;  // SelfCollective when alone
  std::unique_ptr<GradientSync> sync;      // null when alone
  bool sync_bn = false;
  std::int64_t check_every = 100;
  double timeout_s = 300;  // --dist-timeout: the MPI watchdog's, and the NCCL one's on GPU ranks

  int rank() const { return collective->rank(); }
  int size() const { return collective->size(); }
  bool root() const { return rank() == 0; }
  bool distributed() const { return size() > 1; }
  // True on every rank when it is true on any (stop signals, divergence: every rank takes the same branch).
  bool any(bool value);
};

// The process's world, made at the first call from `settings` (MPI initialised then) and kept until exit; later
// calls update sync_bn and check_every (the mode and timeout are the first call's). Throws sq::Error for a bad mode.
RunWorld& process_world(const WorldSettings& settings = {});
// The world when one was made and has more than one rank, else null (for error handlers).
RunWorld* distributed_world_if_any();

// GPU ranks take cuda:<local rank> when the configuration names a CUDA device; the CPU stays the CPU.
Device rank_device(const RunWorld& world, Device configured);

// Makes the gradient all-reduce (MPI on CPU ranks, NCCL on GPU ranks) and, with sync BN, sets ctx.sync_bn.
// Nothing when alone.
void attach(RunWorld& world, nn::ExecutionContext& ctx);

// An ostream that discards (the progress and summaries of ranks other than 0).
std::ostream& null_stream();

}  // namespace sq::dist
