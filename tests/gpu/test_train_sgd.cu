// The SGD kernel against its host twin, bit for bit, with lr by value and from device memory.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "cpu/sgd.hpp"
#include "sgd.cuh"
#include "sq/core/cuda_check.hpp"
#include "sq/core/philox.hpp"
#include "sq/core/tensor.hpp"
#include "support/gpu.hpp"

namespace {

std::vector<float> uniforms(std::uint64_t seed, std::uint64_t stream, std::int64_t n, float lo, float hi) {
  std::vector<float> out(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) out[i] = lo + (hi - lo) * sq::philox_uniform_at(seed, stream, i);
  return out;
}

TEST(TrainGpu, SgdKernelMatchesHostTwinBitForBit) {
  SQ_REQUIRE_GPU();
  const sq::Device gpu = sq::Device::cuda(0);
  for (const std::int64_t n : {std::int64_t{1}, std::int64_t{1000}, std::int64_t{4096 * 256 + 77}}) {
    const std::int64_t decayed_end = n * 3 / 4;
    std::vector<float> h_w = uniforms(n, 1, n, -1.f, 1.f), h_v = uniforms(n, 2, n, -0.1f, 0.1f);
    sq::Tensor d_w = sq::Tensor::from_vector(h_w, {n}, gpu), d_v = sq::Tensor::from_vector(h_v, {n}, gpu);
    sq::Tensor d_lr = sq::Tensor::from_vector(std::vector<float>{0.037f}, {1}, gpu);
    for (int step = 0; step < 3; ++step) {
      const std::vector<float> h_g = uniforms(n, 10 + step, n, -0.5f, 0.5f);
      sq::Tensor d_g = sq::Tensor::from_vector(h_g, {n}, gpu);
      const float lr = step == 1 ? 0.037f : 0.1f / (step + 1);
      if (step == 1) {
        sq::cuda::sgd_momentum_update_device_lr(d_w.data<float>(), d_v.data<float>(), d_g.data<float>(), n, decayed_end,
                                                d_lr.data<float>(), 0.9f, 1e-4f, nullptr);
      } else {
        sq::cuda::sgd_momentum_update(d_w.data<float>(), d_v.data<float>(), d_g.data<float>(), n, decayed_end, lr, 0.9f,
                                      1e-4f, nullptr);
      }
      sq::cpu::sgd_momentum_update(h_w.data(), h_v.data(), h_g.data(), n, decayed_end, lr, 0.9f, 1e-4f);
    }
    SQ_CUDA_CHECK(cudaDeviceSynchronize());
    EXPECT_EQ(d_w.to_vector<float>(), h_w) << "n = " << n;
    EXPECT_EQ(d_v.to_vector<float>(), h_v) << "n = " << n;
  }
}

}  // namespace
