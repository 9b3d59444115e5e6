// CIFAR-10/100 binary readers: decoded values of files written in the published format, and the errors for
// missing, truncated, oversized and corrupt files (each message names the file and says what to do).
#include <gtest/gtest.h>

#include <filesystem>

#include "data_files.hpp"
#include "sq/data/dataset.hpp"

namespace {

using sq::data::CifarRecordFormat;
using sq::test::Bytes;
using sq::test::expect_error_mentions;
using sq::test::ScratchDir;

constexpr std::size_t kPixels = 3072;

std::vector<Bytes> pixel_records(int n, std::uint32_t seed) {
  std::vector<Bytes> out;
  for (int i = 0; i < n; ++i) out.push_back(sq::test::pattern_bytes(kPixels, seed * 1000 + i));
  return out;
}

TEST(Cifar, DecodesLabelsAndPixelPlanesAcrossFiles) {
  ScratchDir dir;
  const auto pixels_a = pixel_records(3, 1), pixels_b = pixel_records(3, 2);
  sq::test::write_file(dir.file("a.bin"), sq::test::cifar_records({{7}, {0}, {9}}, pixels_a));
  sq::test::write_file(dir.file("b.bin"), sq::test::cifar_records({{3}, {3}, {1}}, pixels_b));
  const CifarRecordFormat format{"CIFAR-10", {10}, 0, 3};
  const sq::data::Dataset data = sq::data::load_cifar_files({dir.file("a.bin"), dir.file("b.bin")}, format, "tiny");
  ASSERT_EQ(data.images.shape(), (sq::Shape{6, 3, 32, 32}));
  EXPECT_EQ(data.images.dtype(), sq::DType::u8);
  EXPECT_EQ(data.labels.to_vector<std::int32_t>(), (std::vector<std::int32_t>{7, 0, 9, 3, 3, 1}));
  EXPECT_EQ(data.classes, 10);
  EXPECT_EQ(data.name, "tiny");
  const std::uint8_t* images = data.images.data<std::uint8_t>();
  for (int r = 0; r < 6; ++r) {
    const Bytes& expected = r < 3 ? pixels_a[r] : pixels_b[r - 3];
    // 3072 bytes = R plane, G plane, B plane of 32x32 row-major: exactly [C, H, W].
    EXPECT_TRUE(std::equal(expected.begin(), expected.end(), images + r * kPixels)) << "record " << r;
  }
  EXPECT_EQ(images[1 * kPixels + 1 * 1024 + 5 * 32 + 7], pixels_a[1][1024 + 5 * 32 + 7]);  // G, y=5, x=7
  EXPECT_EQ(data.class_counts(), (std::vector<std::int64_t>{1, 1, 0, 2, 0, 0, 0, 1, 0, 1}));
  // A slice copies samples [2, 5).
  const sq::data::Dataset part = sq::data::slice(data, 2, 3);
  EXPECT_EQ(part.labels.to_vector<std::int32_t>(), (std::vector<std::int32_t>{9, 3, 3}));
  EXPECT_TRUE(std::equal(pixels_b[1].begin(), pixels_b[1].end(), part.images.data<std::uint8_t>() + 2 * kPixels));
  EXPECT_EQ(part.classes, 10);
  EXPECT_EQ(part.name, "tiny[2:5]");
  EXPECT_THROW(sq::data::slice(data, 4, 3), sq::Error);
}

TEST(Cifar, Cifar100PicksFineOrCoarseLabel) {
  ScratchDir dir;
  sq::test::write_file(dir.file("c.bin"), sq::test::cifar_records({{19, 99}, {0, 42}}, pixel_records(2, 3)));
  const auto fine = sq::data::load_cifar_files({dir.file("c.bin")}, {"CIFAR-100", {20, 100}, 1, 2}, "fine");
  const auto coarse = sq::data::load_cifar_files({dir.file("c.bin")}, {"CIFAR-100", {20, 100}, 0, 2}, "coarse");
  EXPECT_EQ(fine.labels.to_vector<std::int32_t>(), (std::vector<std::int32_t>{99, 42}));
  EXPECT_EQ(fine.classes, 100);
  EXPECT_EQ(coarse.labels.to_vector<std::int32_t>(), (std::vector<std::int32_t>{19, 0}));
  EXPECT_EQ(coarse.classes, 20);
  EXPECT_EQ(fine.images.to_vector<std::uint8_t>(), coarse.images.to_vector<std::uint8_t>());
}

TEST(Cifar, TruncatedAndOversizedFilesNameTheFileAndSizes) {
  ScratchDir dir;
  Bytes records = sq::test::cifar_records({{1}, {2}}, pixel_records(2, 4));
  const CifarRecordFormat format{"CIFAR-10", {10}, 0, 2};
  Bytes truncated(records.begin(), records.end() - 1);
  sq::test::write_file(dir.file("short.bin"), truncated);
  expect_error_mentions([&] { sq::data::load_cifar_files({dir.file("short.bin")}, format, "x"); },
                        {dir.file("short.bin"), "truncated", "6145 bytes", "expected 6146", "get-cifar.sh"});
  Bytes oversized = records;
  oversized.push_back(0);
  sq::test::write_file(dir.file("long.bin"), oversized);
  expect_error_mentions([&] { sq::data::load_cifar_files({dir.file("long.bin")}, format, "x"); },
                        {dir.file("long.bin"), "oversized", "6147 bytes", "expected 6146"});
  // A CIFAR-100 file read as CIFAR-10 has 2 label bytes per record: the size gives it away.
  sq::test::write_file(dir.file("c100.bin"), sq::test::cifar_records({{1, 2}, {3, 4}}, pixel_records(2, 5)));
  expect_error_mentions([&] { sq::data::load_cifar_files({dir.file("c100.bin")}, format, "x"); },
                        {dir.file("c100.bin"), "6148 bytes", "expected 6146"});
}

TEST(Cifar, OutOfRangeLabelIsReportedWithRecordAndFile) {
  ScratchDir dir;
  sq::test::write_file(dir.file("bad.bin"), sq::test::cifar_records({{1}, {10}}, pixel_records(2, 6)));
  expect_error_mentions(
      [&] {
        sq::data::load_cifar_files({dir.file("bad.bin")}, {"CIFAR-10", {10}, 0, 2}, "x");
      },
      {dir.file("bad.bin"), "record 1", "label 10", "expected 0..9"});
  // CIFAR-100: the coarse byte is checked even when the fine label is used.
  sq::test::write_file(dir.file("bad100.bin"), sq::test::cifar_records({{20, 5}}, pixel_records(1, 7)));
  expect_error_mentions(
      [&] {
        sq::data::load_cifar_files({dir.file("bad100.bin")}, {"CIFAR-100", {20, 100}, 1, 1}, "x");
      },
      {dir.file("bad100.bin"), "record 0", "label 20", "expected 0..19"});
}

TEST(Cifar, MissingFileOrFolderSaysHowToGetTheData) {
  ScratchDir dir;
  expect_error_mentions([&] { sq::data::load_cifar10(dir.str(), false); },
                        {dir.file("test_batch.bin"), "does not exist", "scripts/get-cifar.sh"});
  expect_error_mentions([&] { sq::data::load_cifar100(dir.str(), true); },
                        {dir.file("train.bin"), "does not exist", "scripts/get-cifar.sh", "cifar-100-binary"});
  std::filesystem::create_directory(dir.file("test_batch.bin"));
  expect_error_mentions([&] { sq::data::load_cifar10(dir.str(), false); },
                        {dir.file("test_batch.bin"), "not a regular file"});
}

// Full-size files, as the archives ship them: 10000 records per file, checked record by record at a few places.
TEST(Cifar, Cifar10FullSizeSplitsFromTheExtractedFolder) {
  ScratchDir root;
  const std::string dir = root.file("cifar-10-batches-bin");
  std::filesystem::create_directory(dir);
  const std::vector<std::string> names = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                          "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};
  // Record r of file f: label (r + f) % 10, pixels all equal to (r * 7 + f) % 256 except byte 0 = f.
  for (std::size_t f = 0; f < names.size(); ++f) {
    Bytes bytes(10000 * (1 + kPixels));
    for (std::size_t r = 0; r < 10000; ++r) {
      std::uint8_t* record = bytes.data() + r * (1 + kPixels);
      record[0] = static_cast<std::uint8_t>((r + f) % 10);
      std::fill(record + 1, record + 1 + kPixels, static_cast<std::uint8_t>((r * 7 + f) % 256));
      record[1] = static_cast<std::uint8_t>(f);
    }
    sq::test::write_file(dir + "/" + names[f], bytes);
  }
  // The parent folder works too: the reader looks into cifar-10-batches-bin.
  const sq::data::Dataset train = sq::data::load_cifar10(root.str(), true);
  const sq::data::Dataset test = sq::data::load_cifar10(dir, false);
  ASSERT_EQ(train.images.shape(), (sq::Shape{50000, 3, 32, 32}));
  ASSERT_EQ(test.images.shape(), (sq::Shape{10000, 3, 32, 32}));
  EXPECT_EQ(train.name, "cifar10-train");
  const auto train_labels = train.labels.to_vector<std::int32_t>();
  for (std::int64_t i : {0LL, 9999LL, 10000LL, 23456LL, 49999LL}) {
    const std::int64_t f = i / 10000, r = i % 10000;
    EXPECT_EQ(train_labels[i], (r + f) % 10) << i;
    EXPECT_EQ(train.images.data<std::uint8_t>()[i * kPixels], f) << i;
    EXPECT_EQ(train.images.data<std::uint8_t>()[i * kPixels + 3071], (r * 7 + f) % 256) << i;
  }
  EXPECT_EQ(test.images.data<std::uint8_t>()[0], 5);
  EXPECT_EQ(test.labels.data<std::int32_t>()[9999], (9999 + 5) % 10);
  EXPECT_EQ(train.class_counts(), std::vector<std::int64_t>(10, 5000));
}

TEST(Cifar, Cifar100FullSizeTestSplit) {
  ScratchDir dir;
  Bytes bytes(10000 * (2 + kPixels), 17);
  for (std::size_t r = 0; r < 10000; ++r) {
    bytes[r * (2 + kPixels)] = static_cast<std::uint8_t>(r % 20);
    bytes[r * (2 + kPixels) + 1] = static_cast<std::uint8_t>(r % 100);
  }
  sq::test::write_file(dir.file("test.bin"), bytes);
  const sq::data::Dataset fine = sq::data::load_cifar100(dir.str(), false);
  const sq::data::Dataset coarse = sq::data::load_cifar100(dir.str(), false, false);
  EXPECT_EQ(fine.classes, 100);
  EXPECT_EQ(coarse.classes, 20);
  EXPECT_EQ(fine.name, "cifar100-test");
  EXPECT_EQ(fine.class_counts(), std::vector<std::int64_t>(100, 100));
  EXPECT_EQ(coarse.class_counts(), std::vector<std::int64_t>(20, 500));
  EXPECT_EQ(fine.labels.data<std::int32_t>()[123], 23);
  EXPECT_EQ(coarse.labels.data<std::int32_t>()[123], 3);
  // Only the test split is there: asking for the training split names the missing file.
  expect_error_mentions([&] { sq::data::load_cifar100(dir.str(), true); }, {dir.file("train.bin"), "does not exist"});
}

}  // namespace
