// The batch sources of a run, chosen by data.dataset: resident BatchLoaders (CIFAR, Fashion-MNIST) or streaming
// ImageFolderLoaders (imagenet, image-folder). The run loop only sees data::BatchSource.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "sq/core/stream.hpp"
#include "sq/data/batch_source.hpp"
#include "sq/data/dataset.hpp"
#include "sq/train/run_config.hpp"

namespace sq::train::detail {

struct RunData {
  std::unique_ptr<data::BatchSource> train, test;
  // BN recalibration: training images and augmentation, its own position and a fixed seed (run seed +
  // kBnRecalibrationSeed), so every evaluation recalibrates over the same images.
  std::unique_ptr<data::BatchSource> recalibrate;
  int channels = 3;
  int classes = 0;
  int image_size = 32;
  std::int64_t train_size = 0, test_size = 0;
  // The resident sets (empty for streamed ones): CPU BatchLoaders view their storage.
  data::Dataset train_set, test_set;
};

RunData make_run_data(const RunConfig& config, Device device, StreamHandle stream);

}  // namespace sq::train::detail
