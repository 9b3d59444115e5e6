// Parameters and the arena that holds them all: one buffer of master values, one of gradients, one of the
// effective (hybrid) values layers compute with, so the SQ pipeline and SGD are a fixed number of launches.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sq/core/tensor.hpp"

namespace sq::nn {

enum class ParamInit { zeros, ones, he_normal, he_uniform_fan_in, gaussian_0_01 };

// FNV-1a of a name: picks a parameter's (or a dropout layer's) random stream, so that adding a layer elsewhere
// does not change it.
std::uint64_t stable_name_hash(const std::string& name);

struct Parameter {
  // Declared by the module that owns it.
  std::string name;  // "features.0.conv.weight", unique within a model
  Shape shape;       // weights: [out, in, kh, kw] or [out, in]; row i (output channel) is what SQ quantizes
  ParamInit init = ParamInit::zeros;
  bool decay = true;       // weight decay applies (SQ_SPEC section 8: all parameters by default)
  bool quantized = false;  // rows pass through the SQ pipeline (conv / FC weights in quantized mode)

  // Bound by ParameterArena::bind(): views into the arenas.
  Tensor value;  // fp32 master weights, updated by the optimiser
  Tensor grad;   // dL/d(effective), written by backward (straight-through for quantized rows)
  // What forward/backward compute with: for quantized parameters the hybrid W~ (the SQ pipeline rewrites it at
  // every step from `value`, so after a step it holds the quantized/full-precision mix of the step's draw, not
  // the updated master weights); for all others a view of `value` itself (the updated values).
  Tensor effective;

  std::int64_t rows() const { return shape.empty() ? 0 : shape[0]; }
  std::int64_t cols() const { return rows() ? shape_numel(shape) / rows() : 0; }
};

// Where one quantized weight sits in the arena (element offset) and its matrix shape, for the SQ pipeline.
struct QuantizedSegment {
  std::int64_t offset;
  std::int64_t rows;
  std::int64_t cols;
};

class ParameterArena {
 public:
  // Lays out all parameters in three buffers on `device`, ordered: quantized weights first (the SQ prefix,
  // [0, quantized_numel())), then decayed, then non-decayed parameters; binds each Parameter's views.
  // Values are left uninitialised (see initialise()).
  void bind(const std::vector<Parameter*>& params, Device device);

  // Draws initial values from the seed (host Philox, then copied): identical on every device.
  void initialise(std::uint64_t seed);

  Tensor& values() { return values_; }
  Tensor& grads() { return grads_; }
  Tensor& hybrid() { return hybrid_; }  // holds the quantized prefix only; size quantized_numel()
  std::int64_t numel() const { return values_.numel(); }
  std::int64_t quantized_numel() const { return quantized_numel_; }
  std::int64_t decayed_end() const { return decayed_end_; }  // [0, decayed_end) decays, [decayed_end, numel) not
  const std::vector<QuantizedSegment>& quantized_segments() const { return segments_; }
  const std::vector<Parameter*>& parameters() const { return params_; }  // in arena order
  Device device() const { return device_; }

  // Lookups between parameters and positions (throw sq::Error naming what is not found):
  // element offset of `p` in values(), grads() (and hybrid() for quantized parameters);
  std::int64_t offset_of(const Parameter& p) const;
  // the parameter holding element `offset` of values();
  const Parameter& parameter_at(std::int64_t offset) const;
  // the SQ pipeline's mask() and errors() hold one unit per row (channel granularity, per_element = false) or per
  // weight (element granularity) of the quantized parameters, in arena order: a quantized parameter's units are
  // [begin, end), and a unit belongs to one parameter (its row is (unit - begin) for channels).
  struct UnitRange {
    std::int64_t begin, end;
  };
  UnitRange units_of(const Parameter& p, bool per_element) const;
  const Parameter& parameter_of_unit(std::int64_t unit, bool per_element) const;

 private:
  std::vector<Parameter*> params_;
  std::vector<std::int64_t> offsets_;  // element offset of params_[i]
  std::vector<QuantizedSegment> segments_;
  Tensor values_, grads_, hybrid_;
  std::int64_t quantized_numel_ = 0;
  std::int64_t decayed_end_ = 0;
  Device device_ = Device::cpu();
};

}  // namespace sq::nn
