// Device detection that answers cleanly on machines without a GPU or driver, and the auto|cpu|cuda rule.
#include "sq/core/device.hpp"

#include <cstdlib>
#include <sstream>

#include "sq/config.hpp"
#include "sq/core/error.hpp"

#if SQ_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

namespace sq {

std::string Device::str() const {
  return is_cpu() ? std::string("cpu") : "cuda:" + std::to_string(index);
}

namespace {
struct CudaProbe {
  int count = 0;
  std::string reason;
};

// Probed once: cudaGetDeviceCount fails fast with cudaErrorNoDevice / cudaErrorInsufficientDriver when there is
// no GPU or driver, which we turn into count 0 plus a reason.
const CudaProbe& probe() {
  static const CudaProbe result = [] {
    CudaProbe p;
#if SQ_WITH_CUDA
    int n = 0;
    const cudaError_t status = cudaGetDeviceCount(&n);
    if (status != cudaSuccess) {
      (void)cudaGetLastError();  // clear the sticky error so later calls are not poisoned
      p.reason = std::string("no usable CUDA device: ") + cudaGetErrorString(status);
    } else if (n == 0) {
      p.reason = "no CUDA device visible";
    } else {
      p.count = n;
    }
#else
    p.reason = "this build of SQ-CUDA has no CUDA support (configured with SQ_ENABLE_CUDA=OFF)";
#endif
    return p;
  }();
  return result;
}
}  // namespace

int cuda_device_count() noexcept {
  try {
    return probe().count;
  } catch (...) {
    return 0;
  }
}

std::string cuda_unavailable_reason() {
  return probe().reason;
}

Device select_device(const std::string& rule) {
  if (rule == "cpu") return Device::cpu();
  if (rule == "auto") return cuda_available() ? Device::cuda(0) : Device::cpu();
  if (rule == "cuda" || rule.rfind("cuda:", 0) == 0) {
    int index = 0;
    if (rule.size() > 5) {
      char* end = nullptr;
      const long parsed = std::strtol(rule.c_str() + 5, &end, 10);
      SQ_CHECK(end && *end == '\0' && parsed >= 0, "invalid device '" << rule << "': expected cuda:N with N >= 0");
      index = static_cast<int>(parsed);
    }
    SQ_CHECK(cuda_available(), "device '" << rule << "' was requested but " << cuda_unavailable_reason()
                                          << "; use --device cpu (or auto) to run on the CPU");
    SQ_CHECK(index < cuda_device_count(),
             "device '" << rule << "' was requested but only " << cuda_device_count() << " CUDA device(s) are visible");
    return Device::cuda(index);
  }
  SQ_FAIL("unknown device '" << rule << "': expected auto, cpu, cuda or cuda:N");
}

std::string describe_device(const Device& device) {
  if (device.is_cpu()) return "cpu";
#if SQ_WITH_CUDA
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, device.index) == cudaSuccess) {
    std::ostringstream out;
    out << device.str() << " " << prop.name << " (sm_" << prop.major << prop.minor << ", "
        << (prop.totalGlobalMem >> 30) << " GiB)";
    return out.str();
  }
#endif
  return device.str();
}

}  // namespace sq
