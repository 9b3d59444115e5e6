// The layers of a packed network (inference only, host): built from the .sqm graph by inference.cpp.
#pragma once

#include <memory>
#include <vector>

#include "deploy/packed_kernels.hpp"
#include "sq/core/tensor.hpp"

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
};

std::unique_ptr<Layer> make_conv(LayerWeight w, int in, int out, int kernel, int stride, int pad);
std::unique_ptr<Layer> make_linear(LayerWeight w, int in, int out);
std::unique_ptr<Layer> make_affine(const float* scale, const float* shift, int channels);  // inference BN
std::unique_ptr<Layer> make_relu();
std::unique_ptr<Layer> make_maxpool(int kernel, int stride);
std::unique_ptr<Layer> make_global_avg_pool();
std::unique_ptr<Layer> make_flatten();
// relu(body(x) + shortcut(x)); an empty shortcut is the identity.
std::unique_ptr<Layer> make_block(Layers body, Layers shortcut);

}  // namespace sq::deploy::detail
