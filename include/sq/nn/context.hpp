// ExecutionContext: what every layer needs to run a step on its device (stream, library handles, mode, RNG ids).
#pragma once

#include <cstdint>
#include <memory>

#include "sq/core/device.hpp"
#include "sq/core/stream.hpp"

namespace sq::nn {

// GPU matrix math: strict fp32 (FMA sums of products: no TF32, no FFT / Winograd convolutions), or TF32 tensor cores
// (the default, for speed). The CPU is always fp32.
enum class MathMode { fp32, tf32 };

struct CudaLibraries;  // cuBLAS + cuDNN handles bound to the context's stream (src/cuda/), opaque to CPU builds

struct ExecutionContext {
  Device device = Device::cpu();
  MathMode math = MathMode::tf32;
  bool deterministic = false;  // GPU: only deterministic cuDNN algorithms
  bool training = true;        // BN batch statistics and dropout in training; running statistics in eval
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
  std::shared_ptr<CudaLibraries> cuda;  // set by make_context() on CUDA devices

  bool on_gpu() const { return device.is_cuda(); }
};

// A context for the device with its stream and library handles created (once, outside any step).
ExecutionContext make_context(Device device, MathMode math = MathMode::tf32, bool deterministic = false);

}  // namespace sq::nn
