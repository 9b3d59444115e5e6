// The streaming loader: a ring of host batches filled sample by sample by a thread pool; on a GPU, uploads on a
// copy stream ordered by events (the compute stream waits on the device, the host never waits for the GPU).
#include "sq/data/image_folder_loader.hpp"

#include <algorithm>
#include <iostream>

#include "sq/config.hpp"
#include "sq/core/error.hpp"
#include "sq/data/augment.hpp"

#if SQ_WITH_CUDA
#include <cuda_runtime.h>

#include "sq/core/cuda_check.hpp"
#endif

namespace sq::data {

// One host batch of the ring: f32 images and i32 labels (page-locked on a GPU run), and its fill state.
struct ImageFolderLoader::Slot {
  Tensor images, labels;
  Batch full, tail;  // views of the host buffers (the CPU path returns them)
  std::int64_t batch = -1;
  std::int64_t remaining = 0;
  bool pinned = false;
#if SQ_WITH_CUDA
  cudaEvent_t uploaded = nullptr;  // recorded after the copy that reads this slot
#endif
};

// GPU: two device batches (the one a step reads, the one being uploaded), the copy stream and the events.
struct ImageFolderLoader::DeviceBuffers {
  Tensor images[2], labels[2];
  Batch full[2], tail[2];
#if SQ_WITH_CUDA
  cudaStream_t copy = nullptr;
  cudaEvent_t ready[2] = {nullptr, nullptr};     // upload into buffer i done (copy stream)
  cudaEvent_t consumed[2] = {nullptr, nullptr};  // compute stream past the step that read buffer i
#endif
};

int default_loader_threads(bool gpu) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, gpu ? cores - 1 : cores);
}

namespace {
void make_views(const Tensor& images, const Tensor& labels, int batch, std::int64_t tail_rows, Batch& full,
                Batch& tail) {
  const Shape shape = images.shape();
  full.images = images.view(0, {batch, shape[1], shape[2], shape[3]});
  full.labels = labels.view(0, {batch});
  full.size = batch;
  if (tail_rows > 0) {
    tail.images = images.view(0, {tail_rows, shape[1], shape[2], shape[3]});
    tail.labels = labels.view(0, {tail_rows});
    tail.size = tail_rows;
  }
}
}  // namespace

ImageFolderLoader::ImageFolderLoader(ImageList list, Device device, ImageLoaderOptions options, StreamHandle stream)
    : list_(std::move(list)), device_(device), options_(options), stream_(stream) {
  SQ_CHECK(jpeg_decoding_available(), list_.name << ": this build has no JPEG decoder; install libturbojpeg0-dev "
                                                 << "(scripts/common.sh does) and configure again");
  SQ_CHECK(list_.size() > 0, list_.name << ": no images");
  SQ_CHECK(list_.size() <= INT32_MAX, list_.name << ": " << list_.size() << " images exceed the loader's index range");
  SQ_CHECK(options_.batch > 0, "ImageFolderLoader: batch must be positive, got " << options_.batch);
  SQ_CHECK(!options_.shuffle || options_.batch <= list_.size(),
           list_.name << ": batch " << options_.batch << " exceeds its " << list_.size() << " images");
  SQ_CHECK(options_.transform.out_size >= 8, "ImageFolderLoader: output size " << options_.transform.out_size);
  for (std::int32_t label : list_.labels) {
    SQ_CHECK(label >= 0 && label < classes(), list_.name << ": label " << label << " outside 0.." << classes() - 1);
  }
  options_.prefetch = std::max(2, options_.prefetch);
  const int threads = options_.threads > 0 ? options_.threads : default_loader_threads(!device.is_cpu());
  const int out = options_.transform.out_size;
  const Shape shape = {options_.batch, 3, out, out};
  for (int s = 0; s < options_.prefetch; ++s) {
    auto slot = std::make_unique<Slot>();
    slot->images = Tensor(shape, DType::f32, Device::cpu());
    slot->labels = Tensor({options_.batch}, DType::i32, Device::cpu());
    slots_.push_back(std::move(slot));
  }
  if (!device.is_cpu()) {
#if SQ_WITH_CUDA
    SQ_CUDA_CHECK(cudaSetDevice(device.index));
    device_buffers_ = std::make_unique<DeviceBuffers>();
    DeviceBuffers& d = *device_buffers_;
    for (int i = 0; i < 2; ++i) {
      d.images[i] = Tensor(shape, DType::f32, device);
      d.labels[i] = Tensor({options_.batch}, DType::i32, device);
      SQ_CUDA_CHECK(cudaEventCreateWithFlags(&d.ready[i], cudaEventDisableTiming));
      SQ_CUDA_CHECK(cudaEventCreateWithFlags(&d.consumed[i], cudaEventDisableTiming));
    }
    SQ_CUDA_CHECK(cudaStreamCreateWithFlags(&d.copy, cudaStreamNonBlocking));
    for (auto& slot : slots_) {
      // Page-locked host batches: the uploads are true asynchronous DMA copies.
      SQ_CUDA_CHECK(cudaHostRegister(slot->images.raw(), slot->images.bytes(), cudaHostRegisterDefault));
      SQ_CUDA_CHECK(cudaHostRegister(slot->labels.raw(), slot->labels.bytes(), cudaHostRegisterDefault));
      slot->pinned = true;
      SQ_CUDA_CHECK(cudaEventCreateWithFlags(&slot->uploaded, cudaEventDisableTiming));
    }
#else
    SQ_FAIL("ImageFolderLoader on " << device.str() << " in a build without CUDA");
#endif
  }
  make_batch_views();
  for (int t = 0; t < threads; ++t) workers_.emplace_back([this] { worker_main(); });
}

void ImageFolderLoader::make_batch_views() {
  const int rows = options_.batch / shard_world_;
  const std::int64_t tail_rows = options_.shuffle ? 0 : list_.size() % options_.batch;
  for (auto& slot : slots_) make_views(slot->images, slot->labels, rows, tail_rows, slot->full, slot->tail);
  if (device_buffers_) {
    DeviceBuffers& d = *device_buffers_;
    for (int i = 0; i < 2; ++i) make_views(d.images[i], d.labels[i], rows, tail_rows, d.full[i], d.tail[i]);
  }
}

void ImageFolderLoader::set_shard(int rank, int world) {
  SQ_CHECK(options_.shuffle, "ImageFolderLoader::set_shard: evaluation loaders are split by batches (skip())");
  SQ_CHECK(world >= 1 && rank >= 0 && rank < world, "ImageFolderLoader::set_shard: rank " << rank << " of " << world);
  SQ_CHECK(options_.batch % world == 0,
           "the global batch " << options_.batch << " does not split into " << world << " equal parts");
  std::unique_lock<std::mutex> lock(mutex_);
  produce_batch_ = batches_per_epoch();
  ready_cv_.wait(lock, [&] { return in_flight_ == 0; });
  shard_rank_ = rank;
  shard_world_ = world;
  started_ = false;  // start_epoch again
  make_batch_views();
}

ImageFolderLoader::~ImageFolderLoader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
#if SQ_WITH_CUDA
  if (device_buffers_) {
    DeviceBuffers& d = *device_buffers_;
    cudaStreamSynchronize(d.copy);
    for (int i = 0; i < 2; ++i) {
      cudaEventDestroy(d.ready[i]);
      cudaEventDestroy(d.consumed[i]);
    }
    cudaStreamDestroy(d.copy);
  }
  for (auto& slot : slots_) {
    if (slot->pinned) {
      cudaHostUnregister(slot->images.raw());
      cudaHostUnregister(slot->labels.raw());
      cudaEventDestroy(slot->uploaded);
    }
  }
#endif
}

std::int64_t ImageFolderLoader::batches_per_epoch() const {
  const std::int64_t n = list_.size(), b = options_.batch;
  return options_.shuffle ? n / b : (n + b - 1) / b;
}

Shape ImageFolderLoader::image_shape() const {
  return {options_.batch, 3, options_.transform.out_size, options_.transform.out_size};
}

std::int64_t ImageFolderLoader::rows_of(std::int64_t batch) const {
  if (options_.shuffle) return options_.batch / shard_world_;  // full batches only; this rank's part
  return std::min<std::int64_t>(options_.batch, list_.size() - batch * options_.batch);
}

std::vector<std::string> ImageFolderLoader::bad_images() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {bad_.begin(), bad_.end()};
}

void ImageFolderLoader::restart(std::uint64_t epoch, std::int64_t first_batch) {
  std::unique_lock<std::mutex> lock(mutex_);
  // Stop handing out tasks, let the running ones finish (they write into slots about to be reused).
  produce_batch_ = batches_per_epoch();
  ready_cv_.wait(lock, [&] { return in_flight_ == 0; });
  if (!started_ || epoch != epoch_) {
    order_ = options_.shuffle ? epoch_permutation(list_.size(), options_.seed, epoch) : std::vector<std::int32_t>{};
  }
  epoch_ = epoch;
  started_ = true;
  next_batch_ = std::min(first_batch, batches_per_epoch());
  produce_batch_ = next_batch_;
  produce_row_ = 0;
  for (auto& slot : slots_) {
    slot->batch = -1;
    slot->remaining = 0;
  }
  lock.unlock();
  work_cv_.notify_all();
}

void ImageFolderLoader::start_epoch(std::uint64_t epoch) {
  restart(epoch, 0);
}

void ImageFolderLoader::skip_batches(std::int64_t batches) {
  SQ_CHECK(started_, "ImageFolderLoader::skip before start_epoch");
  restart(epoch_, next_batch_ + batches);
}

bool ImageFolderLoader::skip() {
  SQ_CHECK(started_, "ImageFolderLoader::skip before start_epoch");
  if (next_batch_ >= batches_per_epoch()) return false;
  restart(epoch_, next_batch_ + 1);
  return true;
}

void ImageFolderLoader::worker_main() {
  JpegDecoder decoder;
  std::vector<std::uint8_t> bytes;
  RgbImage image;
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    // A task: the next sample of the next batch whose slot is free. The batch next() returned last (next_batch_ - 1)
    // keeps its slot until the following call, so batches up to next_batch_ + slots - 2 may be built.
    work_cv_.wait(lock, [&] {
      return stopping_ || (started_ && produce_batch_ < batches_per_epoch() &&
                           produce_batch_ < next_batch_ + static_cast<std::int64_t>(slots_.size()) - 1 && !error_);
    });
    if (stopping_) return;
    const std::int64_t batch = produce_batch_;
    const int row = produce_row_;
    Slot& slot = *slots_[static_cast<std::size_t>(batch % static_cast<std::int64_t>(slots_.size()))];
    if (row == 0) {
      slot.batch = batch;
      slot.remaining = rows_of(batch);
    }
    if (++produce_row_ == rows_of(batch)) {
      ++produce_batch_;
      produce_row_ = 0;
    }
    ++in_flight_;
    lock.unlock();
    std::exception_ptr failure;
    try {
#if SQ_WITH_CUDA
      // The slot's previous batch may still be being copied to the device.
      if (slot.pinned) SQ_CUDA_CHECK(cudaEventSynchronize(slot.uploaded));
#endif
      build_sample(batch, row, slot, bytes, image, decoder);
    } catch (...) {
      failure = std::current_exception();
    }
    lock.lock();
    --in_flight_;
    if (failure && !error_) error_ = failure;
    if (--slot.remaining == 0 || in_flight_ == 0 || failure) ready_cv_.notify_all();
  }
}

void ImageFolderLoader::build_sample(std::int64_t batch, int row, Slot& slot, std::vector<std::uint8_t>& bytes,
                                     RgbImage& image, JpegDecoder& decoder) {
  const std::int64_t n = list_.size();
  const std::int64_t position =
      batch * options_.batch + static_cast<std::int64_t>(shard_rank_) * (options_.batch / shard_world_) + row;
  const ImageTransformOptions& t = options_.transform;
  const int out = t.out_size;
  float* chw = slot.images.data<float>() +
               static_cast<std::size_t>(row) * 3 * static_cast<std::size_t>(out) * static_cast<std::size_t>(out);
  // A bad file is replaced by the next decodable one in the epoch order (deterministic: it depends on the files).
  for (std::int64_t attempt = 0; attempt < std::min<std::int64_t>(n, 64); ++attempt) {
    const std::int64_t p = (position + attempt) % n;
    const std::int64_t sample = order_.empty() ? p : order_[static_cast<std::size_t>(p)];
    const std::string& path = list_.paths[static_cast<std::size_t>(sample)];
    std::string why;
    int width = 0, height = 0;
    bool ok = read_file_bytes(path, bytes, why) && decoder.header(bytes.data(), bytes.size(), width, height, why);
    if (ok) {
      const CropWindow full = sample_window(width, height, t, options_.seed, epoch_, sample);
      int num = 8, denom = 8;
      scale_for(full.width, full.height, out, out, num, denom);
      ok = decoder.decode(bytes.data(), bytes.size(), num, denom, image, why);
      if (ok) {
        // The window in the scaled image's pixels (libjpeg-turbo rounds the scaled size up).
        const double sx = static_cast<double>(image.width) / width, sy = static_cast<double>(image.height) / height;
        const CropWindow scaled{full.x * sx, full.y * sy, full.width * sx, full.height * sy};
        const bool flip = t.train && t.flip && random_flip(options_.seed, epoch_, sample);
        resample_normalize(image, scaled, flip, out, t, chw);
        slot.labels.data<std::int32_t>()[row] = list_.labels[static_cast<std::size_t>(sample)];
        return;
      }
    }
    if (options_.on_bad_image == OnBadImage::fail) {
      SQ_FAIL(path << ": " << why << " (pass --on-bad-image skip to skip such files)");
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (bad_.insert(path).second) {
      std::cerr << "warning: skipping " << path << ": " << why << "\n" << std::flush;
    }
  }
  SQ_FAIL(list_.name << ": no decodable image among 64 files in a row from position " << position
                     << " (see the warnings above); is this a JPEG folder?");
}

const Batch* ImageFolderLoader::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  SQ_CHECK(started_, "ImageFolderLoader::next before start_epoch");
  if (next_batch_ >= batches_per_epoch()) return nullptr;
  const std::int64_t batch = next_batch_;
  Slot& slot = *slots_[static_cast<std::size_t>(batch % static_cast<std::int64_t>(slots_.size()))];
  ready_cv_.wait(lock, [&] { return error_ || (slot.batch == batch && slot.remaining == 0); });
  if (error_) {
    std::exception_ptr e = error_;
    error_ = nullptr;
    std::rethrow_exception(e);
  }
  const bool tail = !options_.shuffle && rows_of(batch) < options_.batch;
  // The slot of the previous batch is released now (its batch was only valid until this call).
  next_batch_ = batch + 1;
  lock.unlock();
  work_cv_.notify_all();
  Batch* result = tail ? &slot.tail : &slot.full;
  if (device_buffers_) {
#if SQ_WITH_CUDA
    DeviceBuffers& d = *device_buffers_;
    const int i = static_cast<int>(batch % 2);
    const cudaStream_t compute = reinterpret_cast<cudaStream_t>(stream_);
    // The compute stream has queued every use of the previous batch's buffer by now: mark it.
    SQ_CUDA_CHECK(cudaEventRecord(d.consumed[1 - i], compute));
    // Buffer i was last read two batches ago: the upload waits for that step on the device, not here.
    SQ_CUDA_CHECK(cudaStreamWaitEvent(d.copy, d.consumed[i], 0));
    Batch& target = tail ? d.tail[i] : d.full[i];
    SQ_CUDA_CHECK(cudaMemcpyAsync(target.images.raw(), result->images.raw(), result->images.bytes(),
                                  cudaMemcpyHostToDevice, d.copy));
    SQ_CUDA_CHECK(cudaMemcpyAsync(target.labels.raw(), result->labels.raw(), result->labels.bytes(),
                                  cudaMemcpyHostToDevice, d.copy));
    SQ_CUDA_CHECK(cudaEventRecord(slot.uploaded, d.copy));
    SQ_CUDA_CHECK(cudaEventRecord(d.ready[i], d.copy));
    SQ_CUDA_CHECK(cudaStreamWaitEvent(compute, d.ready[i], 0));
    result = &target;
#endif
  }
  result->index = batch;
  return result;
}

}  // namespace sq::data
