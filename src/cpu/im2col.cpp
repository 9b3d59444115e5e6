// im2col / col2im: row (c, kh, kw) of the column matrix holds the input pixel each output position sees there.
#include "cpu/im2col.hpp"

#include <cstring>

namespace sq::cpu {

void im2col(float* col, std::int64_t col_ld, const float* image, int channels, int h, int w, int kernel, int stride,
            int pad, int out_h, int out_w) {
  for (int c = 0; c < channels; ++c) {
    for (int kh = 0; kh < kernel; ++kh) {
      for (int kw = 0; kw < kernel; ++kw) {
        float* row = col + (static_cast<std::int64_t>(c * kernel + kh) * kernel + kw) * col_ld;
        for (int oh = 0; oh < out_h; ++oh) {
          const int ih = oh * stride - pad + kh;
          float* dst = row + oh * out_w;
          if (ih < 0 || ih >= h) {
            std::memset(dst, 0, sizeof(float) * static_cast<std::size_t>(out_w));
            continue;
          }
          const float* src = image + (static_cast<std::int64_t>(c) * h + ih) * w;
          for (int ow = 0; ow < out_w; ++ow) {
            const int iw = ow * stride - pad + kw;
            dst[ow] = iw >= 0 && iw < w ? src[iw] : 0.f;
          }
        }
      }
    }
  }
}

void col2im(float* image, const float* col, std::int64_t col_ld, int channels, int h, int w, int kernel, int stride,
            int pad, int out_h, int out_w) {
  std::memset(image, 0, sizeof(float) * static_cast<std::size_t>(channels) * h * w);
  for (int c = 0; c < channels; ++c) {
    for (int kh = 0; kh < kernel; ++kh) {
      for (int kw = 0; kw < kernel; ++kw) {
        const float* row = col + (static_cast<std::int64_t>(c * kernel + kh) * kernel + kw) * col_ld;
        for (int oh = 0; oh < out_h; ++oh) {
          const int ih = oh * stride - pad + kh;
          if (ih < 0 || ih >= h) continue;
          float* dst = image + (static_cast<std::int64_t>(c) * h + ih) * w;
          for (int ow = 0; ow < out_w; ++ow) {
            const int iw = ow * stride - pad + kw;
            if (iw >= 0 && iw < w) dst[iw] += row[oh * out_w + ow];
          }
        }
      }
    }
  }
}

}  // namespace sq::cpu
