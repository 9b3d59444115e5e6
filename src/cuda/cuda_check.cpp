// Messages for library status codes that have no string function of their own (cuRAND).
#include "sq/core/cuda_check.hpp"
#include "sq/core/cuda_handles.hpp"

namespace sq::detail {

const char* curand_status_string(curandStatus_t status) noexcept {
  switch (status) {
    case CURAND_STATUS_SUCCESS: return "success";
    case CURAND_STATUS_VERSION_MISMATCH: return "header file and linked library version do not match";
    case CURAND_STATUS_NOT_INITIALIZED: return "generator not initialized";
    case CURAND_STATUS_ALLOCATION_FAILED: return "memory allocation failed";
    case CURAND_STATUS_TYPE_ERROR: return "generator is wrong type";
    case CURAND_STATUS_OUT_OF_RANGE: return "argument out of range";
    case CURAND_STATUS_LENGTH_NOT_MULTIPLE: return "length requested is not a multiple of dimension";
    case CURAND_STATUS_DOUBLE_PRECISION_REQUIRED: return "GPU does not have double precision required";
    case CURAND_STATUS_LAUNCH_FAILURE: return "kernel launch failure";
    case CURAND_STATUS_PREEXISTING_FAILURE: return "preexisting failure on library entry";
    case CURAND_STATUS_INITIALIZATION_FAILED: return "initialization of CUDA failed";
    case CURAND_STATUS_ARCH_MISMATCH: return "architecture mismatch, GPU does not support requested feature";
    case CURAND_STATUS_INTERNAL_ERROR: return "internal library error";
  }
  return "unknown cuRAND status";
}

}  // namespace sq::detail

#include <cstdio>

namespace sq::detail {
void log_destroy_failure(const char* what, const char* message) noexcept {
  std::fprintf(stderr, "sq-cuda: warning: %s failed during cleanup: %s\n", what, message);
}
}  // namespace sq::detail
