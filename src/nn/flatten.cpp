// Flatten: reshaped views of the caller's buffers (no copy, no kernel).
#include "sq/nn/flatten.hpp"

#include "nn/layer_util.hpp"

namespace sq::nn {

Shape Flatten::setup(const Shape& input, ExecutionContext& /*ctx*/) {
  SQ_CHECK(input.size() >= 2, "Flatten expects (N, ...) input, got " << shape_str(input));
  input_shape_ = input;
  output_shape_ = {input[0], shape_numel(Shape(input.begin() + 1, input.end()))};
  output_ = Tensor();
  grad_input_ = Tensor();
  return output_shape_;
}

const Tensor& Flatten::forward(const Tensor& input, ExecutionContext& ctx) {
  detail::check_tensor(input, input_shape_, ctx, {"Flatten"}, "input");
  // A view holds its storage alive, so an equal address is the same buffer: re-viewing it (a Shape copy, a heap
  // allocation) is only needed when the input buffer changes.
  if (output_.raw() != input.raw()) output_ = input.view(0, output_shape_);
  return output_;
}

const Tensor& Flatten::backward(const Tensor& grad_output, ExecutionContext& ctx) {
  detail::check_tensor(grad_output, output_shape_, ctx, {"Flatten"}, "grad_output");
  if (grad_input_.raw() != grad_output.raw()) grad_input_ = grad_output.view(0, input_shape_);
  return grad_input_;
}

}  // namespace sq::nn
