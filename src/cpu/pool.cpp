// Host twins of kernels/pool.cu (same loops, same summation order as the kernels).
#include "cpu/pool.hpp"

#include "cpu/parallel.hpp"
#include "sq/detail/pool_math.hpp"

namespace sq::cpu {

void maxpool2d_forward(float* y, std::int32_t* argmax, const float* x, std::int64_t planes, int h, int w, int kernel,
                       int stride, int out_h, int out_w) {
  parallel_for(planes, planes * h * w, [&](std::int64_t p) {
    const float* in = x + p * h * w;
    for (int oh = 0; oh < out_h; ++oh) {
      for (int ow = 0; ow < out_w; ++ow) {
        int best = oh * stride * w + ow * stride;
        for (int kh = 0; kh < kernel; ++kh) {
          for (int kw = 0; kw < kernel; ++kw) {
            const int idx = (oh * stride + kh) * w + ow * stride + kw;
            if (in[idx] > in[best]) best = idx;
          }
        }
        const std::int64_t o = (p * out_h + oh) * out_w + ow;
        y[o] = in[best];
        argmax[o] = best;
      }
    }
  });
}

void maxpool2d_backward(float* dx, const float* dy, const std::int32_t* argmax, std::int64_t planes, int h, int w,
                        int kernel, int stride, int out_h, int out_w) {
  parallel_for(planes, planes * h * w, [&](std::int64_t p) {
    const float* g = dy + p * out_h * out_w;
    const std::int32_t* arg = argmax + p * out_h * out_w;
    for (int ih = 0; ih < h; ++ih) {
      int oh0, oh1;
      detail::pool_windows_containing(ih, kernel, stride, out_h, &oh0, &oh1);
      for (int iw = 0; iw < w; ++iw) {
        int ow0, ow1;
        detail::pool_windows_containing(iw, kernel, stride, out_w, &ow0, &ow1);
        const int self = ih * w + iw;
        float sum = 0.f;
        for (int oh = oh0; oh <= oh1; ++oh) {
          for (int ow = ow0; ow <= ow1; ++ow) {
            if (arg[oh * out_w + ow] == self) sum += g[oh * out_w + ow];
          }
        }
        dx[p * h * w + self] = sum;
      }
    }
  });
}

void global_avgpool_forward(float* y, const float* x, std::int64_t planes, std::int64_t hw) {
  parallel_for(planes, planes * hw, [&](std::int64_t p) {
    float sum = 0.f;
    for (std::int64_t i = 0; i < hw; ++i) sum += x[p * hw + i];
    y[p] = sum / static_cast<float>(hw);
  });
}

void global_avgpool_backward(float* dx, const float* dy, std::int64_t planes, std::int64_t hw) {
  parallel_for(planes, planes * hw, [&](std::int64_t p) {
    const float g = dy[p] / static_cast<float>(hw);
    for (std::int64_t i = 0; i < hw; ++i) dx[p * hw + i] = g;
  });
}

}  // namespace sq::cpu
