// BatchSource: what the trainer and the run loop take batches from. Two implementations: BatchLoader (the whole
// data set resident on the device, CIFAR / Fashion-MNIST) and ImageFolderLoader (JPEG folders streamed from disk by
// host threads, ImageNet; docs/IMAGENET.md).
#pragma once

#include <cstdint>

#include "sq/core/tensor.hpp"

namespace sq::data {

// A batch: views of the source's buffers, valid until the source's next batch is requested.
struct Batch {
  Tensor images;  // f32 [size, C, out_height, out_width] on the source's device
  Tensor labels;  // i32 [size]
  std::int64_t size = 0;
  std::int64_t index = 0;  // batch number within the epoch
};

// Epoch contract shared by every source: start_epoch(e) fixes the order and the augmentation draws of epoch e
// (functions of (seed, e, sample index) only) and rewinds; next() returns the epoch's batches in order, then nullptr.
// Shuffling sources drop the last partial batch (equal shapes); evaluation sources return it, smaller.
class BatchSource {
 public:
  BatchSource() = default;
  BatchSource(const BatchSource&) = default;
  BatchSource(BatchSource&&) = default;
  BatchSource& operator=(const BatchSource&) = default;
  BatchSource& operator=(BatchSource&&) = default;
  virtual ~BatchSource() = default;
  virtual void start_epoch(std::uint64_t epoch) = 0;
  virtual const Batch* next() = 0;
  // Passes over the next batch without building it (an evaluation batch another rank takes); false at the end.
  virtual bool skip() = 0;
  // Moves past `batches` batches of the current epoch without building them (a resumed run's position).
  virtual void skip_batches(std::int64_t batches) {
    for (std::int64_t i = 0; i < batches && skip(); ++i) {
    }
  }
  // Data parallelism (shuffling sources; docs/DISTRIBUTED.md): batch_size() stays the global batch and next()
  // returns this rank's rows [rank * B / world, (rank + 1) * B / world) of each global batch. B % world == 0.
  virtual void set_shard(int rank, int world) = 0;
  virtual std::int64_t samples() const = 0;
  virtual int batch_size() const = 0;
  virtual std::int64_t batches_per_epoch() const = 0;
  virtual Shape image_shape() const = 0;  // [batch, C, out_height, out_width]
  virtual int classes() const = 0;
};

}  // namespace sq::data
