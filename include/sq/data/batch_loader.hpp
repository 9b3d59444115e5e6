// BatchLoader: holds a data set resident on its device (uint8) and builds training or evaluation batches there,
// one launch per batch (gather + augment + normalise into f32 [B, C, H, W]), into buffers it owns.
#pragma once

#include <cstdint>
#include <vector>

#include "sq/core/stream.hpp"
#include "sq/core/tensor.hpp"
#include "sq/data/augment.hpp"
#include "sq/data/batch_source.hpp"
#include "sq/data/dataset.hpp"

namespace sq::data {

// Usage:
//   BatchLoader train(data, device, cifar_augmentation(true), norm, 128, seed, /*shuffle=*/true, ctx.stream);
//   for (epoch...) { train.start_epoch(epoch); while (const Batch* b = train.next()) step(b->images, b->labels); }
//
// Epoch order: shuffle = true draws a permutation of the samples from (seed, epoch) on the host in start_epoch()
// (one copy to the device per epoch, outside the steps); shuffle = false keeps the data set order (evaluation).
// Last partial batch: with shuffle (training) it is dropped, so every step has the same shape (graph capture) and
// the dropped samples differ per epoch; without shuffle (evaluation) it is returned, smaller, so every sample is
// seen exactly once. Pick an evaluation batch that divides the test set (100, 200, 500, 1000 divide 10000) for
// equal shapes throughout.
// Augmentation draws depend on (seed, epoch, sample index), never on the batch or device: the CPU and a GPU
// build the same batches bit for bit.
// On a GPU next() only launches work on `stream` (no sync, no allocation); the batch is ready in stream order, so
// consume it on the same stream. On the CPU next() builds the batch before returning.
class BatchLoader : public BatchSource {
 public:
  BatchLoader(const Dataset& data, Device device, AugmentOptions augment, const Normalization& normalization, int batch,
              std::uint64_t seed, bool shuffle, StreamHandle stream = nullptr);

  // Sets the epoch's order (and augmentation draws); rewinds to the first batch. Host work plus one copy.
  void start_epoch(std::uint64_t epoch) override;
  // Builds the next batch of the epoch; nullptr when the epoch is over (call start_epoch again).
  const Batch* next() override;
  // The same, as views assigned to the caller's tensors; false when the epoch is over.
  bool next(Tensor& images, Tensor& labels);
  // Passes over the next batch without building it (an evaluation batch another rank takes); false at the end.
  bool skip() override;

  // Data parallelism (shuffling loaders; docs/DISTRIBUTED.md): batch_size() stays the global batch, and next()
  // builds this rank's rows [rank * B / world, (rank + 1) * B / world) of each global batch of the same epoch
  // order, so the images of a global step do not depend on the world size. B % world must be 0.
  void set_shard(int rank, int world) override;
  int shard_rank() const { return shard_rank_; }
  int shard_world() const { return shard_world_; }

  std::int64_t samples() const override { return samples_; }
  int batch_size() const override { return batch_; }
  std::int64_t batches_per_epoch() const override;
  std::int64_t samples_per_epoch() const;  // samples seen in one epoch (drops the partial batch when shuffling)
  Shape image_shape() const override;      // [batch, C, out_height, out_width]
  int classes() const override { return classes_; }
  Device device() const { return device_; }
  std::uint64_t epoch() const { return epoch_; }
  const std::vector<std::int32_t>& order() const { return order_host_; }  // the epoch's order (empty: identity)

 private:
  Device device_;
  detail::AugmentGeometry geometry_;
  detail::PixelNormalization normalization_;
  int batch_;
  std::uint64_t seed_;
  bool shuffle_;
  [[maybe_unused]] StreamHandle stream_;  // used by the CUDA path only (CPU-only builds never read it)
  std::int64_t samples_;
  int classes_;

  Tensor images_;  // u8 [N, C, H, W] resident on device_
  Tensor labels_;  // i32 [N]
  Tensor order_;   // i32 [N] on device_ (shuffle only)
  std::vector<std::int32_t> order_host_;
  Tensor batch_images_;  // f32 [batch, C, OH, OW]
  Tensor batch_labels_;  // i32 [batch]
  Batch full_, tail_;    // views prepared once: next() allocates nothing

  int shard_rank_ = 0, shard_world_ = 1;

  std::uint64_t epoch_ = 0;
  std::int64_t next_batch_ = 0;
  bool started_ = false;
};

}  // namespace sq::data
