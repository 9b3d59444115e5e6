// Host twins of kernels/packed.cu (see packed.hpp).
#include "cpu/packed.hpp"

namespace sq::cpu {

void packed_conv_forward(float* y, const sq::detail::PackedGemmWeight& w, const float* bias, const float* x,
                         const sq::detail::ConvGeometry& g) {
  const std::int64_t columns = g.n * g.out_h * g.out_w;
  for (std::int64_t o = 0; o < w.rows; ++o) {
    for (std::int64_t p = 0; p < columns; ++p) {
      float sum = 0.f;
      for (std::int64_t k = 0; k < w.cols; ++k)
        sum = sq::detail::packed_gemm_accumulate(sum, sq::detail::packed_gemm_factor(w, o, k),
                                                 sq::detail::conv_input_at(x, g, k, p));
      y[sq::detail::conv_output_index(g, w.rows, o, p)] = sq::detail::packed_gemm_output(w, o, sum, bias);
    }
  }
}

void packed_linear_forward(float* y, const sq::detail::PackedGemmWeight& w, const float* bias, const float* x,
                           std::int64_t batch) {
  for (std::int64_t n = 0; n < batch; ++n) {
    for (std::int64_t o = 0; o < w.rows; ++o) {
      float sum = 0.f;
      for (std::int64_t k = 0; k < w.cols; ++k)
        sum = sq::detail::packed_gemm_accumulate(sum, sq::detail::packed_gemm_factor(w, o, k), x[n * w.cols + k]);
      y[n * w.rows + o] = sq::detail::packed_gemm_output(w, o, sum, bias);
    }
  }
}

void channel_affine(float* y, const float* x, const float* scale, const float* shift, std::int64_t outer,
                    std::int64_t channels, std::int64_t inner) {
  for (std::int64_t n = 0; n < outer; ++n)
    for (std::int64_t c = 0; c < channels; ++c)
      for (std::int64_t i = 0; i < inner; ++i) {
        const std::int64_t e = (n * channels + c) * inner + i;
        y[e] = sq::detail::channel_affine_value(x[e], scale[c], shift[c]);
      }
}

}  // namespace sq::cpu
