// Test helpers: a scratch folder, and writers for CIFAR records and IDX files (raw or gzip) in the published formats.
#pragma once

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "sq/core/error.hpp"

namespace sq::test {

using Bytes = std::vector<std::uint8_t>;

// A fresh folder under the system temp dir, removed with its contents at the end of the test.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "sq_data_test_XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

// gzip through zlib's own gzopen/gzwrite, as a real .gz IDX file is made.
inline void write_gz_file(const std::string& path, const Bytes& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr) << "cannot write " << path;
  ASSERT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(file), Z_OK);
}

inline void append_be32(Bytes& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

// An IDX images file: magic 0x00000803, then count, rows, cols (big-endian), then the pixels.
inline Bytes idx_images(std::uint32_t count, std::uint32_t rows, std::uint32_t cols, const Bytes& pixels,
                        std::uint32_t magic = 0x00000803) {
  Bytes out;
  append_be32(out, magic);
  append_be32(out, count);
  append_be32(out, rows);
  append_be32(out, cols);
  out.insert(out.end(), pixels.begin(), pixels.end());
  return out;
}

// An IDX labels file: magic 0x00000801, count, labels.
inline Bytes idx_labels(std::uint32_t count, const Bytes& labels, std::uint32_t magic = 0x00000801) {
  Bytes out;
  append_be32(out, magic);
  append_be32(out, count);
  out.insert(out.end(), labels.begin(), labels.end());
  return out;
}

// Deterministic pseudo-random pixel bytes (a simple LCG: tests must not depend on the library's RNG).
inline Bytes pattern_bytes(std::size_t n, std::uint32_t seed) {
  Bytes out(n);
  std::uint32_t state = seed * 2654435761u + 1;
  for (auto& b : out) {
    state = state * 1664525u + 1013904223u;
    b = static_cast<std::uint8_t>(state >> 24);
  }
  return out;
}

// CIFAR records: each label byte list followed by 3072 pixel bytes.
inline Bytes cifar_records(const std::vector<Bytes>& labels, const std::vector<Bytes>& pixels) {
  Bytes out;
  for (std::size_t r = 0; r < labels.size(); ++r) {
    out.insert(out.end(), labels[r].begin(), labels[r].end());
    out.insert(out.end(), pixels[r].begin(), pixels[r].end());
  }
  return out;
}

// Runs `body`, expects sq::Error, and checks the message contains every fragment.
template <class Body>
void expect_error_mentions(Body&& body, const std::vector<std::string>& fragments) {
  try {
    body();
    ADD_FAILURE() << "expected sq::Error mentioning " << fragments.front();
  } catch (const sq::Error& error) {
    for (const std::string& fragment : fragments) {
      EXPECT_NE(error.message().find(fragment), std::string::npos)
          << "message lacks \"" << fragment << "\": " << error.message();
    }
  }
}

}  // namespace sq::test
