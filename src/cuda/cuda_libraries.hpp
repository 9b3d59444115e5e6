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
  // The math mode cuBLAS is set to; gemm_cuda re-sets it when ExecutionContext::math changed after creation.
  MathMode cublas_math = MathMode::tf32;
  // Counts re-allocations of `workspace`: a CUDA graph recorded before one holds the freed address (any model set
  // up on this context can grow it), so the trainer records this with the graph and re-captures when it moved.
  std::uint64_t workspace_generation = 0;

  // Called from setup() only: makes the workspace at least `bytes` long (waits for the stream before freeing).
  void reserve_workspace(std::size_t bytes) {
    if (bytes <= workspace.bytes()) return;
    SQ_CUDA_CHECK(cudaStreamSynchronize(stream));
    workspace = Tensor({static_cast<std::int64_t>(bytes)}, DType::u8, device);
    ++workspace_generation;
  }
};

inline cublasMath_t cublas_math_mode(MathMode math) {
  return math == MathMode::tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_PEDANTIC_MATH;
}

inline cudaStream_t cuda_stream(const ExecutionContext& ctx) {
  return reinterpret_cast<cudaStream_t>(ctx.stream);
}

}  // namespace sq::nn
