// ByteSource over zlib's gzFile: gzread reads gzip and raw files alike, so one reader serves IDX and .gz IDX.
#include "data/byte_source.hpp"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "sq/core/error.hpp"

namespace sq::data::detail {

namespace {
// A deflate match copies at most 258 bytes and costs at least 2 bits, so no gzip stream expands more than 1032:1
// (zlib's FAQ).
constexpr std::uint64_t kMaxDeflateExpansion = 1032;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

std::uint64_t checked_file_size(const std::string& path, const std::string& what, const std::string& remedy) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  SQ_CHECK(std::filesystem::exists(status), what << " file " << path << " does not exist; " << remedy);
  SQ_CHECK(std::filesystem::is_regular_file(status),
           what << " file " << path << " is not a regular file (a folder?); " << remedy);
  const std::uint64_t size = std::filesystem::file_size(path, ec);
  SQ_CHECK(!ec, "cannot read the size of " << what << " file " << path << ": " << ec.message());
  return size;
}

ByteSource::ByteSource(std::string path, std::string what, std::string remedy)
    : path_(std::move(path)), what_(std::move(what)), remedy_(std::move(remedy)) {
  file_size_ = checked_file_size(path_, what_, remedy_);
  gzFile file = gzopen(path_.c_str(), "rb");
  SQ_CHECK(file != nullptr, "cannot open " << what_ << " file " << path_ << "; check its permissions");
  file_ = file;
  gzbuffer(file, 1u << 20);
  // gzdirect() looks at the first bytes: 0 means a gzip stream follows, 1 means the file is read as it is.
  compressed_ = gzdirect(file) == 0;
  if (ends_with(path_, ".gz") && !compressed_) {
    gzclose(file);
    file_ = nullptr;
    SQ_FAIL(what_ << " file " << path_ << " is named .gz but does not hold gzip data (corrupt download?); " << remedy_);
  }
}

ByteSource::~ByteSource() {
  if (file_) gzclose(static_cast<gzFile>(file_));
}

void ByteSource::expect_total(std::uint64_t bytes) {
  expected_total_ = bytes;
  if (!compressed_) {
    SQ_CHECK(bytes <= file_size_, what_ << " file " << path_ << " is truncated: expected " << bytes << " bytes, found "
                                        << file_size_ << "; " << remedy_);
    return;
  }
  const std::uint64_t most =
      file_size_ > UINT64_MAX / kMaxDeflateExpansion ? UINT64_MAX : file_size_ * kMaxDeflateExpansion;
  SQ_CHECK(bytes <= most, what_ << " file " << path_ << " is truncated: expected " << bytes
                                << " decompressed bytes, but " << file_size_ << " gzip bytes decompress to at most "
                                << most << "; " << remedy_);
}

std::string ByteSource::decompression_error() const {
  int code = Z_OK;
  const char* message = gzerror(static_cast<gzFile>(file_), &code);
  if (code == Z_OK || code == Z_STREAM_END) return {};
  return message ? message : "unknown zlib error";
}

void ByteSource::read_exact(void* dst, std::uint64_t n) {
  auto* out = static_cast<unsigned char*>(dst);
  std::uint64_t done = 0;
  while (done < n) {
    // gzread takes an unsigned count and returns an int: read in chunks well below INT_MAX.
    const unsigned chunk = static_cast<unsigned>(std::min<std::uint64_t>(n - done, 1u << 30));
    const int got = gzread(static_cast<gzFile>(file_), out + done, chunk);
    if (got < 0) {
      SQ_FAIL(what_ << " file " << path_ << " is corrupt: decompression failed at decompressed byte offset "
                    << consumed_ + done << " (" << decompression_error() << "); " << remedy_);
    }
    if (got == 0) {
      const std::string zlib = decompression_error();
      SQ_FAIL(what_ << " file " << path_ << " is truncated: expected " << std::max(expected_total_, consumed_ + n)
                    << (compressed_ ? " decompressed" : "") << " bytes, found " << consumed_ + done
                    << (zlib.empty() ? "" : " (" + zlib + ")") << "; " << remedy_);
    }
    done += static_cast<std::uint64_t>(got);
  }
  consumed_ += n;
}

void ByteSource::expect_end() {
  unsigned char extra[1];
  const int got = gzread(static_cast<gzFile>(file_), extra, 1);
  if (got < 0) {
    SQ_FAIL(what_ << " file " << path_ << " is corrupt after its " << consumed_ << " expected bytes ("
                  << decompression_error() << "); " << remedy_);
  }
  SQ_CHECK(got == 0, what_ << " file " << path_ << " is oversized: expected exactly " << consumed_
                           << (compressed_ ? " decompressed" : "")
                           << " bytes, found more (wrong file, or the header's counts are wrong); " << remedy_);
  // A gzip stream must also end cleanly (its CRC is checked at the end).
  const std::string zlib = decompression_error();
  SQ_CHECK(zlib.empty(), what_ << " file " << path_ << " is corrupt: " << zlib << "; " << remedy_);
}

}  // namespace sq::data::detail
