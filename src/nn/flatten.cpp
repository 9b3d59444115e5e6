// Flatten: reshaped views of the caller's buffers (no copy, no kernel).
#include "sq/nn/flatten.hpp"

#include "nn/layer_util.hpp"

namespace sq::nn {

Shape Flatten::setup(const Shape& input, ExecutionContext& /*ctx*/) {
  SQ_CHECK(input.size() >= 2, "Flatten expects (N, ...) input, got " << shape_str(input));
  input_shape_ = input;
  output_shape_ = {input[0], shape_numel(Shape(input.begin() + 1, input.end()))};
  return output_shape_;
}

const Tensor& Flatten::forward(const Tensor& input, ExecutionContext& ctx) {
  detail::check_tensor(input, input_shape_, ctx, "Flatten", "input");
  output_ = input.view(0, output_shape_);
  return output_;
}

const Tensor& Flatten::backward(const Tensor& grad_output, ExecutionContext& ctx) {
  detail::check_tensor(grad_output, output_shape_, ctx, "Flatten", "grad_output");
  grad_input_ = grad_output.view(0, input_shape_);
  return grad_input_;
}

}  // namespace sq::nn
