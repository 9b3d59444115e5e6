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

// Offset 0: whole cudaMalloc'd buffers (the float4 path); offset 1: 4-byte aligned views (the scalar path).
TEST(TrainGpu, SgdKernelMatchesHostTwinBitForBit) {
  SQ_REQUIRE_GPU();
  const sq::Device gpu = sq::Device::cuda(0);
  for (const std::int64_t size : {std::int64_t{2}, std::int64_t{1001}, std::int64_t{4096 * 256 * 4 + 77}}) {
    for (const std::int64_t offset : {std::int64_t{0}, std::int64_t{1}}) {
      const std::int64_t n = size - offset, decayed_end = n * 3 / 4 + 1;
      std::vector<float> h_w = uniforms(size, 1, size, -1.f, 1.f), h_v = uniforms(size, 2, size, -0.1f, 0.1f);
      sq::Tensor d_w = sq::Tensor::from_vector(h_w, {size}, gpu), d_v = sq::Tensor::from_vector(h_v, {size}, gpu);
      sq::Tensor d_lr = sq::Tensor::from_vector(std::vector<float>{0.037f}, {1}, gpu);
      for (int step = 0; step < 3; ++step) {
        const std::vector<float> h_g = uniforms(size, 10 + step, size, -0.5f, 0.5f);
        sq::Tensor d_g = sq::Tensor::from_vector(h_g, {size}, gpu);
        const float lr = step == 1 ? 0.037f : 0.1f / (step + 1);
        float* w = d_w.data<float>() + offset;
        float* v = d_v.data<float>() + offset;
        const float* g = d_g.data<float>() + offset;
        if (step == 1) {
          sq::cuda::sgd_momentum_update_device_lr(w, v, g, n, decayed_end, d_lr.data<float>(), 0.9f, 1e-4f, nullptr);
        } else {
          sq::cuda::sgd_momentum_update(w, v, g, n, decayed_end, lr, 0.9f, 1e-4f, nullptr);
        }
        sq::cpu::sgd_momentum_update(h_w.data() + offset, h_v.data() + offset, h_g.data() + offset, n, decayed_end, lr,
                                     0.9f, 1e-4f);
      }
      SQ_CUDA_CHECK(cudaDeviceSynchronize());
      EXPECT_EQ(d_w.to_vector<float>(), h_w) << "size " << size << ", offset " << offset;
      EXPECT_EQ(d_v.to_vector<float>(), h_v) << "size " << size << ", offset " << offset;
    }
  }
}

}  // namespace
