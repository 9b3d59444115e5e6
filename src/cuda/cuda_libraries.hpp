// The CUDA half of an ExecutionContext: stream, library handles bound to it, and the one cuDNN workspace all
// layers share (they run one after another on the stream), grown only in setup() (private to libsq_cuda).
#pragma once

#include <cstddef>

#include "sq/core/cuda_handles.hpp"
#include "sq/core/tensor.hpp"
#include "sq/nn/context.hpp"

namespace sq::nn {

struct CudaLibraries {
  CudaStream stream;
  CublasHandle cublas;
  CudnnHandle cudnn;
  Device device = Device::cuda(0);
  Tensor workspace;  // u8; layers read workspace.raw() at run time, since a later setup may have grown it

  // Called from setup() only: makes the workspace at least `bytes` long (waits for the stream before freeing).
  void reserve_workspace(std::size_t bytes) {
    if (bytes <= workspace.bytes()) return;
    SQ_CUDA_CHECK(cudaStreamSynchronize(stream));
    workspace = Tensor({static_cast<std::int64_t>(bytes)}, DType::u8, device);
  }
};

inline cudaStream_t cuda_stream(const ExecutionContext& ctx) {
  return reinterpret_cast<cudaStream_t>(ctx.stream);
}

}  // namespace sq::nn
