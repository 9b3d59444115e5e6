// The CUDA half of an ExecutionContext: stream, library handles bound to it, and the one cuDNN workspace all
// layers share (they run one after another on the stream), grown only in setup() (private to libsq_cuda).
#pragma once

#include <array>
#include <cstddef>
#include <map>
#include <string>

#include "sq/core/cuda_handles.hpp"
#include "sq/core/tensor.hpp"
#include "sq/nn/context.hpp"

namespace sq::nn {

// NVIDIA's recommendation for Hopper (cuBLAS docs, cublasSetWorkspace).
constexpr std::int64_t kCublasWorkspaceBytes = std::int64_t(32) << 20;

struct CudaLibraries {
  // Declared first so they are freed last, after the handles that use them are destroyed.
  Tensor cublas_workspace;  // u8, given to cuBLAS once
  Tensor workspace;         // u8, cuDNN's; layers read workspace.raw() at run time: a later setup may grow it
  CudaStream stream;
  CublasHandle cublas;
  CudnnHandle cudnn;
  Device device = Device::cuda(0);
  // cuDNN convolution algorithms already found, by shape / math mode / determinism (src/cuda/cudnn_conv.cpp):
  // {fwd, bwd-data, bwd-filter algorithm, then their math types}.
  std::map<std::string, std::array<int, 6>> conv_algorithms;

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
