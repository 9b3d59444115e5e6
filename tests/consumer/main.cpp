// Uses SQ-CUDA through its installed headers and library only; exits non-zero on any mismatch.
#include <cstdint>
#include <cstdio>

#include "sq/config.hpp"
#include "sq/core/device.hpp"
#include "sq/core/philox.hpp"
#include "sq/core/tensor.hpp"
#include "sq/quant/sq_api.hpp"

// The raw-pointer SQ API on host buffers (works in CPU-only and CUDA builds): SQ_SPEC section 9's example
// as a 2 x 4 layer, then a second layer after a gap, BWN at r = 0.5 (N_q = 1 of 2 rows, and 2 of 3).
static int check_sq_api() {
  const float w[] = {0.5f, -0.25f, 0.125f, -1.0f, 0.2f, 0.2f, -0.2f, 0.0f, 99.f, 1.f, -2.f, 3.f, -4.f, 5.f, -6.f};
  const sq::quant::SqSegment segments[] = {{0, 2, 4}, {9, 3, 2}};
  sq::quant::SqOptions options;
  options.quantizer = sq::quant::Quantizer::bwn;
  options.ratio = 0.5;
  options.seed = 42;
  float hybrid[15];
  std::uint8_t mask[5];
  double errors[5];
  hybrid[8] = -1.f;  // the gap stays untouched
  sq::quant::stochastic_quantize(hybrid, mask, errors, w, segments, 2, options, /*step=*/0, sq::Device::cpu());
  if (hybrid[8] != -1.f || mask[0] + mask[1] != 1 || mask[2] + mask[3] + mask[4] != 2) return 1;
  if (errors[0] < 0.5999999 || errors[0] > 0.6000001) return 1;
  const float a = mask[0] ? 0.46875f : 0.5f;  // row 0 quantized: a = 0.46875; else W itself
  if (hybrid[0] != a) return 1;
  return 0;
}

int main() {
  // cuRAND's curand_init(42, 0, 0) + curand_uniform (DEVICE.md).
  const float u = sq::philox_uniform_at(42, 0, 0);
  if (u != 0.612959862f) {
    std::fprintf(stderr, "philox mismatch: %.9g\n", u);
    return 1;
  }
  sq::Tensor t = sq::Tensor::from_vector<float>({1.f, 2.f, 3.f}, {3});
  if (t.to_vector<float>()[2] != 3.f) return 1;
  if (check_sq_api() != 0) {
    std::fprintf(stderr, "sq::quant::stochastic_quantize mismatch\n");
    return 1;
  }
  std::printf("sq_cuda %s consumer OK (cuda build: %d, device: %s)\n", SQ_VERSION_STRING, SQ_WITH_CUDA,
              sq::select_device("auto").str().c_str());
  return 0;
}
