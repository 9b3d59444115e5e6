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
// Subsequence `first + s` for thread s.
__global__ void curand_reference(std::uint64_t seed, std::uint64_t first, int subsequences, int draws,
                                 std::uint64_t offset, float* uniforms, unsigned* words) {
  const int s = blockIdx.x * blockDim.x + threadIdx.x;
  if (s >= subsequences) return;
  curandStatePhilox4_32_10_t state;
  curand_init(seed, first + s, offset, &state);
  for (int i = 0; i < draws; ++i) uniforms[s * draws + i] = curand_uniform(&state);
  curand_init(seed, first + s, offset, &state);
  for (int i = 0; i < draws; ++i) words[s * draws + i] = curand(&state);
}

__global__ void sq_philox_on_device(std::uint64_t seed, std::uint64_t first, int subsequences, int draws,
                                    std::uint64_t offset, float* uniforms) {
  const int s = blockIdx.x * blockDim.x + threadIdx.x;
  if (s >= subsequences) return;
  for (int i = 0; i < draws; ++i) uniforms[s * draws + i] = sq::philox_uniform_at(seed, first + s, offset + i);
}

// Host Philox (uniforms and raw words) and sq's device Philox against cuRAND for subsequences first..first+n-1
// at `offset`: the number of outputs that differ.
std::size_t philox_mismatches(std::uint64_t seed, std::uint64_t first, int subsequences, int draws,
                              std::uint64_t offset) {
  const std::size_t n = static_cast<std::size_t>(subsequences) * draws;
  sq::Tensor d_uniforms({static_cast<std::int64_t>(n)}, sq::DType::f32, sq::Device::cuda(0));
  sq::Tensor d_words({static_cast<std::int64_t>(n)}, sq::DType::i32, sq::Device::cuda(0));
  sq::Tensor d_ours({static_cast<std::int64_t>(n)}, sq::DType::f32, sq::Device::cuda(0));
  curand_reference<<<(subsequences + 127) / 128, 128>>>(seed, first, subsequences, draws, offset,
                                                        d_uniforms.data<float>(),
                                                        reinterpret_cast<unsigned*>(d_words.data<std::int32_t>()));
  SQ_CUDA_CHECK_LAUNCH();
  sq_philox_on_device<<<(subsequences + 127) / 128, 128>>>(seed, first, subsequences, draws, offset,
                                                           d_ours.data<float>());
  SQ_CUDA_CHECK_LAUNCH();
  SQ_CUDA_CHECK(cudaDeviceSynchronize());
  const std::vector<float> h_curand = d_uniforms.to_vector<float>();
  const std::vector<std::int32_t> h_words = d_words.to_vector<std::int32_t>();
  const std::vector<float> h_ours_device = d_ours.to_vector<float>();
  std::size_t mismatches = 0;
  for (int s = 0; s < subsequences; ++s) {
    sq::PhiloxState host(seed, first + s, offset);
    sq::PhiloxState host_words(seed, first + s, offset);
    for (int i = 0; i < draws; ++i) {
      const std::size_t k = static_cast<std::size_t>(s) * draws + i;
      mismatches += host.next_uniform() != h_curand[k];
      mismatches += host_words.next_u32() != static_cast<std::uint32_t>(h_words[k]);
      mismatches += h_ours_device[k] != h_curand[k];
    }
  }
  return mismatches;
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
  // 4096 subsequences x 256 draws = 1,048,576 outputs; the unaligned offset exercises the block position.
  EXPECT_EQ(philox_mismatches(0x5eedull << 20, 0, 4096, 256, 3), 0u);
  EXPECT_EQ(sq::PhiloxState(42, 0, 0).next_uniform(), 0.612959862f);
  EXPECT_EQ(sq::PhiloxState(42, 1, 0).next_uniform(), 0.0100588445f);
}

// SQ draws use subsequences up to 2^63 and offsets past 2^32: the high words of both must match cuRAND's too.
TEST(CoreGpu, HostPhiloxMatchesCurandAtHighSubsequencesAndOffsets) {
  SQ_REQUIRE_GPU();
  const std::uint64_t high_subsequence = ((std::uint64_t{1} << 40) + 5) << 16;
  const std::uint64_t high_offset = (std::uint64_t{1} << 34) + 3;
  EXPECT_EQ(philox_mismatches(42, high_subsequence, 512, 64, high_offset), 0u);
  EXPECT_EQ(philox_mismatches(7, (std::uint64_t{1} << 63) - 256, 256, 64, 5), 0u);
  EXPECT_EQ(philox_mismatches(7, 12345, 256, 64, (std::uint64_t{1} << 40) + 1), 0u);
}

}  // namespace
