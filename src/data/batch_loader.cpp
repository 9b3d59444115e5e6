// BatchLoader: the data set resident on the device, the epoch order, and one batch-building launch per batch.
#include "sq/data/batch_loader.hpp"

#include "cpu/augment.hpp"
#include "sq/config.hpp"

#if SQ_WITH_CUDA
#include "augment.cuh"
#include "sq/core/cuda_check.hpp"
#endif

namespace sq::data {

BatchLoader::BatchLoader(const Dataset& data, Device device, AugmentOptions augment, const Normalization& normalization,
                         int batch, std::uint64_t seed, bool shuffle, StreamHandle stream)
    : device_(device), batch_(batch), seed_(seed), shuffle_(shuffle), stream_(stream) {
  SQ_CHECK(data.images.ndim() == 4 && data.images.dtype() == DType::u8,
           "BatchLoader: " << data.name << " images must be u8 [N, C, H, W], got " << shape_str(data.images.shape())
                           << " " << dtype_name(data.images.dtype()));
  samples_ = data.size();
  SQ_CHECK(data.labels.dtype() == DType::i32 && data.labels.shape() == Shape{samples_},
           "BatchLoader: " << data.name << " labels must be i32 [" << samples_ << "]");
  SQ_CHECK(samples_ > 0 && samples_ <= INT32_MAX, "BatchLoader: " << data.name << " has " << samples_ << " samples");
  SQ_CHECK(batch > 0, "BatchLoader: batch size must be positive, got " << batch);
  SQ_CHECK(!shuffle || batch <= samples_, "BatchLoader: batch " << batch << " exceeds the " << samples_
                                                                << " samples of " << data.name
                                                                << " (every batch would be dropped)");
  classes_ = data.classes;
  geometry_ = augment_geometry(data.channels(), data.height(), data.width(), augment);
  normalization_ = pixel_normalization(normalization, data.channels());

  // Resident copy: on the CPU a view shares the data set's storage; on a GPU one upload, here and never again.
  images_ = device.is_cpu() && data.images.device().is_cpu() ? data.images.view(0, data.images.shape())
                                                             : data.images.to(device);
  labels_ = data.labels.to(device);
  {
    // Labels are range-checked once here, so a batch never carries a label the loss cannot index.
    const std::vector<std::int32_t> host_labels = data.labels.to_vector<std::int32_t>();
    for (std::int64_t i = 0; i < samples_; ++i) {
      SQ_CHECK(host_labels[i] >= 0 && host_labels[i] < classes_, "BatchLoader: " << data.name << " sample " << i
                                                                                 << " has label " << host_labels[i]
                                                                                 << ", expected 0.." << classes_ - 1);
    }
  }
  if (shuffle_) order_ = Tensor({samples_}, DType::i32, device);
  const Shape shape = {batch_, geometry_.channels, geometry_.out_height, geometry_.out_width};
  batch_images_ = Tensor(shape, DType::f32, device);
  batch_labels_ = Tensor({batch_}, DType::i32, device);
  full_.images = batch_images_.view(0, shape);
  full_.labels = batch_labels_.view(0, {batch_});
  full_.size = batch_;
  const std::int64_t tail = samples_ % batch_;
  if (!shuffle_ && tail > 0) {
    tail_.images = batch_images_.view(0, {tail, shape[1], shape[2], shape[3]});
    tail_.labels = batch_labels_.view(0, {tail});
    tail_.size = tail;
  }
}

std::int64_t BatchLoader::batches_per_epoch() const {
  return shuffle_ ? samples_ / batch_ : (samples_ + batch_ - 1) / batch_;
}

std::int64_t BatchLoader::samples_per_epoch() const {
  return shuffle_ ? samples_ / batch_ * batch_ : samples_;
}

Shape BatchLoader::image_shape() const {
  return {batch_, geometry_.channels, geometry_.out_height, geometry_.out_width};
}

void BatchLoader::start_epoch(std::uint64_t epoch) {
  epoch_ = epoch;
  next_batch_ = 0;
  started_ = true;
  if (!shuffle_) return;
  order_host_ = epoch_permutation(samples_, seed_, epoch);
  if (device_.is_cpu()) {
    copy_bytes(order_.raw(), device_, order_host_.data(), Device::cpu(), order_.bytes());
    return;
  }
#if SQ_WITH_CUDA
  // In stream order: the previous epoch's last batches (still reading order_) finish before it is overwritten.
  // cudaMemcpyAsync from pageable memory returns once the source is staged, so order_host_ may change afterwards.
  SQ_CUDA_CHECK(cudaMemcpyAsync(order_.raw(), order_host_.data(), order_.bytes(), cudaMemcpyHostToDevice,
                                static_cast<cudaStream_t>(stream_)));
#endif
}

const Batch* BatchLoader::next() {
  SQ_CHECK(started_, "BatchLoader::next before start_epoch");
  if (next_batch_ >= batches_per_epoch()) return nullptr;
  Batch& out = next_batch_ * batch_ + batch_ <= samples_ ? full_ : tail_;
  out.index = next_batch_;
  const std::int64_t first = next_batch_ * batch_ + (out.size * shard_rank_);  // out.size: B / world when sharded
  const std::int32_t* order = shuffle_ ? order_.data<std::int32_t>() : nullptr;
  const int rows = static_cast<int>(out.size);
  if (device_.is_cpu()) {
    cpu::augment_batch(batch_images_.data<float>(), batch_labels_.data<std::int32_t>(), images_.data<std::uint8_t>(),
                       labels_.data<std::int32_t>(), order, first, rows, geometry_, normalization_, seed_, epoch_);
  } else {
#if SQ_WITH_CUDA
    SQ_CUDA_CHECK(cudaSetDevice(device_.index));
    cuda::augment_batch(batch_images_.data<float>(), batch_labels_.data<std::int32_t>(), images_.data<std::uint8_t>(),
                        labels_.data<std::int32_t>(), order, first, rows, geometry_, normalization_, seed_, epoch_,
                        static_cast<cudaStream_t>(stream_));
#else
    SQ_FAIL("BatchLoader on " << device_.str() << " in a build without CUDA");
#endif
  }
  ++next_batch_;
  return &out;
}

bool BatchLoader::skip() {
  SQ_CHECK(started_, "BatchLoader::skip before start_epoch");
  if (next_batch_ >= batches_per_epoch()) return false;
  ++next_batch_;
  return true;
}

void BatchLoader::set_shard(int rank, int world) {
  SQ_CHECK(shuffle_, "BatchLoader::set_shard: evaluation loaders are split by batches (skip()), not rows");
  SQ_CHECK(world >= 1 && rank >= 0 && rank < world, "BatchLoader::set_shard: rank " << rank << " of " << world);
  SQ_CHECK(batch_ % world == 0, "the global batch " << batch_ << " does not split into " << world
                                                    << " equal per-rank batches: pick a batch that is a multiple of "
                                                       "the number of ranks");
  shard_rank_ = rank;
  shard_world_ = world;
  const std::int64_t local = batch_ / world;
  const Shape shape = image_shape();
  full_.images = batch_images_.view(0, {local, shape[1], shape[2], shape[3]});
  full_.labels = batch_labels_.view(0, {local});
  full_.size = local;
}

bool BatchLoader::next(Tensor& images, Tensor& labels) {
  const Batch* batch = next();
  if (!batch) return false;
  images = batch->images.view(0, batch->images.shape());
  labels = batch->labels.view(0, batch->labels.shape());
  return true;
}

}  // namespace sq::data
