// make_context: CPU contexts need nothing; CUDA contexts get a stream and library handles.
#include "sq/nn/context.hpp"
#include "sq/config.hpp"
#include "sq/core/cpu_threads.hpp"
#include "sq/core/error.hpp"

#if SQ_WITH_CUDA
#include "cuda/cuda_libraries.hpp"
namespace sq::nn::detail {
std::shared_ptr<CudaLibraries> make_cuda_libraries(Device device, MathMode math);
}
#endif

namespace sq::nn {

CpuConv parse_cpu_conv(const std::string& name) {
  if (name == "reference") return CpuConv::reference;
  if (name == "onednn") {
    SQ_CHECK(SQ_WITH_ONEDNN,
             "cpu_conv 'onednn': this build has no oneDNN (install libdnnl-dev and reconfigure, "
             "see cmake/FindDNNL.cmake); use 'reference'");
    return CpuConv::onednn;
  }
  SQ_FAIL(
      "cpu_conv must be 'onednn' (fast, the default when built with oneDNN) or 'reference' (im2col + "
      "OpenBLAS), not '"
      << name << "'");
}

const char* cpu_conv_name(CpuConv conv) {
  return conv == CpuConv::onednn ? "onednn" : "reference";
}

ExecutionContext make_context(Device device, MathMode math, bool deterministic) {
  ExecutionContext ctx;
  ctx.device = device;
  ctx.math = math;
  ctx.deterministic = deterministic;
  (void)cpu_threads();  // applies SQ_CPU_THREADS (or the core count) to OpenMP, OpenBLAS and the SQ helper once
  if (device.is_cuda()) {
#if SQ_WITH_CUDA
    SQ_CHECK(cuda_available(), "cannot create a context on " << device.str() << ": " << cuda_unavailable_reason());
    ctx.cuda = detail::make_cuda_libraries(device, math);
    ctx.stream = reinterpret_cast<StreamHandle>(static_cast<cudaStream_t>(ctx.cuda->stream));
#else
    SQ_FAIL("cannot create a context on " << device.str() << ": " << cuda_unavailable_reason());
#endif
  }
  return ctx;
}

}  // namespace sq::nn
