// Module: the layer interface. Buffers are allocated in setup() (once per input shape), never inside a step.
#pragma once

#include <string>
#include <vector>

#include "sq/core/tensor.hpp"
#include "sq/nn/context.hpp"
#include "sq/nn/parameter.hpp"

namespace sq::nn {

// A tensor a module keeps that is not trained by SGD but belongs in checkpoints (BN running statistics).
struct NamedBuffer {
  std::string name;
  Tensor* tensor;
};

class Module {
 public:
  virtual ~Module() = default;

  // Short type name for summaries ("Conv2d", "BatchNorm2d").
  virtual std::string type() const = 0;
  // Human-readable configuration ("64->128, 3x3, pad 1, quantized").
  virtual std::string describe() const { return type(); }
  // The name the module was built with ("layer1.0.conv1"); empty for unnamed modules (ReLU, pools).
  virtual std::string name() const { return {}; }

  // Called before the first forward and whenever the input shape changes (not inside a step): allocates the
  // output, gradient and workspace buffers on ctx.device, chooses algorithms; returns the output shape.
  virtual Shape setup(const Shape& input, ExecutionContext& ctx) = 0;

  // Computes the output into a buffer the module owns; valid until the next forward.
  virtual const Tensor& forward(const Tensor& input, ExecutionContext& ctx) = 0;

  // Given dL/d(output), writes (overwrites, never accumulates) its parameters' gradients and returns dL/d(input)
  // in a buffer the module owns. Uses what forward saved: call after forward on the same input.
  virtual const Tensor& backward(const Tensor& grad_output, ExecutionContext& ctx) = 0;

  // Parameters (declared in the constructor, bound later by the model's ParameterArena) and buffers, with
  // names prefixed by `prefix`.
  virtual void collect_parameters(std::vector<Parameter*>& out) { (void)out; }
  virtual void collect_buffers(std::vector<NamedBuffer>& out) { (void)out; }
  // Sub-modules, for summaries and traversal.
  virtual std::vector<Module*> children() { return {}; }
};

}  // namespace sq::nn
