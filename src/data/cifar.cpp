// CIFAR-10 / CIFAR-100 binary version readers: fixed-size records, every file's size and every label checked.
#include <cstring>
#include <filesystem>
#include <vector>

#include "data/byte_source.hpp"
#include "sq/data/dataset.hpp"

namespace sq::data {

namespace {
constexpr int kCifarChannels = 3, kCifarSide = 32;
constexpr std::int64_t kCifarPixels = kCifarChannels * kCifarSide * kCifarSide;  // 3072: R plane, G plane, B plane

std::string cifar_remedy(const std::string& dataset) {
  return "the " + dataset +
         " binary version is expected (see https://www.cs.toronto.edu/~kriz/cifar.html); run "
         "scripts/get-cifar.sh DIR to download and verify it, then pass --data DIR/" +
         (dataset == "CIFAR-10" ? "cifar-10-batches-bin" : "cifar-100-binary");
}

// `dir` itself when it holds `probe`, else `dir`/`subfolder` when that does (the folder the archive extracts to).
std::string resolve_dir(const std::string& dir, const std::string& subfolder, const std::string& probe) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(fs::path(dir) / probe, ec)) return dir;
  if (fs::exists(fs::path(dir) / subfolder / probe, ec)) return (fs::path(dir) / subfolder).string();
  return dir;  // the reader reports the missing file in `dir`
}
}  // namespace

Dataset load_cifar_files(const std::vector<std::string>& files, const CifarRecordFormat& format, std::string name) {
  const int label_bytes = static_cast<int>(format.label_classes.size());
  SQ_CHECK(
      label_bytes > 0 && format.label_index >= 0 && format.label_index < label_bytes,
      "CIFAR record format: label_index " << format.label_index << " outside the " << label_bytes << " label bytes");
  SQ_CHECK(!files.empty() && format.records_per_file > 0, "CIFAR: no files or no records to read");
  const std::string remedy = cifar_remedy(format.dataset);
  const std::int64_t record_bytes = label_bytes + kCifarPixels;
  const std::uint64_t file_bytes = static_cast<std::uint64_t>(record_bytes * format.records_per_file);

  // Check every file before reading any: a wrong folder fails fast, naming the first bad file.
  for (const std::string& path : files) {
    const std::uint64_t size = detail::checked_file_size(path, format.dataset, remedy);
    if (size != file_bytes) {
      SQ_FAIL(format.dataset << " file " << path << " has " << size << " bytes, expected " << file_bytes << " ("
                             << format.records_per_file << " records of " << label_bytes << " label byte"
                             << (label_bytes > 1 ? "s" : "") << " + " << kCifarPixels << " pixel bytes): "
                             << (size < file_bytes ? "truncated" : "oversized or a different format") << "; "
                             << remedy);
    }
  }

  const std::int64_t n = format.records_per_file * static_cast<std::int64_t>(files.size());
  Dataset data;
  data.images = Tensor({n, kCifarChannels, kCifarSide, kCifarSide}, DType::u8);
  data.labels = Tensor({n}, DType::i32);
  data.classes = format.label_classes[static_cast<std::size_t>(format.label_index)];
  data.name = std::move(name);
  std::uint8_t* images = data.images.data<std::uint8_t>();
  std::int32_t* labels = data.labels.data<std::int32_t>();

  std::vector<std::uint8_t> buffer(static_cast<std::size_t>(file_bytes));
  std::int64_t sample = 0;
  for (const std::string& path : files) {
    detail::ByteSource source(path, format.dataset, remedy);
    SQ_CHECK(!source.compressed(),
             format.dataset << " file " << path << " is gzip-compressed; extract the archive's .bin files; " << remedy);
    source.expect_total(file_bytes);
    source.read_exact(buffer.data(), file_bytes);
    source.expect_end();
    for (std::int64_t r = 0; r < format.records_per_file; ++r, ++sample) {
      const std::uint8_t* record = buffer.data() + r * record_bytes;
      for (int b = 0; b < label_bytes; ++b) {
        const int classes = format.label_classes[static_cast<std::size_t>(b)];
        if (record[b] >= classes) {
          SQ_FAIL(format.dataset << " file " << path << " record " << r << " (byte offset " << r * record_bytes + b
                                 << ") has label " << static_cast<int>(record[b]) << ", expected 0.." << classes - 1
                                 << ": the file is corrupt or of another data set; " << remedy);
        }
      }
      labels[sample] = record[format.label_index];
      std::memcpy(images + sample * kCifarPixels, record + label_bytes, kCifarPixels);
    }
  }
  return data;
}

Dataset load_cifar10(const std::string& dir, bool train) {
  const std::string root = resolve_dir(dir, "cifar-10-batches-bin", train ? "data_batch_1.bin" : "test_batch.bin");
  std::vector<std::string> files;
  if (train) {
    for (int i = 1; i <= 5; ++i) files.push_back(root + "/data_batch_" + std::to_string(i) + ".bin");
  } else {
    files.push_back(root + "/test_batch.bin");
  }
  CifarRecordFormat format{"CIFAR-10", {10}, 0, 10000};
  return load_cifar_files(files, format, train ? "cifar10-train" : "cifar10-test");
}

Dataset load_cifar100(const std::string& dir, bool train, bool fine) {
  const std::string file = train ? "train.bin" : "test.bin";
  const std::string root = resolve_dir(dir, "cifar-100-binary", file);
  // CIFAR-100 ships one file per split: 50000 training and 10000 test records of (coarse, fine, pixels).
  CifarRecordFormat format{"CIFAR-100", {20, 100}, fine ? 1 : 0, train ? 50000 : 10000};
  std::string name = std::string("cifar100") + (fine ? "" : "-coarse") + (train ? "-train" : "-test");
  return load_cifar_files({root + "/" + file}, format, std::move(name));
}

}  // namespace sq::data
