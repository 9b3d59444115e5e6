// SQ_CUDA_CHECK / SQ_CUDNN_CHECK / SQ_CUBLAS_CHECK / SQ_CURAND_CHECK: throw sq::Error with the library's message.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>
#include <curand.h>

#include "sq/core/error.hpp"

namespace sq::detail {
const char* curand_status_string(curandStatus_t status) noexcept;
}  // namespace sq::detail

#define SQ_LIBRARY_CHECK_(call, status_type, ok_value, describe, library)                                              \
  do {                                                                                                                 \
    const status_type sq_status_ = (call);                                                                             \
    if (sq_status_ != (ok_value)) {                                                                                    \
      ::sq::detail::throw_error(__FILE__, __LINE__, #call,                                                             \
                                std::string(library " error ") + std::to_string(static_cast<int>(sq_status_)) + ": " + \
                                    describe(sq_status_));                                                             \
    }                                                                                                                  \
  } while (0)

#define SQ_CUDA_CHECK(call) SQ_LIBRARY_CHECK_(call, cudaError_t, cudaSuccess, cudaGetErrorString, "CUDA")
#define SQ_CUDNN_CHECK(call) SQ_LIBRARY_CHECK_(call, cudnnStatus_t, CUDNN_STATUS_SUCCESS, cudnnGetErrorString, "cuDNN")
#define SQ_CUBLAS_CHECK(call) \
  SQ_LIBRARY_CHECK_(call, cublasStatus_t, CUBLAS_STATUS_SUCCESS, cublasGetStatusString, "cuBLAS")
#define SQ_CURAND_CHECK(call) \
  SQ_LIBRARY_CHECK_(call, curandStatus_t, CURAND_STATUS_SUCCESS, ::sq::detail::curand_status_string, "cuRAND")

// After a kernel launch: a launch configuration error surfaces here, not at the next unrelated call.
#define SQ_CUDA_CHECK_LAUNCH() SQ_CUDA_CHECK(cudaGetLastError())
