// Batch building on the GPU against the CPU twin: the same loader settings give the same batches bit for bit
// (augmented CIFAR-like and Fashion-MNIST-like data, training and evaluation, several epochs).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "sq/data/batch_loader.hpp"
#include "support/gpu.hpp"
#include "support/random_dataset.hpp"

namespace {

using sq::test::random_dataset;

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Runs the same epochs through a CPU and a GPU loader and compares every batch bit for bit. The GPU batch buffers
// (images NaN, labels -1) are poisoned before every build, the first of each epoch and the partial one included,
// so an element the kernels fail to write shows up.
void expect_parity(const sq::data::Dataset& data, const sq::data::AugmentOptions& augment, int batch, bool shuffle,
                   std::uint64_t seed) {
  const sq::data::Normalization norm = sq::data::compute_normalization(data);
  sq::data::BatchLoader cpu(data, sq::Device::cpu(), augment, norm, batch, seed, shuffle);
  sq::data::BatchLoader gpu(data, sq::Device::cuda(0), augment, norm, batch, seed, shuffle);
  const sq::Shape full_shape = gpu.image_shape();
  const sq::Tensor poison_images =
      sq::Tensor::from_vector(std::vector<float>(static_cast<std::size_t>(sq::shape_numel(full_shape)),
                                                 std::numeric_limits<float>::quiet_NaN()),
                              full_shape);
  const sq::Tensor poison_labels = sq::Tensor::from_vector(std::vector<std::int32_t>(batch, -1), {batch});
  // The loader's own buffers, as full-size views (every batch, the tail one too, is a prefix of them).
  gpu.start_epoch(0);
  const sq::data::Batch* first = gpu.next();
  ASSERT_NE(first, nullptr);
  ASSERT_EQ(first->size, batch) << "the data set must hold at least one full batch";
  sq::Tensor buffer_images = first->images.view(0, full_shape);
  sq::Tensor buffer_labels = first->labels.view(0, {batch});
  for (std::uint64_t epoch : {0u, 1u, 9u}) {
    cpu.start_epoch(epoch);
    gpu.start_epoch(epoch);
    ASSERT_EQ(cpu.order(), gpu.order());
    std::int64_t batches = 0;
    while (const sq::data::Batch* c = cpu.next()) {
      buffer_images.copy_from(poison_images);
      buffer_labels.copy_from(poison_labels);
      const sq::data::Batch* g = gpu.next();
      ASSERT_NE(g, nullptr);
      ASSERT_EQ(g->images.raw(), buffer_images.raw()) << "the loader builds every batch into the same buffer";
      ASSERT_EQ(g->size, c->size);
      ASSERT_EQ(g->images.shape(), c->images.shape());
      const std::vector<float> h_gpu = g->images.to_vector<float>();
      const std::vector<float> h_cpu = c->images.to_vector<float>();
      ASSERT_TRUE(same_bits(h_cpu, h_gpu)) << "epoch " << epoch << " batch " << batches;
      ASSERT_EQ(g->labels.to_vector<std::int32_t>(), c->labels.to_vector<std::int32_t>());
      for (float v : h_gpu) ASSERT_TRUE(std::isfinite(v));
      ++batches;
    }
    EXPECT_EQ(gpu.next(), nullptr);
    EXPECT_EQ(batches, cpu.batches_per_epoch());
  }
}

TEST(DataGpu, CifarTrainingBatchesMatchTheCpuBitForBit) {
  SQ_REQUIRE_GPU();
  expect_parity(random_dataset(517, 3, 32, 32, 10, 1), sq::data::cifar_augmentation(true), 64, true, 12345);
}

TEST(DataGpu, CifarEvaluationBatchesMatchIncludingThePartialBatch) {
  SQ_REQUIRE_GPU();
  expect_parity(random_dataset(517, 3, 32, 32, 100, 2), sq::data::cifar_augmentation(false), 100, false, 1);
}

TEST(DataGpu, FashionMnistPaddedAndAugmentedBatchesMatch) {
  SQ_REQUIRE_GPU();
  const sq::data::Dataset data = random_dataset(300, 1, 28, 28, 10, 3);
  expect_parity(data, sq::data::fashion_mnist_augmentation(), 32, true, 7);
  expect_parity(data, sq::data::fashion_mnist_augmentation(true, true), 32, true, 8);
}

TEST(DataGpu, NoHostSyncNeededBetweenBatchesOnAStream) {
  SQ_REQUIRE_GPU();
  // Many batches queued back to back on the default stream, read once at the end: the last one is still right.
  const sq::data::Dataset data = random_dataset(2048, 3, 32, 32, 10, 4);
  const sq::data::Normalization norm = sq::data::compute_normalization(data);
  sq::data::BatchLoader cpu(data, sq::Device::cpu(), sq::data::cifar_augmentation(true), norm, 128, 5, true);
  sq::data::BatchLoader gpu(data, sq::Device::cuda(0), sq::data::cifar_augmentation(true), norm, 128, 5, true);
  for (std::uint64_t epoch = 0; epoch < 3; ++epoch) {
    cpu.start_epoch(epoch);
    gpu.start_epoch(epoch);
    const sq::data::Batch* c = nullptr;
    const sq::data::Batch* g = nullptr;
    while (const sq::data::Batch* next = cpu.next()) c = next;
    while (const sq::data::Batch* next = gpu.next()) g = next;
    ASSERT_TRUE(c && g);
    EXPECT_TRUE(same_bits(c->images.to_vector<float>(), g->images.to_vector<float>())) << "epoch " << epoch;
  }
}

}  // namespace
