// Data sets in their published formats (CIFAR-10/100 binary, IDX as Fashion-MNIST ships it), read strictly:
// every size, count, magic number and label is validated before the data is trusted.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sq/core/tensor.hpp"

namespace sq::data {

// A labelled image set held on the host: images u8 [N, C, H, W] (CHW planes, as CIFAR stores them), labels i32 [N].
struct Dataset {
  Tensor images;
  Tensor labels;
  int classes = 0;
  std::string name;  // e.g. "cifar10-train", for logs and messages

  std::int64_t size() const { return images.ndim() == 4 ? images.dim(0) : 0; }
  int channels() const { return static_cast<int>(images.dim(1)); }
  int height() const { return static_cast<int>(images.dim(2)); }
  int width() const { return static_cast<int>(images.dim(3)); }
  std::vector<std::int64_t> class_counts() const;  // images per class, [classes]
};

// Where Debian's dataset-fashion-mnist package installs the four .gz IDX files.
inline constexpr const char* kFashionMnistDefaultDir = "/usr/share/datasets/fashion-mnist";

// CIFAR-10 binary version: data_batch_1..5.bin (train) or test_batch.bin (test) in `dir`, or in
// `dir`/cifar-10-batches-bin (the folder the archive extracts to). 50000 / 10000 images, 3x32x32, 10 classes.
Dataset load_cifar10(const std::string& dir, bool train);

// CIFAR-100 binary version: train.bin or test.bin in `dir` or `dir`/cifar-100-binary. Records hold the coarse
// label (20 classes) then the fine label (100 classes); `fine` picks which one becomes the label.
Dataset load_cifar100(const std::string& dir, bool train, bool fine = true);

// Fashion-MNIST: {train,t10k}-{images-idx3,labels-idx1}-ubyte, raw or .gz, in `dir`. 60000 / 10000 images, 1x28x28,
// 10 classes. Counts are checked against the published ones, so a short copy is an error, not a smaller data set.
Dataset load_fashion_mnist(const std::string& dir = kFashionMnistDefaultDir, bool train = true);

// Samples [first, first + count) as a new data set (a copy; e.g. a small CPU run on the first 5000 images).
Dataset slice(const Dataset& data, std::int64_t first, std::int64_t count);

// The building blocks of the loaders above, for other files in the same formats.

// CIFAR binary records: per record `label_bytes` label bytes then C*H*W = 3*32*32 pixel bytes. `label_index` picks
// the label byte that becomes the label; every label byte is range-checked (label_classes[i] for byte i).
struct CifarRecordFormat {
  std::string dataset;                    // "CIFAR-10" or "CIFAR-100", for messages
  std::vector<int> label_classes;         // classes of each label byte: {10} or {20, 100}
  int label_index = 0;                    // which label byte is the label
  std::int64_t records_per_file = 10000;  // every published file has a fixed record count
};
Dataset load_cifar_files(const std::vector<std::string>& files, const CifarRecordFormat& format, std::string name);

// IDX (MNIST format) pair: images u8 [N, rows, cols] (magic 0x00000803) and labels u8 [N] (magic 0x00000801), raw or
// gzip-compressed (decided by the file's content, not its name). `expected_count` < 0 accepts any count.
Dataset load_idx(const std::string& images_path, const std::string& labels_path, int classes, std::string name,
                 std::int64_t expected_count = -1);

// The path of an IDX file given without .gz: the raw file if present, else the .gz one; for messages, the raw name.
std::string find_idx_file(const std::string& dir, const std::string& base_name);

}  // namespace sq::data
