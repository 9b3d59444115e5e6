// ByteSource: reads a data file, raw or gzip-compressed, with errors that name the file, what was expected, what
// was found and what to do (internal to src/data).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace sq::data::detail {

// The size of a regular file; throws sq::Error naming `path` when it is missing or not a regular file.
std::uint64_t checked_file_size(const std::string& path, const std::string& what, const std::string& remedy);

class ByteSource {
 public:
  // `what` names the content for messages ("Fashion-MNIST training images"); `remedy` says what to do.
  ByteSource(std::string path, std::string what, std::string remedy);
  ~ByteSource();
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;

  // Total bytes the content must have (for messages and the end check); set once the header is known, and before
  // allocating for it: throws (truncated) when the file cannot hold that many bytes: a raw file's size, or for gzip
  // deflate's maximum expansion (1032:1), so a corrupt count in a tiny file never makes the caller allocate gigabytes.
  void expect_total(std::uint64_t bytes);
  // Reads exactly n bytes; a short read is a truncated (or corrupt, for gzip) file and throws.
  void read_exact(void* dst, std::uint64_t n);
  // Throws when the content goes on past expect_total() bytes (an oversized file is a wrong file).
  void expect_end();

  bool compressed() const { return compressed_; }
  const std::string& path() const { return path_; }
  std::uint64_t consumed() const { return consumed_; }

 private:
  std::string decompression_error() const;

  std::string path_, what_, remedy_;
  void* file_ = nullptr;  // gzFile; void* keeps zlib (a private dependency) out of this header
  bool compressed_ = false;
  std::uint64_t file_size_ = 0;  // on disk (compressed size for gzip)
  std::uint64_t consumed_ = 0;
  std::uint64_t expected_total_ = 0;
};

}  // namespace sq::data::detail
