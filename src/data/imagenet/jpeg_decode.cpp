// JPEG decoding with libjpeg-turbo's TurboJPEG API (optional dependency: without it every call reports what to
// install), greyscale and CMYK to RGB, DCT-domain scaling, and recognising files that are not JPEGs.
#include <cstdio>
#include <cstring>

#include "sq/config.hpp"
#include "sq/data/image_folder.hpp"

#if SQ_WITH_TURBOJPEG
#include <turbojpeg.h>
#endif

namespace sq::data {
namespace {

// What a file that is not a JPEG is, from its first bytes.
std::string not_a_jpeg(const std::uint8_t* data, std::size_t size) {
  auto starts = [&](const char* magic, std::size_t n) { return size >= n && std::memcmp(data, magic, n) == 0; };
  if (size == 0) return "the file is empty";
  if (starts("\x89PNG", 4)) return "it is a PNG image named like a JPEG (convert it to JPEG, or remove it)";
  if (starts("GIF8", 4)) return "it is a GIF image named like a JPEG";
  if (starts("BM", 2)) return "it is a BMP image named like a JPEG";
  if (starts("RIFF", 4)) return "it is a RIFF (WebP?) file named like a JPEG";
  if (!starts("\xFF\xD8", 2)) return "it is not a JPEG (no FF D8 start-of-image marker)";
  return "";
}

[[maybe_unused]] int muldiv255(int a, int b) {  // PIL's MULDIV255: round(a * b / 255)
  const int t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

}  // namespace

int scaled_dimension(int dimension, int num, int denom) {
  return static_cast<int>((static_cast<long long>(dimension) * num + denom - 1) / denom);
}

void scale_for(double region_w, double region_h, int out_w, int out_h, int& num, int& denom) {
  // libjpeg-turbo's factors below 1: 1/8, 1/4, 3/8, 1/2, 5/8, 3/4, 7/8 (eighths; all fast in its IDCT).
  num = 8;
  denom = 8;
  for (int k = 1; k < 8; ++k) {
    if (region_w * k / 8.0 >= out_w && region_h * k / 8.0 >= out_h) {
      num = k;
      break;
    }
  }
}

bool read_file_bytes(const std::string& path, std::vector<std::uint8_t>& out, std::string& why) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    why = std::string("cannot open it: ") + std::strerror(errno);
    return false;
  }
  out.clear();
  std::uint8_t buffer[1 << 16];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) out.insert(out.end(), buffer, buffer + n);
  const bool bad = std::ferror(f) != 0;
  std::fclose(f);
  if (bad) why = "read error";
  return !bad;
}

#if SQ_WITH_TURBOJPEG

bool jpeg_decoding_available() {
  return true;
}

JpegDecoder::JpegDecoder() : handle_(tjInitDecompress()) {}
JpegDecoder::~JpegDecoder() {
  if (handle_ != nullptr) tjDestroy(static_cast<tjhandle>(handle_));
}

bool JpegDecoder::header(const std::uint8_t* data, std::size_t size, int& width, int& height, std::string& why) {
  why = not_a_jpeg(data, size);
  if (!why.empty()) return false;
  int subsampling = 0, colorspace = 0;
  if (tjDecompressHeader3(static_cast<tjhandle>(handle_), data, static_cast<unsigned long>(size), &width, &height,
                          &subsampling, &colorspace) != 0) {
    why = std::string("not a decodable JPEG: ") + tjGetErrorStr2(static_cast<tjhandle>(handle_));
    return false;
  }
  if (width <= 0 || height <= 0) {
    why = "the JPEG header gives a size of " + std::to_string(width) + "x" + std::to_string(height);
    return false;
  }
  return true;
}

bool JpegDecoder::decode(const std::uint8_t* data, std::size_t size, int num, int denom, RgbImage& out,
                         std::string& why) {
  tjhandle h = static_cast<tjhandle>(handle_);
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  why = not_a_jpeg(data, size);
  if (!why.empty()) return false;
  if (tjDecompressHeader3(h, data, static_cast<unsigned long>(size), &width, &height, &subsampling, &colorspace) != 0) {
    why = std::string("not a decodable JPEG: ") + tjGetErrorStr2(h);
    return false;
  }
  out.width = scaled_dimension(width, num, denom);
  out.height = scaled_dimension(height, num, denom);
  const std::size_t pixels = static_cast<std::size_t>(out.width) * static_cast<std::size_t>(out.height);
  out.pixels.resize(pixels * 3);
  const bool cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
  unsigned char* target = out.pixels.data();
  if (cmyk) {
    cmyk_.resize(pixels * 4);
    target = cmyk_.data();
  }
  // Warnings (e.g. "extraneous bytes before marker", common in ImageNet) still give a full image: accepted.
  if (tjDecompress2(h, data, static_cast<unsigned long>(size), target, out.width, 0, out.height,
                    cmyk ? TJPF_CMYK : TJPF_RGB, 0) != 0 &&
      tjGetErrorCode(h) != TJERR_WARNING) {
    why = std::string("JPEG decoding failed: ") + tjGetErrorStr2(h);
    return false;
  }
  if (cmyk) {
    // Adobe CMYK is stored inverted; PIL reads it so and converts R = (255 - C')(255 - K') / 255 on the inverted
    // values, i.e. R = K - K * (255 - C) / 255 on the stored ones (the same integer rounding).
    for (std::size_t i = 0; i < pixels; ++i) {
      const int k = cmyk_[i * 4 + 3];
      for (int c = 0; c < 3; ++c) {
        out.pixels[i * 3 + static_cast<std::size_t>(c)] =
            static_cast<std::uint8_t>(k - muldiv255(255 - cmyk_[i * 4 + static_cast<std::size_t>(c)], k));
      }
    }
  }
  return true;
}

#else  // no libjpeg-turbo

bool jpeg_decoding_available() {
  return false;
}
JpegDecoder::JpegDecoder() = default;
JpegDecoder::~JpegDecoder() = default;
namespace {
const char* kNoTurbo =
    "this build has no JPEG decoder: install libturbojpeg0-dev (scripts/common.sh does) and configure again";
}
bool JpegDecoder::header(const std::uint8_t*, std::size_t, int&, int&, std::string& why) {
  why = kNoTurbo;
  return false;
}
bool JpegDecoder::decode(const std::uint8_t*, std::size_t, int, int, RgbImage&, std::string& why) {
  why = kNoTurbo;
  return false;
}

#endif

}  // namespace sq::data
