// Checkpoint headers go through the shared JSON reader (src/train/json_parse): deep nesting is refused at parse
// (it used to crash serialising the value into an error message), duplicate keys are refused, and messages quote
// only a short excerpt.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "sq/core/error.hpp"
#include "sq/train/checkpoint.hpp"

namespace {

std::string write_safetensors(const std::string& name, const std::string& header, const std::string& data = "") {
  const std::string path = ::testing::TempDir() + "sq_ckpt_json_" + name + "_" + std::to_string(::getpid());
  std::string bytes(8, '\0');
  const std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) bytes[static_cast<std::size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  bytes += header + data;
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

std::string load_error(const std::string& path) {
  try {
    sq::train::read_checkpoint(path);
  } catch (const sq::Error& e) {
    ::unlink(path.c_str());
    return e.what();
  }
  ::unlink(path.c_str());
  return "";
}

TEST(CheckpointJson, DeeplyNestedHeadersAreRefusedWithoutCrashing) {
  for (const int levels : {100000, 50000, 100}) {
    SCOPED_TRACE(levels);
    const std::string deep = std::string(levels, '[') + std::string(levels, ']');
    for (const std::string& header : {R"({"w": {"dtype": "F32", "shape": )" + deep + R"(, "data_offsets": [0, 0]}})",
                                      R"({"__metadata__": {"config": )" + deep + "}}"}) {
      const std::string why = load_error(write_safetensors("deep", header));
      EXPECT_NE(why.find("nests deeper than"), std::string::npos) << why.substr(0, 300);
      EXPECT_LT(why.size(), 500u);
    }
  }
}

TEST(CheckpointJson, DuplicateKeysAndLongValuesAreRefusedBriefly) {
  std::string why = load_error(write_safetensors(
      "dup",
      R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "w": {"dtype": "F32", "shape": [1], )"
      R"("data_offsets": [0, 4]}})",
      std::string(4, '\0')));
  EXPECT_NE(why.find("key 'w' appears twice"), std::string::npos) << why;
  const std::string long_shape = "[" + std::string(20000, '7') + "]";
  why = load_error(
      write_safetensors("long", R"({"w": {"dtype": "F32", "shape": )" + long_shape + R"(, "data_offsets": [0, 4]}})"));
  EXPECT_FALSE(why.empty());
  EXPECT_LT(why.size(), 600u) << why.substr(0, 300);
  const std::string nested_shape = "[[[[[[" + std::string(5000, '1') + "]]]]]]";
  why = load_error(write_safetensors(
      "nested", R"({"w": {"dtype": "F32", "shape": [)" + nested_shape + R"(], "data_offsets": [0, 4]}})"));
  EXPECT_FALSE(why.empty());
  EXPECT_LT(why.size(), 600u) << why.substr(0, 300);
}

}  // namespace
