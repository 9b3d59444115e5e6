// SqPipeline: stochastic quantization of all quantized layers of a network per training step (SQ_SPEC 3-6).
// Built once for (segments, options, device); owns every workspace; a step allocates nothing and, on the GPU,
// never synchronises with the host and is capturable in a CUDA graph.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sq/core/device.hpp"
#include "sq/core/stream.hpp"
#include "sq/quant/options.hpp"

namespace sq::quant {

class SqPipeline {
 public:
  // segments: where each layer's m x n weights sit in the weight buffer (element offsets; no overlap).
  // Allocates the workspace on `device` once. Throws sq::Error on invalid segments or options.
  SqPipeline(std::vector<SqSegment> segments, SqOptions options, Device device);
  ~SqPipeline();
  SqPipeline(SqPipeline&&) noexcept;
  SqPipeline& operator=(SqPipeline&&) noexcept;

  // Between steps: copies the per-layer N_q to the device on `stream` (the step stream; waits for it). The
  // frozen sampler redraws at the next step.
  void set_ratio(double ratio, StreamHandle stream = nullptr);
  // The "frozen" sampler draws afresh at the first step after this (keyed by the stage, see docs/SQ_API.md).
  // The stage sits in device memory beside N_q (copied on `stream`, which it waits for), so a captured CUDA graph
  // replays with the new stage.
  void set_stage(int stage, StreamHandle stream = nullptr);

  // W -> hybrid W~ (same layout; elements outside the segments untouched), mask and errors for `step`
  // (< 2^47). Pointers are on the pipeline's device. With `device_step` (device memory on the GPU) the step is
  // read from there when the kernels run, so one captured CUDA graph serves every step.
  // NaN/Inf weights: on the CPU run() throws sq::Error at once; on the GPU a device flag is set and the error is
  // thrown by the next stats() or check_finite() (the documented sync points).
  void run(const float* weights, float* hybrid, std::uint64_t step, StreamHandle stream,
           const std::uint64_t* device_step = nullptr);
  // out = Q(W) for every unit (r = 1, deterministic: for evaluation). Does not change the mask.
  void quantize_all(const float* weights, float* out, StreamHandle stream);

  // Per-layer statistics of the last run (synchronises `stream`: call only when reporting).
  std::vector<SqLayerStats> stats(StreamHandle stream) const;
  // Synchronises `stream`; throws sq::Error naming the layer and row when a NaN/Inf weight was seen.
  void check_finite(StreamHandle stream) const;

  const std::uint8_t* mask() const;  // one byte per unit (1 = quantized), on the pipeline's device
  const double* errors() const;      // e per unit (row, or weight for element granularity), same device
  std::vector<std::uint8_t> mask_to_host(StreamHandle stream) const;  // synchronises
  std::vector<double> errors_to_host(StreamHandle stream) const;      // synchronises

  std::int64_t units() const;     // length of mask() and errors()
  int launches_per_step() const;  // kernel launches of one run() on the GPU (whatever the number of layers)
  const std::vector<SqSegment>& segments() const;
  // Names of the segments (e.g. the model's parameter names, one per segment, in order) used by error messages
  // such as the NaN/Inf one; without them a segment is "quantized layer <index>".
  void set_layer_names(std::vector<std::string> names);
  const SqOptions& options() const;
  Device device() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sq::quant
