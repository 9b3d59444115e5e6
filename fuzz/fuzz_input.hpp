// Shared by the fuzz targets: splitting one fuzz input into fields and files, and a per-process scratch folder
// for the readers that take paths (IDX, CIFAR, checkpoints read files, not buffers).
#pragma once

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace sq::fuzz {

// Reads fields off the front of the input; past the end every field reads as zero and every span as empty, so
// any input is a valid (if short) list of fields.
class InputReader {
 public:
  InputReader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  std::uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
  std::uint16_t u16() { return static_cast<std::uint16_t>(u8() | (u8() << 8)); }
  // The next min(n, remaining) bytes.
  std::string take(std::size_t n) {
    n = std::min(n, size_ - pos_);
    std::string out(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return out;
  }
  std::string rest() { return take(size_ - pos_); }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

// A folder of its own for this fuzzing process (in /dev/shm when there is one: every input is written to a file
// and read back, so a RAM-backed folder keeps executions fast), removed when the process exits normally.
class ScratchFolder {
 public:
  static ScratchFolder& get() {
    static ScratchFolder folder;
    return folder;
  }
  // Writes `bytes` to `name` in the folder (as they are, or gzip-compressed) and returns the path.
  std::string write(const std::string& name, const std::string& bytes, bool gzip = false) {
    const std::string path = (path_ / name).string();
    if (gzip) {
      gzFile file = gzopen(path.c_str(), "wb1");
      if (!file || (!bytes.empty() && gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())) <= 0) ||
          gzclose(file) != Z_OK)
        fail("cannot write " + path);
    } else {
      std::FILE* file = std::fopen(path.c_str(), "wb");
      if (!file || std::fwrite(bytes.data(), 1, bytes.size(), file) != bytes.size() || std::fclose(file) != 0)
        fail("cannot write " + path);
    }
    return path;
  }

 private:
  ScratchFolder() {
    std::error_code ec;
    const std::filesystem::path base = std::filesystem::is_directory("/dev/shm", ec) && access("/dev/shm", W_OK) == 0
                                           ? std::filesystem::path("/dev/shm")
                                           : std::filesystem::temp_directory_path();
    std::string pattern = (base / "sq_fuzz_XXXXXX").string();
    if (!mkdtemp(pattern.data())) fail("mkdtemp failed in " + base.string());
    path_ = pattern;
  }
  ~ScratchFolder() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  [[noreturn]] static void fail(const std::string& why) {
    std::fprintf(stderr, "fuzz harness: %s\n", why.c_str());
    std::abort();
  }

  std::filesystem::path path_;
};

}  // namespace sq::fuzz
