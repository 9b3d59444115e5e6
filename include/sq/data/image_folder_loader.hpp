// ImageFolderLoader: a BatchSource that streams an ImageList from disk. A pool of host threads reads, decodes
// (libjpeg-turbo, DCT-scaled), crops, flips and normalises samples into a ring of host batches; on a GPU each batch
// is copied to the device on a copy stream and the compute stream waits on an event (never the host). On the CPU
// the host batch is the batch. docs/IMAGENET.md.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "sq/core/stream.hpp"
#include "sq/data/batch_source.hpp"
#include "sq/data/image_folder.hpp"
#include "sq/data/image_transform.hpp"

namespace sq::data {

enum class OnBadImage { skip, fail };

struct ImageLoaderOptions {
  ImageTransformOptions transform;
  int batch = 256;
  std::uint64_t seed = 1;
  bool shuffle = true;  // training: shuffled order, partial batch dropped; evaluation: file order, all samples
  int threads = 0;      // decode threads; 0: default_loader_threads()
  int prefetch = 3;     // host batches in the ring (>= 2; one is the batch handed out)
  // A file that cannot be read or decoded: skip (reported once on stderr with its path and why; the sample is
  // replaced by the next decodable one of the epoch order) or fail (sq::Error naming the file).
  OnBadImage on_bad_image = OnBadImage::skip;
};

// The number of cores, less one on a GPU run (the training thread feeds the device), at least 1.
int default_loader_threads(bool gpu);

class ImageFolderLoader : public BatchSource {
 public:
  ImageFolderLoader(ImageList list, Device device, ImageLoaderOptions options, StreamHandle stream = nullptr);
  ~ImageFolderLoader() override;
  ImageFolderLoader(const ImageFolderLoader&) = delete;
  ImageFolderLoader& operator=(const ImageFolderLoader&) = delete;

  void start_epoch(std::uint64_t epoch) override;
  const Batch* next() override;
  bool skip() override;
  void skip_batches(std::int64_t batches) override;  // moves the position; the skipped batches are never decoded
  void set_shard(int rank, int world) override;
  std::int64_t samples() const override { return list_.size(); }
  int batch_size() const override { return options_.batch; }
  std::int64_t batches_per_epoch() const override;
  Shape image_shape() const override;
  int classes() const override { return static_cast<int>(list_.classes.size()); }
  int threads() const { return static_cast<int>(workers_.size()); }
  // Paths reported as undecodable so far (skip mode).
  std::vector<std::string> bad_images() const;

 private:
  struct Slot;
  struct DeviceBuffers;
  void restart(std::uint64_t epoch, std::int64_t first_batch);
  void worker_main();
  void build_sample(std::int64_t batch, int row, Slot& slot, std::vector<std::uint8_t>& bytes, RgbImage& image,
                    JpegDecoder& decoder);
  std::int64_t rows_of(std::int64_t batch) const;
  void make_batch_views();

  ImageList list_;
  Device device_;
  ImageLoaderOptions options_;
  [[maybe_unused]] StreamHandle stream_;  // the compute stream (CUDA builds)
  std::vector<std::int32_t> order_;       // the epoch's order (identity without shuffle)
  std::vector<std::unique_ptr<Slot>> slots_;
  std::unique_ptr<DeviceBuffers> device_buffers_;

  mutable std::mutex mutex_;
  std::condition_variable work_cv_, ready_cv_;
  std::vector<std::thread> workers_;
  bool stopping_ = false;
  std::uint64_t epoch_ = 0;
  bool started_ = false;
  std::int64_t produce_batch_ = 0;  // next task: sample produce_row_ of batch produce_batch_
  int produce_row_ = 0;
  std::int64_t next_batch_ = 0;  // the batch next() returns
  std::int64_t in_flight_ = 0;   // tasks being executed
  std::exception_ptr error_;
  int shard_rank_ = 0, shard_world_ = 1;
  std::set<std::string> bad_;
};

}  // namespace sq::data
