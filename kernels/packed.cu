// Inference from packed low-bit weights (docs/DEPLOY.md): conv (implicit GEMM) and FC over codes that stay packed
// in device memory. A block computes a kTileRows x kTileCols tile of outputs; for each slice of kTileK terms it
// expands its rows' codes into levels in shared memory (sq/detail/packed_math.hpp) and gathers the input slice
// (implicit im2col), then every thread accumulates 4 x 4 outputs. Each output's sum runs over k in ascending
// order with explicit fma, so the host twin (src/cpu/packed.cpp) gives the same bits whatever the tiling.
#include "launch.cuh"
#include "packed.cuh"
#include "sq/core/cuda_check.hpp"

namespace sq::gpu {

// kernels

namespace {
using sq::detail::ConvGeometry;
using sq::detail::PackedGemmWeight;

constexpr int kTileRows = 64, kTileCols = 64, kTileK = 16;
constexpr int kThreadsX = 16, kThreadsY = 16;  // 256 threads, 4 x 4 outputs each (rows ty + 16 i, cols tx + 16 j)
constexpr int kPerThread = 4;
constexpr int kThreads = kThreadsX * kThreadsY;

__global__ void __launch_bounds__(kThreads) packed_conv_kernel(float* y, PackedGemmWeight w, const float* bias,
                                                               const float* x, ConvGeometry g, std::int64_t columns) {
  __shared__ float levels[kTileK][kTileRows];  // factor(row0 + r, k0 + kk)
  __shared__ float inputs[kTileK][kTileCols];  // im2col(x)[k0 + kk, col0 + c]
  const int tx = static_cast<int>(threadIdx.x), ty = static_cast<int>(threadIdx.y);
  const int t = ty * kThreadsX + tx;
  const std::int64_t row0 = std::int64_t(blockIdx.y) * kTileRows, col0 = std::int64_t(blockIdx.x) * kTileCols;
  float acc[kPerThread][kPerThread];
  for (int i = 0; i < kPerThread; ++i)
    for (int j = 0; j < kPerThread; ++j) acc[i][j] = 0.f;
  for (std::int64_t k0 = 0; k0 < w.cols; k0 += kTileK) {
    // Each thread fills kTileK * kTileRows / kThreads = 4 levels and 4 inputs: consecutive threads take
    // consecutive k of one row (codes of a row are contiguous) and consecutive columns of one k (coalesced x).
    for (int e = t; e < kTileK * kTileRows; e += kThreads) {
      const int r = e / kTileK, kk = e - r * kTileK;
      const std::int64_t o = row0 + r, k = k0 + kk;
      levels[kk][r] = o < w.rows && k < w.cols ? sq::detail::packed_gemm_factor(w, o, k) : 0.f;
    }
    for (int e = t; e < kTileK * kTileCols; e += kThreads) {
      const int kk = e / kTileCols, c = e - kk * kTileCols;
      const std::int64_t p = col0 + c, k = k0 + kk;
      inputs[kk][c] = p < columns && k < w.cols ? sq::detail::conv_input_at(x, g, k, p) : 0.f;
    }
    __syncthreads();
    const int k_here = static_cast<int>(w.cols - k0 < kTileK ? w.cols - k0 : kTileK);
    for (int kk = 0; kk < k_here; ++kk) {
      float a[kPerThread], b[kPerThread];
      for (int i = 0; i < kPerThread; ++i) a[i] = levels[kk][ty + kThreadsY * i];
      for (int j = 0; j < kPerThread; ++j) b[j] = inputs[kk][tx + kThreadsX * j];
      for (int i = 0; i < kPerThread; ++i)
        for (int j = 0; j < kPerThread; ++j) acc[i][j] = sq::detail::packed_gemm_accumulate(acc[i][j], a[i], b[j]);
    }
    __syncthreads();  // before the next slice overwrites the tiles
  }
  for (int i = 0; i < kPerThread; ++i) {
    const std::int64_t o = row0 + ty + kThreadsY * i;
    if (o >= w.rows) continue;
    for (int j = 0; j < kPerThread; ++j) {
      const std::int64_t p = col0 + tx + kThreadsX * j;
      if (p < columns)
        y[sq::detail::conv_output_index(g, w.rows, o, p)] = sq::detail::packed_gemm_output(w, o, acc[i][j], bias);
    }
  }
}

__global__ void channel_affine_kernel(float* y, const float* x, const float* scale, const float* shift,
                                      std::int64_t planes, std::int64_t channels, std::int64_t inner) {
  SQ_FOR_EACH_PLANE(p, planes) {
    const float s = scale[p % channels], b = shift[p % channels];
    SQ_FOR_EACH_IN_PLANE(i, inner) y[p * inner + i] = sq::detail::channel_affine_value(x[p * inner + i], s, b);
  }
}

void launch_gemm(float* y, const PackedGemmWeight& w, const float* bias, const float* x, const ConvGeometry& g,
                 cudaStream_t stream) {
  const std::int64_t columns = g.n * g.out_h * g.out_w;
  if (w.rows == 0 || columns == 0) return;
  const std::int64_t row_tiles = (w.rows + kTileRows - 1) / kTileRows;
  const std::int64_t col_tiles = (columns + kTileCols - 1) / kTileCols;
  SQ_CHECK(row_tiles <= max_grid_yz() && col_tiles < (std::int64_t(1) << 31),
           "packed GEMM of " << w.rows << " rows x " << columns << " columns exceeds one grid");
  const dim3 grid(static_cast<unsigned>(col_tiles), static_cast<unsigned>(row_tiles));
  SQ_LAUNCH(packed_conv_kernel, grid, dim3(kThreadsX, kThreadsY), 0, stream, y, w, bias, x, g, columns);
  SQ_CUDA_CHECK_LAUNCH();
}
}  // namespace

// launchers

void packed_conv_forward(float* y, const sq::detail::PackedGemmWeight& w, const float* bias, const float* x,
                         const sq::detail::ConvGeometry& geometry, cudaStream_t stream) {
  launch_gemm(y, w, bias, x, geometry, stream);
}

void packed_linear_forward(float* y, const sq::detail::PackedGemmWeight& w, const float* bias, const float* x,
                           std::int64_t batch, cudaStream_t stream) {
  // A 1 x 1 convolution of a 1 x 1 image of w.cols channels: im2col(x)[k, n] = x[n * cols + k], y[n * rows + o].
  ConvGeometry g;
  g.n = batch;
  g.c = static_cast<int>(w.cols);
  g.h = g.w = g.out_h = g.out_w = 1;
  launch_gemm(y, w, bias, x, g, stream);
}

void channel_affine(float* y, const float* x, const float* scale, const float* shift, std::int64_t outer,
                    std::int64_t channels, std::int64_t inner, cudaStream_t stream) {
  if (outer * channels * inner == 0) return;
  const PlaneLaunch launch = plane_launch(outer * channels, inner);
  SQ_LAUNCH(channel_affine_kernel, launch.grid, launch.threads, 0, stream, y, x, scale, shift, outer * channels,
            channels, inner);
  SQ_CUDA_CHECK_LAUNCH();
}

}  // namespace sq::gpu
