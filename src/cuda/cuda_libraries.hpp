// The CUDA half of an ExecutionContext: stream and library handles bound to it (private to libsq_cuda).
#pragma once

#include "sq/core/cuda_handles.hpp"
#include "sq/nn/context.hpp"

namespace sq::nn {

struct CudaLibraries {
  CudaStream stream;
  CublasHandle cublas;
  CudnnHandle cudnn;
};

inline cudaStream_t cuda_stream(const ExecutionContext& ctx) {
  return reinterpret_cast<cudaStream_t>(ctx.stream);
}

}  // namespace sq::nn
