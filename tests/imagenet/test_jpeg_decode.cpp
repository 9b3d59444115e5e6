// JPEG decoding against PIL (the same libjpeg-turbo underneath: equal within JPEG rounding), greyscale and CMYK to
// RGB, DCT scaling against PIL's draft(), and the reasons given for a PNG named .JPEG and for random bytes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "sq/data/image_folder.hpp"
#include "tiny_imagenet.hpp"

namespace {

using sq_imagenet_test::read_bytes;
using sq_imagenet_test::tiny_imagenet;

struct Reference {
  std::string name;
  int width, height, half_width, half_height;
};

std::vector<Reference> references() {
  std::ifstream in(tiny_imagenet() + "/reference/sizes.txt");
  std::vector<Reference> out;
  Reference r;
  while (in >> r.name >> r.width >> r.height >> r.half_width >> r.half_height) out.push_back(r);
  return out;
}

std::string path_of(const std::string& name) {
  const std::string wnid = name.substr(0, 9);
  return tiny_imagenet() + "/train/" + wnid + "/" + name;
}

// Largest and mean absolute difference between two RGB buffers.
void compare(const std::vector<std::uint8_t>& got, const std::vector<std::uint8_t>& want, const std::string& what,
             int max_allowed) {
  ASSERT_EQ(got.size(), want.size()) << what;
  int largest = 0;
  double sum = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const int d = std::abs(static_cast<int>(got[i]) - static_cast<int>(want[i]));
    largest = std::max(largest, d);
    sum += d;
  }
  EXPECT_LE(largest, max_allowed) << what;
  EXPECT_LT(sum / static_cast<double>(got.size()), 0.5) << what;
}

TEST(JpegDecode, FullSizeMatchesPilIncludingGreyscaleAndCmyk) {
  ASSERT_TRUE(sq::data::jpeg_decoding_available());
  const std::vector<Reference> refs = references();
  ASSERT_EQ(refs.size(), 26u);
  sq::data::JpegDecoder decoder;
  bool saw_gray = false, saw_cmyk = false;
  for (const Reference& r : refs) {
    const std::vector<std::uint8_t> bytes = read_bytes(path_of(r.name));
    int w = 0, h = 0;
    std::string why;
    ASSERT_TRUE(decoder.header(bytes.data(), bytes.size(), w, h, why)) << r.name << ": " << why;
    EXPECT_EQ(w, r.width);
    EXPECT_EQ(h, r.height);
    sq::data::RgbImage image;
    ASSERT_TRUE(decoder.decode(bytes.data(), bytes.size(), 8, 8, image, why)) << r.name << ": " << why;
    ASSERT_EQ(image.width, r.width);
    ASSERT_EQ(image.height, r.height);
    // Same library, same (islow) IDCT and upsampling: PIL and libjpeg-turbo agree to the rounding.
    compare(image.pixels, read_bytes(tiny_imagenet() + "/reference/" + r.name + ".rgb"), r.name, 1);
    saw_gray = saw_gray || r.name.find("gray") != std::string::npos;
    saw_cmyk = saw_cmyk || r.name.find("cmyk") != std::string::npos;
  }
  EXPECT_TRUE(saw_gray && saw_cmyk);
}

TEST(JpegDecode, GreyscaleComesOutWithEqualChannels) {
  sq::data::JpegDecoder decoder;
  const std::vector<std::uint8_t> bytes = read_bytes(path_of("n00000001_gray.JPEG"));
  sq::data::RgbImage image;
  std::string why;
  ASSERT_TRUE(decoder.decode(bytes.data(), bytes.size(), 8, 8, image, why)) << why;
  for (std::size_t i = 0; i < image.pixels.size(); i += 3) {
    ASSERT_EQ(image.pixels[i], image.pixels[i + 1]);
    ASSERT_EQ(image.pixels[i], image.pixels[i + 2]);
  }
}

TEST(JpegDecode, DctScalingMatchesPilDraft) {
  sq::data::JpegDecoder decoder;
  int checked = 0;
  for (const Reference& r : references()) {
    if (r.half_width == r.width) continue;  // PIL's draft only scales when the halved size is exact
    const std::vector<std::uint8_t> bytes = read_bytes(path_of(r.name));
    sq::data::RgbImage image;
    std::string why;
    ASSERT_TRUE(decoder.decode(bytes.data(), bytes.size(), 4, 8, image, why)) << why;
    EXPECT_EQ(image.width, sq::data::scaled_dimension(r.width, 4, 8));
    ASSERT_EQ(image.width, r.half_width);
    ASSERT_EQ(image.height, r.half_height);
    compare(image.pixels, read_bytes(tiny_imagenet() + "/reference/" + r.name + ".half.rgb"), r.name + " at 1/2", 1);
    ++checked;
  }
  EXPECT_GE(checked, 1);
}

TEST(JpegDecode, ScaleForPicksTheSmallestFactorThatStillCovers) {
  int num = 0, denom = 0;
  sq::data::scale_for(1000, 800, 224, 224, num, denom);  // 2/8 of 800 = 200 < 224; 3/8 = 300
  EXPECT_EQ(num, 3);
  EXPECT_EQ(denom, 8);
  sq::data::scale_for(230, 500, 224, 224, num, denom);  // no reduction covers 224 from 230
  EXPECT_EQ(num, 8);
  sq::data::scale_for(1800, 1800, 224, 224, num, denom);  // 1/8: 225 >= 224
  EXPECT_EQ(num, 1);
}

TEST(JpegDecode, PngNamedJpegAndRandomBytesAreReportedNotDecoded) {
  sq::data::JpegDecoder decoder;
  int w = 0, h = 0;
  std::string why;
  const std::vector<std::uint8_t> png = read_bytes(path_of("n00000001_png.JPEG"));
  EXPECT_FALSE(decoder.header(png.data(), png.size(), w, h, why));
  EXPECT_NE(why.find("PNG"), std::string::npos) << why;
  const std::vector<std::uint8_t> junk = read_bytes(path_of("n00000001_corrupt.JPEG"));
  sq::data::RgbImage image;
  EXPECT_FALSE(decoder.decode(junk.data(), junk.size(), 8, 8, image, why));
  EXPECT_NE(why.find("not a JPEG"), std::string::npos) << why;
  // A JPEG cut short after its header: the header reads, the decode is reported (or completed with a warning).
  const std::vector<std::uint8_t> good = read_bytes(path_of("n00000000_1.JPEG"));
  std::vector<std::uint8_t> cut(good.begin(), good.begin() + 40);
  EXPECT_FALSE(decoder.header(cut.data(), cut.size(), w, h, why));
  EXPECT_FALSE(why.empty());
}

}  // namespace
