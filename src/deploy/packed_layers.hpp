// The layers of a packed network (inference only): built from the .sqm graph by inference.cpp, on the CPU
// (src/deploy/packed_kernels*, src/cpu) or on a CUDA device (kernels/packed.cu and the training framework's
// pool / activation kernels). Every pointer a layer gets lives on its device.
#pragma once

#include <memory>
#include <vector>

#include "deploy/packed_kernels.hpp"
#include "sq/core/tensor.hpp"
#include "sq/detail/packed_math.hpp"

namespace sq::deploy::detail {

class Layer {
 public:
  virtual ~Layer() = default;
  // Per-sample shapes with the batch in front: allocates the output (and workspace) for `input`.
  virtual Shape setup(const Shape& input) = 0;
  virtual const Tensor& forward(const Tensor& input) = 0;
};
using Layers = std::vector<std::unique_ptr<Layer>>;

// A conv or FC weight: packed codes + row scales, or (first / last layer kept full precision) fp32.
struct LayerWeight {
  bool packed = false;
  PackedWeight codes;           // when packed
  const float* fp32 = nullptr;  // [rows, cols] otherwise
  std::int64_t rows = 0, cols = 0;
  const float* bias = nullptr;  // [rows] or null

  sq::detail::PackedGemmWeight gemm() const {  // as the GPU kernels read it
    return {packed ? codes.codes : nullptr, packed ? codes.scales : nullptr, packed ? nullptr : fp32, rows, cols,
            packed ? codes.row_bytes : 0,   packed ? codes.bits : 0};
  }
};

std::unique_ptr<Layer> make_conv(LayerWeight w, int in, int out, int kernel, int stride, int pad, Device device);
std::unique_ptr<Layer> make_linear(LayerWeight w, int in, int out, Device device);
std::unique_ptr<Layer> make_affine(const float* scale, const float* shift, int channels,
                                   Device device);  // inference BN
std::unique_ptr<Layer> make_relu(Device device);
std::unique_ptr<Layer> make_maxpool(int kernel, int stride, Device device);
std::unique_ptr<Layer> make_global_avg_pool(Device device);
std::unique_ptr<Layer> make_flatten();
// relu(body(x) + shortcut(x)); an empty shortcut is the identity.
std::unique_ptr<Layer> make_block(Layers body, Layers shortcut, Device device);

}  // namespace sq::deploy::detail
