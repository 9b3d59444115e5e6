// CUDA path of the core: tensors across devices, and host Philox against cuRAND's device API.
#include <curand_kernel.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "sq/core/cuda_check.hpp"
#include "sq/core/philox.hpp"
#include "sq/core/tensor.hpp"
#include "support/gpu.hpp"

namespace {

// One thread per (subsequence, draw) pair: curand_init(seed, subsequence, offset) then curand / curand_uniform.
__global__ void curand_reference(std::uint64_t seed, int subsequences, int draws, std::uint64_t offset,
                                 float* uniforms, unsigned* words) {
  const int s = blockIdx.x * blockDim.x + threadIdx.x;
  if (s >= subsequences) return;
  curandStatePhilox4_32_10_t state;
  curand_init(seed, s, offset, &state);
  for (int i = 0; i < draws; ++i) uniforms[s * draws + i] = curand_uniform(&state);
  curand_init(seed, s, offset, &state);
  for (int i = 0; i < draws; ++i) words[s * draws + i] = curand(&state);
}

__global__ void sq_philox_on_device(std::uint64_t seed, int subsequences, int draws, std::uint64_t offset,
                                    float* uniforms) {
  const int s = blockIdx.x * blockDim.x + threadIdx.x;
  if (s >= subsequences) return;
  for (int i = 0; i < draws; ++i) uniforms[s * draws + i] = sq::philox_uniform_at(seed, s, offset + i);
}

TEST(CoreGpu, TensorRoundTripThroughDevice) {
  SQ_REQUIRE_GPU();
  const std::vector<float> values = {1.f, -2.f, 3.5f, 1e30f};
  sq::Tensor host = sq::Tensor::from_vector(values, {4});
  sq::Tensor device = host.to(sq::Device::cuda(0));
  EXPECT_TRUE(device.device().is_cuda());
  sq::Tensor device2 = device.clone();
  EXPECT_EQ(device2.to_vector<float>(), values);
  device2.fill_zero();
  EXPECT_EQ(device2.to_vector<float>(), std::vector<float>(4, 0.f));
}

TEST(CoreGpu, HostPhiloxMatchesCurandOnAMillionOutputs) {
  SQ_REQUIRE_GPU();
  const int subsequences = 4096, draws = 256;  // 1,048,576 outputs
  const std::uint64_t seed = 0x5eedull << 20, offset = 3;  // unaligned offset exercises the block position
  const std::size_t n = static_cast<std::size_t>(subsequences) * draws;
  sq::Tensor d_uniforms({static_cast<std::int64_t>(n)}, sq::DType::f32, sq::Device::cuda(0));
  sq::Tensor d_words({static_cast<std::int64_t>(n)}, sq::DType::i32, sq::Device::cuda(0));
  sq::Tensor d_ours({static_cast<std::int64_t>(n)}, sq::DType::f32, sq::Device::cuda(0));
  curand_reference<<<(subsequences + 127) / 128, 128>>>(seed, subsequences, draws, offset, d_uniforms.data<float>(),
                                                         reinterpret_cast<unsigned*>(d_words.data<std::int32_t>()));
  SQ_CUDA_CHECK_LAUNCH();
  sq_philox_on_device<<<(subsequences + 127) / 128, 128>>>(seed, subsequences, draws, offset, d_ours.data<float>());
  SQ_CUDA_CHECK_LAUNCH();
  SQ_CUDA_CHECK(cudaDeviceSynchronize());
  const std::vector<float> h_curand = d_uniforms.to_vector<float>();
  const std::vector<std::int32_t> h_words = d_words.to_vector<std::int32_t>();
  const std::vector<float> h_ours_device = d_ours.to_vector<float>();

  std::size_t mismatches = 0;
  for (int s = 0; s < subsequences; ++s) {
    sq::PhiloxState host(seed, s, offset);
    sq::PhiloxState host_words(seed, s, offset);
    for (int i = 0; i < draws; ++i) {
      const std::size_t k = static_cast<std::size_t>(s) * draws + i;
      mismatches += host.next_uniform() != h_curand[k];
      mismatches += host_words.next_u32() != static_cast<std::uint32_t>(h_words[k]);
      mismatches += h_ours_device[k] != h_curand[k];
    }
  }
  EXPECT_EQ(mismatches, 0u);
  EXPECT_EQ(sq::PhiloxState(42, 0, 0).next_uniform(), 0.612959862f);
}

}  // namespace
