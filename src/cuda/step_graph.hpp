// StepGraph: a training step captured once as a CUDA graph and replayed, with the per-step scalars (global step,
// learning rate) in device memory, refreshed before each replay from a ring of pinned host slots.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "sq/core/device.hpp"

namespace sq::train::detail {

// What the captured kernels read instead of by-value arguments.
struct StepScalars {
  std::uint64_t step;
  float lr;
  float pad;
};

class StepGraph {
 public:
  // `stream`: the step stream, where the device scalars are zeroed.
  StepGraph(Device device, cudaStream_t stream);
  ~StepGraph();
  StepGraph(const StepGraph&) = delete;
  StepGraph& operator=(const StepGraph&) = delete;

  const std::uint64_t* device_step() const { return &scalars_->step; }
  const float* device_lr() const { return &scalars_->lr; }

  // Enqueues the copy of (step, lr) into the device scalars on `stream`. The host slot it copies from is reused
  // only after its previous copy completed (an event per slot): with kSlots slots the host may run that many
  // steps ahead of the device before it waits, as it would on a full launch queue.
  void upload(std::uint64_t step, float lr, cudaStream_t stream);

  // Records `body` (which enqueues work on `stream`) as the graph; nothing executes until launch().
  void capture(const std::function<void()>& body, cudaStream_t stream);
  void launch(cudaStream_t stream);
  // Device-to-device copy of a batch into the graph's fixed input buffers, on `stream`.
  static void stage(void* dst, const void* src, std::size_t bytes, cudaStream_t stream);
  bool ready() const { return exec_ != nullptr; }
  void reset();

 private:
  static constexpr int kSlots = 64;
  StepScalars* scalars_ = nullptr;     // device
  StepScalars* host_slots_ = nullptr;  // pinned, kSlots
  std::vector<cudaEvent_t> slot_events_;
  std::vector<bool> slot_used_;
  int next_slot_ = 0;
  cudaGraph_t graph_ = nullptr;
  cudaGraphExec_t exec_ = nullptr;
};

}  // namespace sq::train::detail
