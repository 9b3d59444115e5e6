// BatchLoader on the CPU: batches are the twin's output for the epoch's order, reproducible from the seed, shuffled
// differently per epoch, in fixed order for evaluation, with the documented last-batch policy and no reallocation.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "cpu/augment.hpp"
#include "sq/data/batch_loader.hpp"
#include "support/random_dataset.hpp"

namespace {

using sq::test::random_dataset;

std::vector<std::vector<float>> epoch_batches(sq::data::BatchLoader& loader, std::uint64_t epoch) {
  std::vector<std::vector<float>> out;
  loader.start_epoch(epoch);
  while (const sq::data::Batch* batch = loader.next()) out.push_back(batch->images.to_vector<float>());
  return out;
}

TEST(BatchLoader, TrainingBatchesFollowTheEpochOrderAndTheTwin) {
  const sq::data::Dataset data = random_dataset(103, 3, 32, 32, 10, 5);
  const sq::data::Normalization norm = sq::data::compute_normalization(data);
  sq::data::BatchLoader loader(data, sq::Device::cpu(), sq::data::cifar_augmentation(true), norm, 16, 77, true);
  EXPECT_EQ(loader.batches_per_epoch(), 6);  // 103 / 16, the partial batch dropped
  EXPECT_EQ(loader.samples_per_epoch(), 96);
  EXPECT_EQ(loader.image_shape(), (sq::Shape{16, 3, 32, 32}));
  loader.start_epoch(3);
  const std::vector<std::int32_t> order = loader.order();
  EXPECT_EQ(order, sq::data::epoch_permutation(103, 77, 3));
  const auto geometry = sq::data::augment_geometry(3, 32, 32, sq::data::cifar_augmentation(true));
  const auto pixel_norm = sq::data::pixel_normalization(norm, 3);
  const void* storage = nullptr;
  std::set<std::int32_t> seen;
  std::int64_t batches = 0;
  while (const sq::data::Batch* batch = loader.next()) {
    ASSERT_EQ(batch->size, 16);
    ASSERT_EQ(batch->index, batches);
    if (!storage) storage = batch->images.raw();
    EXPECT_EQ(batch->images.raw(), storage) << "batch buffers are reused, not reallocated";
    std::vector<float> expected(16 * 3072);
    std::vector<std::int32_t> expected_labels(16);
    sq::cpu::augment_batch(expected.data(), expected_labels.data(), data.images.data<std::uint8_t>(),
                           data.labels.data<std::int32_t>(), order.data(), batches * 16, 16, geometry, pixel_norm, 77,
                           3);
    EXPECT_EQ(batch->images.to_vector<float>(), expected);
    EXPECT_EQ(batch->labels.to_vector<std::int32_t>(), expected_labels);
    for (int b = 0; b < 16; ++b) {
      EXPECT_EQ(expected_labels[b], order[batches * 16 + b] % 10);
      EXPECT_TRUE(seen.insert(order[batches * 16 + b]).second) << "a sample came twice in one epoch";
    }
    ++batches;
  }
  EXPECT_EQ(batches, 6);
  EXPECT_EQ(loader.next(), nullptr);
}

TEST(BatchLoader, SameSeedSameBatchesOtherEpochOtherOrder) {
  const sq::data::Dataset data = random_dataset(64, 3, 32, 32, 10, 9);
  const sq::data::Normalization norm = sq::data::compute_normalization(data);
  sq::data::BatchLoader a(data, sq::Device::cpu(), sq::data::cifar_augmentation(true), norm, 8, 2024, true);
  sq::data::BatchLoader b(data, sq::Device::cpu(), sq::data::cifar_augmentation(true), norm, 8, 2024, true);
  sq::data::BatchLoader c(data, sq::Device::cpu(), sq::data::cifar_augmentation(true), norm, 8, 2025, true);
  const auto a0 = epoch_batches(a, 0);
  EXPECT_EQ(a0, epoch_batches(b, 0));
  EXPECT_EQ(epoch_batches(a, 1), epoch_batches(b, 1));
  EXPECT_EQ(epoch_batches(a, 0), a0) << "replaying an epoch gives the same batches";
  EXPECT_NE(epoch_batches(a, 1), a0);
  EXPECT_NE(epoch_batches(c, 0), a0);
  a.start_epoch(0);
  const auto order0 = a.order();
  a.start_epoch(1);
  EXPECT_NE(a.order(), order0);
}

TEST(BatchLoader, EvaluationIsInFixedOrderWithAPartialLastBatch) {
  const sq::data::Dataset data = random_dataset(23, 1, 28, 28, 10, 3);
  const sq::data::Normalization norm = sq::data::compute_normalization(data);
  sq::data::BatchLoader loader(data, sq::Device::cpu(), sq::data::fashion_mnist_augmentation(), norm, 10, 1, false);
  EXPECT_EQ(loader.batches_per_epoch(), 3);
  EXPECT_EQ(loader.samples_per_epoch(), 23);
  const auto e0 = epoch_batches(loader, 0);
  EXPECT_EQ(epoch_batches(loader, 5), e0) << "no augmentation, no shuffle: epochs are identical";
  ASSERT_EQ(e0.size(), 3u);
  EXPECT_EQ(e0[2].size(), 3u * 32 * 32);
  loader.start_epoch(0);
  std::vector<std::int32_t> labels;
  sq::Tensor images, batch_labels;
  while (loader.next(images, batch_labels)) {
    const auto l = batch_labels.to_vector<std::int32_t>();
    labels.insert(labels.end(), l.begin(), l.end());
    EXPECT_EQ(images.dim(0), batch_labels.dim(0));
    EXPECT_EQ(images.dim(2), 32);
  }
  ASSERT_EQ(labels.size(), 23u);
  for (int i = 0; i < 23; ++i) EXPECT_EQ(labels[i], i % 10);
  // Sample 21 is row 1 of the last batch; its pixel (0,0) of the 28x28 image lands at (2,2) of the 32x32 output.
  const float v = static_cast<float>(data.images.data<std::uint8_t>()[21 * 784]);
  EXPECT_EQ(e0[2][1 * 1024 + 2 * 32 + 2], (v / 255.0f - norm.mean[0]) / norm.stddev[0]);
  EXPECT_EQ(e0[2][1 * 1024 + 0], (0.0f / 255.0f - norm.mean[0]) / norm.stddev[0]);
}

TEST(BatchLoader, RejectsBadInputs) {
  sq::data::Dataset data = random_dataset(20, 3, 32, 32, 10, 1);
  const sq::data::Normalization norm = sq::data::compute_normalization(data);
  EXPECT_THROW(sq::data::BatchLoader(data, sq::Device::cpu(), {}, norm, 0, 1, true), sq::Error);
  EXPECT_THROW(sq::data::BatchLoader(data, sq::Device::cpu(), {}, norm, 21, 1, true), sq::Error);
  EXPECT_THROW(sq::data::BatchLoader(data, sq::Device::cpu(), {}, {{0.5f}, {0.2f}}, 4, 1, true), sq::Error);
  data.labels.data<std::int32_t>()[7] = 10;
  try {
    sq::data::BatchLoader loader(data, sq::Device::cpu(), {}, norm, 4, 1, true);
    ADD_FAILURE() << "a label outside 0..9 was accepted";
  } catch (const sq::Error& e) {
    EXPECT_NE(e.message().find("sample 7 has label 10"), std::string::npos) << e.message();
  }
  sq::data::BatchLoader loader(random_dataset(20, 3, 32, 32, 10, 1), sq::Device::cpu(), {}, norm, 4, 1, true);
  EXPECT_THROW(loader.next(), sq::Error);  // before start_epoch
}

}  // namespace
