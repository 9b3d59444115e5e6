// The tiny ImageNet-shaped folder of the ImageNet tests, written once per test process by make_tiny_imagenet.py
// (PIL from Debian's python3-pil): 3 classes of odd-sized JPEGs with a greyscale, a CMYK, a PNG named .JPEG and a
// corrupt file; a flat val/ with val.txt and the same images in class folders; PIL's decodings as references.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace sq_imagenet_test {

inline std::string python() {
  // Debian's interpreter (python3-pil lives there), not a pyenv / venv one earlier on PATH.
  return std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

inline const std::string& tiny_imagenet() {
  static const std::string dir = [] {
    const std::string d =
        (std::filesystem::temp_directory_path() / ("sq_tiny_imagenet_" + std::to_string(::getpid()))).string();
    std::filesystem::remove_all(d);
    const std::string command = python() + " " + SQ_SOURCE_DIR + "/tests/imagenet/make_tiny_imagenet.py " + d + " 2>&1";
    const int rc = std::system(command.c_str());
    if (rc != 0) {
      ADD_FAILURE() << command << " failed (rc " << rc << "): the ImageNet tests need python3-pil "
                    << "(scripts/common.sh installs it)";
    }
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(
          std::filesystem::temp_directory_path() / ("sq_tiny_imagenet_" + std::to_string(::getpid())), ignored);
    });
    return d;
  }();
  return dir;
}

inline std::vector<std::uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace sq_imagenet_test
