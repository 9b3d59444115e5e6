// RAII owners for CUDA streams, events and the cuBLAS / cuDNN handles (CUDA builds only).
#pragma once

#include "sq/config.hpp"
#if !SQ_WITH_CUDA
#error "sq/core/cuda_handles.hpp needs a build with SQ_ENABLE_CUDA=ON"
#endif

#include "sq/core/cuda_check.hpp"

namespace sq {

// Owns one handle; destroy() must not throw (destructors log instead of throwing: STYLE.md rule 5).
template <class Handle, class Traits>
class UniqueHandle {
 public:
  UniqueHandle() : handle_(Traits::create()) {}
  ~UniqueHandle() { reset(); }
  UniqueHandle(UniqueHandle&& other) noexcept : handle_(other.handle_) { other.handle_ = nullptr; }
  UniqueHandle& operator=(UniqueHandle&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = other.handle_;
      other.handle_ = nullptr;
    }
    return *this;
  }
  UniqueHandle(const UniqueHandle&) = delete;
  UniqueHandle& operator=(const UniqueHandle&) = delete;

  Handle get() const { return handle_; }
  operator Handle() const { return handle_; }  // NOLINT: lets a handle be passed straight to the library

 private:
  void reset() noexcept {
    if (handle_) Traits::destroy(handle_);
    handle_ = nullptr;
  }
  Handle handle_;
};

namespace detail {
void log_destroy_failure(const char* what, const char* message) noexcept;

struct StreamTraits {
  static cudaStream_t create() {
    cudaStream_t s = nullptr;
    SQ_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    return s;
  }
  static void destroy(cudaStream_t s) noexcept {
    const cudaError_t status = cudaStreamDestroy(s);
    if (status != cudaSuccess) log_destroy_failure("cudaStreamDestroy", cudaGetErrorString(status));
  }
};
struct EventTraits {
  static cudaEvent_t create() {
    cudaEvent_t e = nullptr;
    SQ_CUDA_CHECK(cudaEventCreate(&e));
    return e;
  }
  static void destroy(cudaEvent_t e) noexcept {
    const cudaError_t status = cudaEventDestroy(e);
    if (status != cudaSuccess) log_destroy_failure("cudaEventDestroy", cudaGetErrorString(status));
  }
};
struct CublasTraits {
  static cublasHandle_t create() {
    cublasHandle_t h = nullptr;
    SQ_CUBLAS_CHECK(cublasCreate(&h));
    return h;
  }
  static void destroy(cublasHandle_t h) noexcept {
    const cublasStatus_t status = cublasDestroy(h);
    if (status != CUBLAS_STATUS_SUCCESS) log_destroy_failure("cublasDestroy", cublasGetStatusString(status));
  }
};
struct CudnnTraits {
  static cudnnHandle_t create() {
    cudnnHandle_t h = nullptr;
    SQ_CUDNN_CHECK(cudnnCreate(&h));
    return h;
  }
  static void destroy(cudnnHandle_t h) noexcept {
    const cudnnStatus_t status = cudnnDestroy(h);
    if (status != CUDNN_STATUS_SUCCESS) log_destroy_failure("cudnnDestroy", cudnnGetErrorString(status));
  }
};
}  // namespace detail

using CudaStream = UniqueHandle<cudaStream_t, detail::StreamTraits>;
using CudaEvent = UniqueHandle<cudaEvent_t, detail::EventTraits>;
using CublasHandle = UniqueHandle<cublasHandle_t, detail::CublasTraits>;
using CudnnHandle = UniqueHandle<cudnnHandle_t, detail::CudnnTraits>;

}  // namespace sq
