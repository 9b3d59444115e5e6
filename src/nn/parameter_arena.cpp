// ParameterArena: lays every parameter of a model out in one buffer (quantized prefix first) and initialises it.
#include <algorithm>
#include <cmath>
#include <vector>

#include "sq/core/philox.hpp"
#include "sq/nn/parameter.hpp"

namespace sq::nn {

namespace {
int arena_class(const Parameter& p) {
  return p.quantized ? 0 : (p.decay ? 1 : 2);
}
}  // namespace

std::uint64_t stable_name_hash(const std::string& name) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : name) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

void ParameterArena::bind(const std::vector<Parameter*>& params, Device device) {
  params_ = params;
  std::stable_sort(params_.begin(), params_.end(),
                   [](const Parameter* a, const Parameter* b) { return arena_class(*a) < arena_class(*b); });
  for (std::size_t i = 0; i < params_.size(); ++i) {
    for (std::size_t j = i + 1; j < params_.size(); ++j) {
      SQ_CHECK(params_[i]->name != params_[j]->name, "two parameters are named '" << params_[i]->name << "'");
    }
  }
  std::int64_t total = 0;
  quantized_numel_ = 0;
  decayed_end_ = 0;
  segments_.clear();
  for (Parameter* p : params_) {
    SQ_CHECK(!p->quantized || p->shape.size() >= 2,
             "quantized parameter '" << p->name << "' needs rows (output channels): shape " << shape_str(p->shape));
    const std::int64_t n = shape_numel(p->shape);
    if (p->quantized) {
      segments_.push_back({total, p->rows(), p->cols()});
      quantized_numel_ = total + n;
    }
    total += n;
    if (p->quantized || p->decay) decayed_end_ = total;
  }
  device_ = device;
  values_ = Tensor::zeros({total}, DType::f32, device);
  grads_ = Tensor::zeros({total}, DType::f32, device);
  hybrid_ = Tensor::zeros({quantized_numel_}, DType::f32, device);
  std::int64_t offset = 0;
  offsets_.clear();
  for (Parameter* p : params_) {
    const std::int64_t n = shape_numel(p->shape);
    offsets_.push_back(offset);
    p->value = values_.view(offset, p->shape);
    p->grad = grads_.view(offset, p->shape);
    p->effective = p->quantized ? hybrid_.view(offset, p->shape) : values_.view(offset, p->shape);
    offset += n;
  }
}

std::int64_t ParameterArena::offset_of(const Parameter& p) const {
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (params_[i] == &p) return offsets_[i];
  }
  SQ_FAIL("parameter '" << p.name << "' is not in this arena");
}

const Parameter& ParameterArena::parameter_at(std::int64_t offset) const {
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (offset >= offsets_[i] && offset < offsets_[i] + shape_numel(params_[i]->shape)) return *params_[i];
  }
  SQ_FAIL("element offset " << offset << " is outside the arena's " << values_.numel() << " elements");
}

ParameterArena::UnitRange ParameterArena::units_of(const Parameter& p, bool per_element) const {
  SQ_CHECK(p.quantized, "parameter '" << p.name << "' is not quantized: it has no SQ units");
  std::int64_t begin = 0;
  for (const Parameter* q : params_) {
    if (!q->quantized) continue;
    const std::int64_t units = per_element ? shape_numel(q->shape) : q->rows();
    if (q == &p) return {begin, begin + units};
    begin += units;
  }
  SQ_FAIL("parameter '" << p.name << "' is not in this arena");
}

const Parameter& ParameterArena::parameter_of_unit(std::int64_t unit, bool per_element) const {
  std::int64_t begin = 0;
  for (const Parameter* q : params_) {
    if (!q->quantized) continue;
    const std::int64_t units = per_element ? shape_numel(q->shape) : q->rows();
    if (unit >= begin && unit < begin + units) return *q;
    begin += units;
  }
  SQ_FAIL("SQ unit " << unit << " is outside the " << begin << " units of the quantized parameters");
}

void ParameterArena::initialise(std::uint64_t seed) {
  std::vector<float> host(static_cast<std::size_t>(values_.numel()));
  std::size_t offset = 0;
  for (const Parameter* p : params_) {
    const std::size_t n = static_cast<std::size_t>(shape_numel(p->shape));
    const std::uint64_t stream = stable_name_hash(p->name);
    const double fan_in = static_cast<double>(std::max<std::int64_t>(1, p->cols()));
    for (std::size_t i = 0; i < n; ++i) {
      float v = 0.f;
      switch (p->init) {
        case ParamInit::zeros: v = 0.f; break;
        case ParamInit::ones: v = 1.f; break;
        case ParamInit::he_normal:
        case ParamInit::gaussian_0_01: {
          // Box-Muller on two Philox uniforms in (0, 1].
          const double u1 = philox_uniform_at(seed, stream, 2 * i);
          const double u2 = philox_uniform_at(seed, stream, 2 * i + 1);
          const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
          const double stddev = p->init == ParamInit::he_normal ? std::sqrt(2.0 / fan_in) : 0.01;
          v = static_cast<float>(z * stddev);
          break;
        }
        case ParamInit::he_uniform_fan_in: {
          // PyTorch's default for Linear/Conv: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
          const double u = philox_uniform_at(seed, stream, i);
          v = static_cast<float>((2.0 * u - 1.0) / std::sqrt(fan_in));
          break;
        }
      }
      host[offset + i] = v;
    }
    offset += n;
  }
  copy_bytes(values_.raw(), device_, host.data(), Device::cpu(), values_.bytes());
  grads_.fill_zero();
  // The hybrid starts as the master values, so a forward before the first SQ pass computes with W.
  if (quantized_numel_ > 0) copy_bytes(hybrid_.raw(), device_, values_.raw(), device_, hybrid_.bytes());
}

}  // namespace sq::nn
