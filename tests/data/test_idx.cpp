// IDX readers (MNIST format, raw and .gz via zlib): decoded values, and errors for wrong magic numbers, truncated,
// oversized and corrupt files, bad labels and images/labels count mismatches (each naming the file).
#include <gtest/gtest.h>

#include "data_files.hpp"
#include "sq/data/dataset.hpp"

namespace {

using sq::test::Bytes;
using sq::test::expect_error_mentions;
using sq::test::ScratchDir;

struct IdxPair {
  Bytes images, labels, pixels, label_values;
};

IdxPair small_pair(std::uint32_t count = 4, std::uint32_t rows = 5, std::uint32_t cols = 3) {
  IdxPair p;
  p.pixels = sq::test::pattern_bytes(count * rows * cols, 11);
  for (std::uint32_t i = 0; i < count; ++i) p.label_values.push_back(static_cast<std::uint8_t>((i * 3) % 10));
  p.images = sq::test::idx_images(count, rows, cols, p.pixels);
  p.labels = sq::test::idx_labels(count, p.label_values);
  return p;
}

void check_decoded(const sq::data::Dataset& data, const IdxPair& p) {
  ASSERT_EQ(data.images.shape(), (sq::Shape{4, 1, 5, 3}));
  EXPECT_EQ(data.images.to_vector<std::uint8_t>(), p.pixels);
  const std::vector<std::int32_t> expected(p.label_values.begin(), p.label_values.end());
  EXPECT_EQ(data.labels.to_vector<std::int32_t>(), expected);
  EXPECT_EQ(data.classes, 10);
}

TEST(Idx, DecodesRawFiles) {
  ScratchDir dir;
  const IdxPair p = small_pair();
  sq::test::write_file(dir.file("img"), p.images);
  sq::test::write_file(dir.file("lab"), p.labels);
  check_decoded(sq::data::load_idx(dir.file("img"), dir.file("lab"), 10, "tiny"), p);
}

TEST(Idx, DecodesGzipFilesWrittenByZlib) {
  ScratchDir dir;
  const IdxPair p = small_pair();
  sq::test::write_gz_file(dir.file("img.gz"), p.images);
  sq::test::write_gz_file(dir.file("lab.gz"), p.labels);
  check_decoded(sq::data::load_idx(dir.file("img.gz"), dir.file("lab.gz"), 10, "tiny"), p);
  // find_idx_file prefers the raw name and falls back to .gz.
  EXPECT_EQ(sq::data::find_idx_file(dir.str(), "img"), dir.file("img.gz"));
  sq::test::write_file(dir.file("img"), p.images);
  EXPECT_EQ(sq::data::find_idx_file(dir.str(), "img"), dir.file("img"));
}

TEST(Idx, WrongMagicNumbersNameTheFile) {
  ScratchDir dir;
  const IdxPair p = small_pair();
  sq::test::write_file(dir.file("img"), p.images);
  sq::test::write_file(dir.file("lab"), p.labels);
  // Images and labels swapped.
  expect_error_mentions([&] { sq::data::load_idx(dir.file("lab"), dir.file("img"), 10, "x"); },
                        {dir.file("img"), "magic number 0x00000803", "expected 0x00000801", "swapped"});
  // A 4-byte float type code (0x0D) instead of unsigned bytes.
  sq::test::write_file(dir.file("float"), sq::test::idx_images(4, 5, 3, p.pixels, 0x00000D03));
  expect_error_mentions([&] { sq::data::load_idx(dir.file("float"), dir.file("lab"), 10, "x"); },
                        {dir.file("float"), "magic number 0x00000d03", "expected 0x00000803"});
  // Not an IDX file at all (text), also inside gzip.
  sq::test::write_gz_file(dir.file("text.gz"), Bytes{'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'});
  expect_error_mentions([&] { sq::data::load_idx(dir.file("img"), dir.file("text.gz"), 10, "x"); },
                        {dir.file("text.gz"), "magic number", "expected 0x00000801"});
}

TEST(Idx, TruncatedAndOversizedFiles) {
  ScratchDir dir;
  const IdxPair p = small_pair();
  sq::test::write_file(dir.file("lab"), p.labels);
  Bytes short_images(p.images.begin(), p.images.end() - 2);
  sq::test::write_file(dir.file("short"), short_images);
  expect_error_mentions([&] { sq::data::load_idx(dir.file("short"), dir.file("lab"), 10, "x"); },
                        {dir.file("short"), "truncated", "74 bytes", "expected 76"});
  sq::test::write_gz_file(dir.file("short.gz"), short_images);
  expect_error_mentions([&] { sq::data::load_idx(dir.file("short.gz"), dir.file("lab"), 10, "x"); },
                        {dir.file("short.gz"), "truncated", "expected 76", "found 74"});
  Bytes long_images = p.images;
  long_images.push_back(1);
  sq::test::write_file(dir.file("long"), long_images);
  expect_error_mentions([&] { sq::data::load_idx(dir.file("long"), dir.file("lab"), 10, "x"); },
                        {dir.file("long"), "oversized", "77 bytes", "expected 76"});
  sq::test::write_gz_file(dir.file("long.gz"), long_images);
  expect_error_mentions([&] { sq::data::load_idx(dir.file("long.gz"), dir.file("lab"), 10, "x"); },
                        {dir.file("long.gz"), "oversized", "expected exactly 76"});
  Bytes short_labels(p.labels.begin(), p.labels.end() - 1);
  sq::test::write_file(dir.file("img"), p.images);
  sq::test::write_file(dir.file("short_lab"), short_labels);
  expect_error_mentions([&] { sq::data::load_idx(dir.file("img"), dir.file("short_lab"), 10, "x"); },
                        {dir.file("short_lab"), "truncated", "expected 12", "found 11"});
  sq::test::write_file(dir.file("empty"), {});
  expect_error_mentions([&] { sq::data::load_idx(dir.file("img"), dir.file("empty"), 10, "x"); },
                        {dir.file("empty"), "truncated", "found 0"});
}

TEST(Idx, CorruptGzipStreamIsAnErrorNotACrash) {
  ScratchDir dir;
  const IdxPair p = small_pair(50, 28, 28);
  sq::test::write_file(dir.file("lab"), p.labels);
  sq::test::write_gz_file(dir.file("img.gz"), p.images);
  std::ifstream in(dir.file("img.gz"), std::ios::binary);
  Bytes gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Cut the compressed stream in half: a partial download.
  sq::test::write_file(dir.file("cut.gz"), Bytes(gz.begin(), gz.begin() + gz.size() / 2));
  expect_error_mentions([&] { sq::data::load_idx(dir.file("cut.gz"), dir.file("lab"), 10, "x"); },
                        {dir.file("cut.gz"), "expected 39216"});
  // Flip bits in the compressed body: inflate or the CRC check must notice.
  Bytes flipped = gz;
  for (std::size_t i = 20; i < flipped.size() - 8; i += 7) flipped[i] ^= 0x5a;
  sq::test::write_file(dir.file("flipped.gz"), flipped);
  expect_error_mentions([&] { sq::data::load_idx(dir.file("flipped.gz"), dir.file("lab"), 10, "x"); },
                        {dir.file("flipped.gz")});
  // Damage only the CRC in the trailer: the data decompresses fine but must still be rejected.
  Bytes bad_crc = gz;
  bad_crc[bad_crc.size() - 8] ^= 0xff;
  sq::test::write_file(dir.file("crc.gz"), bad_crc);
  expect_error_mentions([&] { sq::data::load_idx(dir.file("crc.gz"), dir.file("lab"), 10, "x"); },
                        {dir.file("crc.gz"), "corrupt"});
  // A .gz name on raw data.
  sq::test::write_file(dir.file("raw.gz"), p.images);
  expect_error_mentions([&] { sq::data::load_idx(dir.file("raw.gz"), dir.file("lab"), 10, "x"); },
                        {dir.file("raw.gz"), "not hold gzip data"});
}

TEST(Idx, BadLabelsAndCountMismatch) {
  ScratchDir dir;
  const IdxPair p = small_pair();
  sq::test::write_file(dir.file("img"), p.images);
  Bytes labels = p.label_values;
  labels[2] = 10;
  sq::test::write_file(dir.file("bad_lab"), sq::test::idx_labels(4, labels));
  expect_error_mentions([&] { sq::data::load_idx(dir.file("img"), dir.file("bad_lab"), 10, "x"); },
                        {dir.file("bad_lab"), "label 10 at index 2", "expected 0..9"});
  sq::test::write_file(dir.file("three"),
                       sq::test::idx_labels(3, Bytes(p.label_values.begin(), p.label_values.end() - 1)));
  expect_error_mentions([&] { sq::data::load_idx(dir.file("img"), dir.file("three"), 10, "x"); },
                        {dir.file("img"), dir.file("three"), "4 images", "3 labels"});
  // Consistent but not the expected size: never a silently short data set.
  sq::test::write_file(dir.file("lab"), p.labels);
  expect_error_mentions([&] { sq::data::load_idx(dir.file("img"), dir.file("lab"), 10, "x", 60000); },
                        {dir.file("lab"), "holds 4 labels", "expected 60000"});
  // Corrupt headers: zero images, absurd sizes (must fail before allocating).
  sq::test::write_file(dir.file("zero"), sq::test::idx_images(0, 5, 3, {}));
  sq::test::write_file(dir.file("zero_lab"), sq::test::idx_labels(0, {}));
  expect_error_mentions([&] { sq::data::load_idx(dir.file("zero"), dir.file("zero_lab"), 10, "x"); },
                        {dir.file("zero_lab"), "holds 0 labels"});
  sq::test::write_file(dir.file("huge"), sq::test::idx_images(4, 70000, 3, p.pixels));
  expect_error_mentions([&] { sq::data::load_idx(dir.file("huge"), dir.file("lab"), 10, "x"); },
                        {dir.file("huge"), "70000x3", "corrupt header"});
}

// Found while writing fuzz/fuzz_idx: a header's count is trusted only as far as the file can hold it, before anything
// is allocated. The images file's size guarded raw images, but gzip images (whose size is unknown before reading)
// let agreeing headers claiming 2^32 - 1 samples make the reader allocate 20 GB for labels before failing.
TEST(Idx, CountsTheFileCannotHoldFailBeforeAllocating) {
  ScratchDir dir;
  const IdxPair p = small_pair();
  sq::test::write_file(dir.file("lab"), p.labels);
  // gzip: 100 million labels cannot come out of a few dozen compressed bytes (deflate expands at most 1032:1).
  sq::test::write_gz_file(dir.file("many.gz"), sq::test::idx_labels(100000000, {1, 2, 3}));
  sq::test::write_gz_file(dir.file("many_img.gz"), sq::test::idx_images(100000000, 1, 1, {1, 2, 3}));
  expect_error_mentions([&] { sq::data::load_idx(dir.file("many_img.gz"), dir.file("many.gz"), 10, "x"); },
                        {dir.file("many.gz"), "truncated", "expected 100000008 decompressed bytes", "at most"});
  // Raw labels: the file size bounds the count (up to the format's 2^32 - 1).
  sq::test::write_file(dir.file("all"), sq::test::idx_labels(0xffffffffu, {1, 2, 3}));
  sq::test::write_gz_file(dir.file("all_img.gz"), sq::test::idx_images(0xffffffffu, 1, 1, {1, 2, 3}));
  expect_error_mentions([&] { sq::data::load_idx(dir.file("all_img.gz"), dir.file("all"), 10, "x"); },
                        {dir.file("all"), "truncated", "expected 4294967303 bytes", "found 11"});
  // gzip images: counts that agree, but 4 images of 1024x1024 cannot come out of a file of a hundred bytes.
  sq::test::write_gz_file(dir.file("big.gz"), sq::test::idx_images(4, 1024, 1024, p.pixels));
  expect_error_mentions([&] { sq::data::load_idx(dir.file("big.gz"), dir.file("lab"), 10, "x"); },
                        {dir.file("big.gz"), "truncated", "at most"});
}

TEST(Idx, FashionMnistChecksPublishedCountsAndNamesThePackage) {
  ScratchDir dir;
  expect_error_mentions([&] { sq::data::load_fashion_mnist(dir.str(), true); },
                        {dir.file("train-images-idx3-ubyte"), "does not exist", "dataset-fashion-mnist"});
  const IdxPair p = small_pair();
  sq::test::write_gz_file(dir.file("t10k-images-idx3-ubyte.gz"), p.images);
  sq::test::write_gz_file(dir.file("t10k-labels-idx1-ubyte.gz"), p.labels);
  expect_error_mentions(
      [&] { sq::data::load_fashion_mnist(dir.str(), false); },
      {dir.file("t10k-labels-idx1-ubyte.gz"), "holds 4 labels", "expected 10000", "dataset-fashion-mnist"});
}

}  // namespace
