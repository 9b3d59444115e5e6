// Small helpers shared by the layer implementations: argument checks with messages that name the layer, and the
// device dispatch includes.
#pragma once

#include <ostream>
#include <string>
#include <string_view>

#include "sq/config.hpp"
#include "sq/core/error.hpp"
#include "sq/core/tensor.hpp"
#include "sq/nn/context.hpp"
#include "sq/nn/parameter.hpp"

#if SQ_WITH_CUDA
#include "cuda/cuda_libraries.hpp"
#endif

namespace sq::nn::detail {

// The layer a message is about: "Conv2d 'conv1'", or "ReLU" when unnamed. Text is only built when streamed, so
// checks inside forward/backward allocate nothing unless they fail.
struct Who {
  Who(const char* kind_, std::string_view name_ = {}) : kind(kind_), name(name_) {}
  const char* kind;
  std::string_view name;
};
inline std::ostream& operator<<(std::ostream& out, const Who& who) {
  out << who.kind;
  if (!who.name.empty()) out << " '" << who.name << "'";
  return out;
}

// forward/backward get what setup() prepared for: same shape, f32, on the context's device.
inline void check_tensor(const Tensor& t, const Shape& expected, const ExecutionContext& ctx, const Who& who,
                         const char* what) {
  SQ_CHECK(t.shape() == expected, who << ": " << what << " has shape " << shape_str(t.shape())
                                      << " but setup() was for " << shape_str(expected)
                                      << "; call setup() again when the shape changes");
  SQ_CHECK(t.dtype() == DType::f32, who << ": " << what << " must be float32, got " << dtype_name(t.dtype()));
  SQ_CHECK(t.device() == ctx.device,
           who << ": " << what << " is on " << t.device().str() << " but the context runs on " << ctx.device.str());
}

// Kernels index within a tensor with 32-bit arithmetic where it matters for speed.
inline void check_elements(const Shape& shape, const std::string& who) {
  SQ_CHECK(shape_numel(shape) < (std::int64_t(1) << 31),
           who << ": tensors of 2^31 elements or more are not supported (shape " << shape_str(shape)
               << "); use a smaller batch");
}

inline Parameter make_parameter(std::string name, Shape shape, ParamInit init, bool quantized) {
  Parameter p;
  p.name = std::move(name);
  p.shape = std::move(shape);
  p.init = init;
  p.quantized = quantized;
  return p;
}

// A parameter must have been bound by a ParameterArena on the context's device before forward.
inline void check_bound(const Parameter& p, const ExecutionContext& ctx) {
  SQ_CHECK(p.effective.defined() && p.effective.numel() == shape_numel(p.shape) && p.effective.raw() != nullptr,
           "parameter '" << p.name << "' is not bound: bind the model's parameters with a ParameterArena first");
  SQ_CHECK(p.effective.device() == ctx.device, "parameter '" << p.name << "' lives on " << p.effective.device().str()
                                                             << " but the context runs on " << ctx.device.str());
}

}  // namespace sq::nn::detail
