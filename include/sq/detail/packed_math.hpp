// The decoding of packed low-bit weights (docs/DEPLOY.md, the layout of sq/deploy/packed_codes.hpp) and the
// per-output formula of the packed GEMM, ONE definition shared by the GPU kernels (kernels/packed.cu), their host
// twins (src/cpu/packed.cpp) and the CPU inference kernels (src/deploy/packed_kernels.inc).
//   bits = 1 (BWN):   bit 1 = +1, bit 0 = -1.
//   bits = 2..8:      the signed level in two's complement (TWN: 00 = 0, 01 = +1, 11 = -1).
#pragma once

#include <cmath>
#include <cstdint>

#include "sq/detail/host_device.hpp"

namespace sq::detail {

// The raw `bits`-bit code of element `index` of a packed row (LSB first; a code never straddles more than two
// bytes since bits <= 8).
SQ_HOST_DEVICE inline unsigned packed_raw_code(const std::uint8_t* row, std::int64_t index, int bits) {
  const std::int64_t bit = index * bits;
  unsigned word = row[bit >> 3];
  if ((bit & 7) + bits > 8) word |= static_cast<unsigned>(row[(bit >> 3) + 1]) << 8;
  return (word >> (bit & 7)) & ((1u << bits) - 1u);
}

// The level a raw code stands for.
SQ_HOST_DEVICE inline int packed_code_level(unsigned code, int bits) {
  if (bits == 1) return code ? 1 : -1;
  return static_cast<int>(code) - ((code >> (bits - 1)) ? (1 << bits) : 0);  // sign extension
}

SQ_HOST_DEVICE inline int packed_level(const std::uint8_t* row, std::int64_t index, int bits) {
  return packed_code_level(packed_raw_code(row, index, bits), bits);
}

// A conv / FC weight as the packed GEMM reads it: packed codes with one scale per row, or (a layer kept full
// precision) fp32 values (fp32 != nullptr; scale 1).
struct PackedGemmWeight {
  const std::uint8_t* codes = nullptr;  // [rows, row_bytes]
  const float* scales = nullptr;        // [rows]
  const float* fp32 = nullptr;          // [rows, cols] when not packed
  std::int64_t rows = 0, cols = 0, row_bytes = 0;
  int bits = 0;
};

// The multiplier of x_k in row o's sum: the level (packed; the row scale is applied once per output) or the
// fp32 weight.
SQ_HOST_DEVICE inline float packed_gemm_factor(const PackedGemmWeight& w, std::int64_t o, std::int64_t k) {
  if (w.fp32 != nullptr) return w.fp32[o * w.cols + k];
  return static_cast<float>(packed_level(w.codes + o * w.row_bytes, k, w.bits));
}

// One term of the sum (k ascending, from 0): explicit fma, so kernel (nvcc --fmad=false) and twin round alike.
SQ_HOST_DEVICE inline float packed_gemm_accumulate(float acc, float factor, float x) {
  return fmaf(factor, x, acc);
}

// y_o = scale_o * sum + bias_o.
SQ_HOST_DEVICE inline float packed_gemm_output(const PackedGemmWeight& w, std::int64_t o, float sum,
                                               const float* bias) {
  const float scale = w.fp32 != nullptr ? 1.f : w.scales[o];
  return fmaf(scale, sum, bias != nullptr ? bias[o] : 0.f);
}

// The input of the convolution as a GEMM operand (implicit im2col): column p = (n, oh, ow) and row
// k = (c, kh, kw) of x [N, C, H, W]; 0 in the padding.
struct ConvGeometry {
  std::int64_t n = 0;
  int c = 0, h = 0, w = 0, kernel = 1, stride = 1, pad = 0, out_h = 0, out_w = 0;
};

SQ_HOST_DEVICE inline float conv_input_at(const float* x, const ConvGeometry& g, std::int64_t k, std::int64_t p) {
  const int kk = g.kernel * g.kernel;
  const int c = static_cast<int>(k / kk), r = static_cast<int>(k - std::int64_t(c) * kk);
  const int kh = r / g.kernel, kw = r - kh * g.kernel;
  const std::int64_t ohw = std::int64_t(g.out_h) * g.out_w;
  const std::int64_t n = p / ohw;
  const int q = static_cast<int>(p - n * ohw);
  const int oh = q / g.out_w, ow = q - oh * g.out_w;
  const int ih = oh * g.stride - g.pad + kh, iw = ow * g.stride - g.pad + kw;
  if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) return 0.f;
  return x[((n * g.c + c) * g.h + ih) * g.w + iw];
}

// Where output (o, p) goes in y [N, rows, out_h, out_w].
SQ_HOST_DEVICE inline std::int64_t conv_output_index(const ConvGeometry& g, std::int64_t rows, std::int64_t o,
                                                     std::int64_t p) {
  const std::int64_t ohw = std::int64_t(g.out_h) * g.out_w;
  const std::int64_t n = p / ohw;
  return (n * rows + o) * ohw + (p - n * ohw);
}

// Inference BatchNorm (per-channel scale and shift), unfolded: two roundings, as the kernels' --fmad=false build.
SQ_HOST_DEVICE inline float channel_affine_value(float x, float scale, float shift) {
  return x * scale + shift;
}

}  // namespace sq::detail
