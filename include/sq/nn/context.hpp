// ExecutionContext: what every layer needs to run a step on its device (stream, library handles, mode, RNG ids).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "sq/config.hpp"
#include "sq/core/device.hpp"
#include "sq/core/stream.hpp"

namespace sq::dist {
class Collective;        // include/sq/dist/collective.hpp
class DeviceCollective;  // include/sq/dist/device_collective.hpp
}  // namespace sq::dist

namespace sq::nn {

// GPU matrix math: strict fp32 (FMA sums of products: no TF32, no FFT / Winograd convolutions), or TF32 tensor cores
// (the default, for speed). The CPU is always fp32.
enum class MathMode { fp32, tf32 };

// CPU convolutions and Linear: oneDNN (src/onednn/, the fast path and the default in builds that have it) or
// im2col + OpenBLAS sgemm (the reference: the oneDNN path is tested against it to a tolerance).
enum class CpuConv { reference, onednn };
constexpr CpuConv default_cpu_conv() {
  return SQ_WITH_ONEDNN ? CpuConv::onednn : CpuConv::reference;
}
// "reference" or "onednn"; parse_cpu_conv throws sq::Error naming both (and saying when this build lacks oneDNN).
CpuConv parse_cpu_conv(const std::string& name);
const char* cpu_conv_name(CpuConv conv);

class Module;
struct ExecutionContext;
// Told by every layer with parameters once its backward has enqueued the writes of their gradients (data
// parallelism starts the all-reduce of the buckets they complete then; docs/DISTRIBUTED.md "Overlap").
class BackwardObserver {
 public:
  virtual ~BackwardObserver() = default;
  virtual void grads_ready(const Module& layer, ExecutionContext& ctx) = 0;
};

struct CudaLibraries;  // cuBLAS + cuDNN handles bound to the context's stream (src/cuda/), opaque to CPU builds

struct ExecutionContext {
  Device device = Device::cpu();
  MathMode math = MathMode::tf32;
  bool deterministic = false;             // GPU: only deterministic cuDNN algorithms
  CpuConv cpu_conv = default_cpu_conv();  // CPU: the convolution / Linear backend (read at setup)
  bool training = true;                   // BN batch statistics and dropout in training; running statistics in eval
  // BN recalibration (Trainer::recalibrate_bn), outside steps: >= 0 replaces every BatchNorm's momentum in a
  // training-mode forward (1 / (k + 1) for batch k gives the cumulative average); < 0: each layer's own.
  float bn_momentum = -1.f;
  bool dropout = true;  // false: Dropout is the identity even in training mode (BN recalibration)
  // Read by setup() only: the layers will run forward passes alone (an evaluation network, Model::eval_network):
  // no backward algorithms or gradient buffers.
  bool forward_only = false;
  // Dropout masks are functions of (seed, step, layer). SQ draws are not: a Model's follow SqOptions::seed
  // (docs/SQ_API.md "Seeds"); the trainer sets both to the run seed.
  std::uint64_t seed = 0;
  std::uint64_t step = 0;  // global optimisation step, for eager launches
  // Device-memory copy of the step for kernels captured in a CUDA graph (nullptr: use `step`).
  const std::uint64_t* device_step = nullptr;
  StreamHandle stream = nullptr;
  // Data parallelism (docs/DISTRIBUTED.md): non-null makes every training-mode BatchNorm synchronised, its batch
  // statistics (and backward sums) all-reduced over these ranks: on CPU ranks through this collective, on GPU ranks
  // through `device_collective` (which must then be set, over the same ranks).
  dist::Collective* sync_bn = nullptr;
  // GPU ranks (dist::attach): the all-reduce of device buffers on the step's stream (NCCL) synchronised BN uses.
  dist::DeviceCollective* device_collective = nullptr;
  // Inside a training step's backward only (Trainer): the gradient all-reduce that overlaps with backward.
  BackwardObserver* backward_observer = nullptr;
  std::shared_ptr<CudaLibraries> cuda;  // set by make_context() on CUDA devices

  bool on_gpu() const { return device.is_cuda(); }
};

// What a layer with parameters calls at the end of its backward.
inline void notify_grads_ready(const Module& layer, ExecutionContext& ctx) {
  if (ctx.backward_observer != nullptr) ctx.backward_observer->grads_ready(layer, ctx);
}

// A context for the device with its stream and library handles created (once, outside any step).
ExecutionContext make_context(Device device, MathMode math = MathMode::tf32, bool deterministic = false);

}  // namespace sq::nn
