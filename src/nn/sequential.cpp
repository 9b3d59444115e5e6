// Sequential: forward in order, backward in reverse; parameters and buffers of all children.
#include "sq/nn/sequential.hpp"

#include "nn/layer_util.hpp"

namespace sq::nn {

Shape Sequential::setup(const Shape& input, ExecutionContext& ctx) {
  Shape shape = input;
  for (auto& m : modules_) shape = m->setup(shape, ctx);
  return shape;
}

const Tensor& Sequential::forward(const Tensor& input, ExecutionContext& ctx) {
  const Tensor* x = &input;
  for (auto& m : modules_) x = &m->forward(*x, ctx);
  return *x;
}

const Tensor& Sequential::backward(const Tensor& grad_output, ExecutionContext& ctx) {
  const Tensor* g = &grad_output;
  for (auto it = modules_.rbegin(); it != modules_.rend(); ++it) g = &(*it)->backward(*g, ctx);
  return *g;
}

void Sequential::collect_parameters(std::vector<Parameter*>& out) {
  for (auto& m : modules_) m->collect_parameters(out);
}

void Sequential::collect_buffers(std::vector<NamedBuffer>& out) {
  for (auto& m : modules_) m->collect_buffers(out);
}

std::vector<Module*> Sequential::children() {
  std::vector<Module*> out;
  for (auto& m : modules_) out.push_back(m.get());
  return out;
}

}  // namespace sq::nn
