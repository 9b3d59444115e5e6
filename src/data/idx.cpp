// IDX (MNIST format) readers, raw or gzip: magic numbers, dimensions, sizes, label ranges and the images/labels
// count agreement are checked before the data is used. Fashion-MNIST is an IDX pair with published counts.
#include <filesystem>
#include <iomanip>
#include <sstream>

#include "data/byte_source.hpp"
#include "sq/data/dataset.hpp"

namespace sq::data {

namespace {
constexpr std::uint32_t kIdxImagesMagic = 0x00000803;  // unsigned bytes, 3 dimensions
constexpr std::uint32_t kIdxLabelsMagic = 0x00000801;  // unsigned bytes, 1 dimension
constexpr std::uint32_t kMaxSide = 1024;               // plausibility bounds: a corrupt header must not make us
constexpr std::uint64_t kMaxImageBytes = 8ull << 30;   // reserve absurd amounts of memory before reading fails

const char* const kGenericRemedy = "re-download or re-extract the file (IDX format: http://yann.lecun.com/exdb/mnist/)";
const char* const kFashionRemedy =
    "install Debian's dataset-fashion-mnist package (scripts/common.sh installs it; files in "
    "/usr/share/datasets/fashion-mnist) or pass --data with the folder holding the four IDX files";

std::uint32_t big_endian(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

std::string hex(std::uint32_t v) {
  std::ostringstream out;
  out << "0x" << std::hex << std::setw(8) << std::setfill('0') << v;
  return out.str();
}

// Reads the magic number and `dims` big-endian dimensions, checking the magic.
std::vector<std::uint32_t> read_idx_header(detail::ByteSource& source, std::uint32_t magic, const char* kind,
                                           const std::string& what, const std::string& remedy) {
  const int dims = static_cast<int>(magic & 0xff);
  unsigned char header[4 + 4 * 3];
  source.expect_total(4 + 4 * static_cast<std::uint64_t>(dims));
  source.read_exact(header, 4);
  const std::uint32_t found = big_endian(header);
  if (found != magic) {
    const char* hint = found == kIdxImagesMagic || found == kIdxLabelsMagic
                           ? " (images and labels files swapped?)"
                           : (header[0] == 0x1f && header[1] == 0x8b ? " (gzip data inside gzip?)" : "");
    SQ_FAIL(what << " file " << source.path() << " has magic number " << hex(found) << ", expected " << hex(magic)
                 << " (IDX " << kind << ": unsigned bytes, " << dims << " dimension" << (dims > 1 ? "s" : "") << ")"
                 << hint << "; " << remedy);
  }
  source.read_exact(header + 4, 4 * static_cast<std::uint64_t>(dims));
  std::vector<std::uint32_t> sizes;
  for (int d = 0; d < dims; ++d) sizes.push_back(big_endian(header + 4 + 4 * d));
  return sizes;
}

void check_count(const std::string& what, const std::string& path, const char* kind, std::uint32_t count,
                 std::int64_t expected_count, const std::string& remedy) {
  SQ_CHECK(count > 0, what << " file " << path << " holds 0 " << kind << "; " << remedy);
  SQ_CHECK(expected_count < 0 || count == expected_count, what << " file " << path << " holds " << count << " " << kind
                                                               << ", expected " << expected_count
                                                               << " (a short or wrong copy); " << remedy);
}

Dataset load_idx_checked(const std::string& images_path, const std::string& labels_path, int classes, std::string name,
                         std::int64_t expected_count, const std::string& what, const std::string& remedy,
                         std::uint32_t expected_side = 0) {  // 0: any size
  SQ_CHECK(classes > 0 && classes <= 256, "IDX labels are bytes: classes must be in 1..256, got " << classes);
  // Labels first: small, and their count bounds the (large) images allocation.
  detail::ByteSource labels_source(labels_path, what + " labels", remedy);
  const std::uint32_t label_count =
      read_idx_header(labels_source, kIdxLabelsMagic, "labels", what + " labels", remedy)[0];
  check_count(what + " labels", labels_path, "labels", label_count, expected_count, remedy);

  detail::ByteSource images_source(images_path, what + " images", remedy);
  const std::vector<std::uint32_t> dims =
      read_idx_header(images_source, kIdxImagesMagic, "images", what + " images", remedy);
  const std::uint32_t count = dims[0], rows = dims[1], cols = dims[2];
  check_count(what + " images", images_path, "images", count, expected_count, remedy);
  SQ_CHECK(rows > 0 && cols > 0 && rows <= kMaxSide && cols <= kMaxSide,
           what << " images file " << images_path << " declares " << rows << "x" << cols
                << " images, expected sides in 1.." << kMaxSide << ": corrupt header; " << remedy);
  SQ_CHECK(expected_side == 0 || (rows == expected_side && cols == expected_side),
           what << " images file " << images_path << " holds " << rows << "x" << cols << " images, expected "
                << expected_side << "x" << expected_side << "; " << remedy);
  SQ_CHECK(count == label_count, what << " images file " << images_path << " holds " << count
                                      << " images but labels file " << labels_path << " holds " << label_count
                                      << " labels: the two must come from the same split; " << remedy);
  const std::uint64_t image_bytes = std::uint64_t{count} * rows * cols;
  SQ_CHECK(image_bytes <= kMaxImageBytes,
           what << " images file " << images_path << " declares " << count << " images of " << rows << "x" << cols
                << " (" << image_bytes << " bytes), more than any plausible data set: corrupt header; " << remedy);
  if (!images_source.compressed()) {
    const std::uint64_t size = detail::checked_file_size(images_path, what + " images", remedy);
    SQ_CHECK(size == 16 + image_bytes,
             what << " images file " << images_path << " has " << size << " bytes, expected " << 16 + image_bytes
                  << " (16-byte header + " << count << " images of " << rows << "x" << cols
                  << "): " << (size < 16 + image_bytes ? "truncated" : "oversized") << "; " << remedy);
  }

  // Before allocating anything: a count the files cannot hold (a corrupt header, a tiny gzip file) fails here.
  labels_source.expect_total(8 + std::uint64_t{count});
  images_source.expect_total(16 + image_bytes);

  Dataset data;
  data.classes = classes;
  data.name = std::move(name);
  data.labels = Tensor({count}, DType::i32);
  {
    std::vector<std::uint8_t> raw_labels(count);
    labels_source.read_exact(raw_labels.data(), count);
    labels_source.expect_end();
    std::int32_t* labels = data.labels.data<std::int32_t>();
    for (std::uint32_t i = 0; i < count; ++i) {
      SQ_CHECK(raw_labels[i] < classes, what << " labels file " << labels_path << " has label "
                                             << static_cast<int>(raw_labels[i]) << " at index " << i << ", expected 0.."
                                             << classes - 1 << ": corrupt file or another data set; " << remedy);
      labels[i] = raw_labels[i];
    }
  }
  data.images = Tensor({count, 1, rows, cols}, DType::u8);
  images_source.read_exact(data.images.data<std::uint8_t>(), image_bytes);
  images_source.expect_end();
  return data;
}
}  // namespace

Dataset load_idx(const std::string& images_path, const std::string& labels_path, int classes, std::string name,
                 std::int64_t expected_count) {
  return load_idx_checked(images_path, labels_path, classes, std::move(name), expected_count, "IDX", kGenericRemedy);
}

std::string find_idx_file(const std::string& dir, const std::string& base_name) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const std::string raw = (fs::path(dir) / base_name).string();
  if (fs::exists(raw, ec)) return raw;
  if (fs::exists(raw + ".gz", ec)) return raw + ".gz";
  return raw;
}

Dataset load_fashion_mnist(const std::string& dir, bool train) {
  namespace fs = std::filesystem;
  const std::string prefix = train ? "train" : "t10k";
  const std::string images = find_idx_file(dir, prefix + "-images-idx3-ubyte");
  const std::string labels = find_idx_file(dir, prefix + "-labels-idx1-ubyte");
  std::error_code ec;
  for (const std::string& path : {images, labels}) {
    SQ_CHECK(fs::exists(path, ec), "Fashion-MNIST file " << path << " (or " << path << ".gz) does not exist in " << dir
                                                         << "; " << kFashionRemedy);
  }
  return load_idx_checked(images, labels, 10, train ? "fashion-mnist-train" : "fashion-mnist-test",
                          train ? 60000 : 10000, train ? "Fashion-MNIST training" : "Fashion-MNIST test",
                          kFashionRemedy, 28);
}

}  // namespace sq::data
