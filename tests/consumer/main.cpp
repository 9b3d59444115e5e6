// Uses SQ-CUDA through its installed headers and library only; exits non-zero on any mismatch.
#include <cstdio>

#include "sq/config.hpp"
#include "sq/core/device.hpp"
#include "sq/core/philox.hpp"
#include "sq/core/tensor.hpp"

int main() {
  // cuRAND's curand_init(42, 0, 0) + curand_uniform (DEVICE.md).
  const float u = sq::philox_uniform_at(42, 0, 0);
  if (u != 0.612959862f) {
    std::fprintf(stderr, "philox mismatch: %.9g\n", u);
    return 1;
  }
  sq::Tensor t = sq::Tensor::from_vector<float>({1.f, 2.f, 3.f}, {3});
  if (t.to_vector<float>()[2] != 3.f) return 1;
  std::printf("sq_cuda %s consumer OK (cuda build: %d, device: %s)\n", SQ_VERSION_STRING, SQ_WITH_CUDA,
              sq::select_device("auto").str().c_str());
  return 0;
}
