// Creates the stream and cuBLAS / cuDNN handles of a CUDA ExecutionContext, once.
#include "cuda/cuda_libraries.hpp"

namespace sq::nn::detail {

std::shared_ptr<CudaLibraries> make_cuda_libraries(Device device, MathMode math) {
  SQ_CUDA_CHECK(cudaSetDevice(device.index));
  auto libs = std::make_shared<CudaLibraries>();
  libs->device = device;
  SQ_CUBLAS_CHECK(cublasSetStream(libs->cublas, libs->stream));
  // An explicit cuBLAS workspace: cuBLAS then never allocates inside a step, so steps can be graph-captured.
  libs->cublas_workspace = Tensor({kCublasWorkspaceBytes}, DType::u8, device);
  SQ_CUBLAS_CHECK(cublasSetWorkspace(libs->cublas, libs->cublas_workspace.raw(), libs->cublas_workspace.bytes()));
  SQ_CUBLAS_CHECK(cublasSetMathMode(libs->cublas, cublas_math_mode(math)));
  libs->cublas_math = math;
  SQ_CUDNN_CHECK(cudnnSetStream(libs->cudnn, libs->stream));
  return libs;
}

}  // namespace sq::nn::detail
