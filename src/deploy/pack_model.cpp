// pack_model: walks the network's modules in forward order and writes each layer in its packed form. Quantized
// weights are read off Q(W) as written by the SQ pipeline's quantize_all (the quantizer's own thresholds and
// scales): per row the scale and the integer level of every weight; BatchNorm becomes its inference affine form
// or is folded into the quantized layer before it.
#include <cmath>
#include <nlohmann/json.hpp>

#include "deploy/pack_rows.hpp"
#include "sq/core/error.hpp"
#include "sq/deploy/packed.hpp"
#include "sq/deploy/packed_codes.hpp"
#include "sq/detail/batchnorm_math.hpp"
#include "sq/nn/layers.hpp"

namespace sq::deploy {
namespace {

using Json = nlohmann::ordered_json;

Tensor host_copy(const Tensor& t) {
  return t.to(Device::cpu());
}

class GraphWriter {
 public:
  GraphWriter(nn::Model& model, const PackOptions& options, train::Checkpoint& out)
      : options_(options), out_(out), bits_(nn::quantized_bits(*model.sq_options())) {}

  Json sequence(const std::vector<nn::Module*>& modules) {
    Json ops = Json::array();
    for (std::size_t i = 0; i < modules.size(); ++i) {
      nn::Module* m = modules[i];
      nn::BatchNorm* next_bn = i + 1 < modules.size() ? dynamic_cast<nn::BatchNorm*>(modules[i + 1]) : nullptr;
      if (auto* conv = dynamic_cast<nn::Conv2d*>(m)) {
        Json op = {{"op", "conv"},
                   {"name", conv->name()},
                   {"in", conv->in_channels()},
                   {"out", conv->out_channels()},
                   {"kernel", conv->kernel()},
                   {"stride", conv->stride()},
                   {"pad", conv->padding()}};
        if (weight_layer(*m, op, next_bn)) ++i;
        ops.push_back(op);
      } else if (auto* fc = dynamic_cast<nn::Linear*>(m)) {
        Json op = {{"op", "linear"}, {"name", fc->name()}, {"in", fc->in_features()}, {"out", fc->out_features()}};
        if (weight_layer(*m, op, next_bn)) ++i;
        ops.push_back(op);
      } else if (auto* bn = dynamic_cast<nn::BatchNorm*>(m)) {
        const Affine a = affine(*bn);
        out_.add(bn->name() + ".scale", Tensor::from_vector(a.scale, {bn->channels()}, Device::cpu()));
        out_.add(bn->name() + ".shift", Tensor::from_vector(a.shift, {bn->channels()}, Device::cpu()));
        ops.push_back({{"op", "bn"}, {"name", bn->name()}, {"channels", bn->channels()}});
      } else if (auto* block = dynamic_cast<nn::BasicBlock*>(m)) {
        std::vector<nn::Module*> parts = block->children();
        // conv1, bn1, relu1, conv2, bn2, [shortcut conv, shortcut bn], relu_out (BasicBlock::children).
        std::vector<nn::Module*> body(parts.begin(), parts.begin() + 5);
        std::vector<nn::Module*> shortcut;
        if (block->has_projection()) shortcut = {parts[5], parts[6]};
        ops.push_back(
            {{"op", "block"}, {"name", block->name()}, {"body", sequence(body)}, {"shortcut", sequence(shortcut)}});
      } else if (auto* pool = dynamic_cast<nn::MaxPool2d*>(m)) {
        ops.push_back({{"op", "maxpool"}, {"kernel", pool->kernel()}, {"stride", pool->stride()}});
      } else if (m->type() == "ReLU") {
        ops.push_back({{"op", "relu"}});
      } else if (m->type() == "GlobalAvgPool") {
        ops.push_back({{"op", "gap"}});
      } else if (m->type() == "Flatten") {
        ops.push_back({{"op", "flatten"}});
      } else if (m->type() == "Dropout") {
        continue;  // the identity at inference
      } else {
        SQ_FAIL("pack_model: layer type " << m->type() << " ('" << m->name() << "') has no packed form");
      }
    }
    return ops;
  }

 private:
  struct Affine {
    std::vector<float> scale, shift;
  };

  // Inference BN: y = x * scale + shift, scale = gamma / sqrt(var + eps), shift = beta - mean * scale.
  static Affine affine(nn::BatchNorm& bn) {
    std::vector<nn::Parameter*> params;
    bn.collect_parameters(params);
    std::vector<nn::NamedBuffer> buffers;
    bn.collect_buffers(buffers);
    const Tensor gamma = host_copy(params.at(0)->effective), beta = host_copy(params.at(1)->effective);
    const Tensor mean = host_copy(*buffers.at(0).tensor), var = host_copy(*buffers.at(1).tensor);
    Affine a;
    for (int c = 0; c < bn.channels(); ++c) {
      const float s = gamma.data<float>()[c] * sq::detail::bn_invstd(var.data<float>()[c], bn.eps());
      a.scale.push_back(s);
      a.shift.push_back(beta.data<float>()[c] - mean.data<float>()[c] * s);
    }
    return a;
  }

  // Writes the layer's weight (packed when quantized) and bias; returns true when `next_bn` was folded in.
  bool weight_layer(nn::Module& m, Json& op, nn::BatchNorm* next_bn) {
    std::vector<nn::Parameter*> params;
    m.collect_parameters(params);
    nn::Parameter& w = *params.at(0);
    nn::Parameter* b = params.size() > 1 ? params[1] : nullptr;
    const std::int64_t rows = w.rows();
    std::vector<float> bias(static_cast<std::size_t>(rows), 0.f);
    if (b) {
      const Tensor hb = host_copy(b->effective);
      bias.assign(hb.data<float>(), hb.data<float>() + rows);
    }
    op["quantized"] = w.quantized;
    op["shape"] = w.shape;
    const Tensor values = host_copy(w.effective);
    bool fold = false;
    if (w.quantized) {
      detail::PackedRows packed = detail::rows_from_quantized(values.data<float>(), rows, w.cols(), bits_, w.name);
      fold = options_.fold_bn && next_bn != nullptr;
      if (fold) {
        // BN after the layer: y = a * (s * sum(level * x)) + b' = |a s| * sum(sign(a) level * x) + b'. The codes
        // of rows with a < 0 are negated (levels are symmetric), so every stored scale stays >= 0.
        const Affine a = affine(*next_bn);
        for (std::int64_t r = 0; r < rows; ++r) {
          const float ar = a.scale[static_cast<std::size_t>(r)];
          packed.scales[static_cast<std::size_t>(r)] = std::fabs(ar * packed.scales[static_cast<std::size_t>(r)]);
          if (ar < 0.f) detail::negate_row(packed, r);
          bias[static_cast<std::size_t>(r)] =
              ar * bias[static_cast<std::size_t>(r)] + a.shift[static_cast<std::size_t>(r)];
        }
        op["folded_bn"] = next_bn->name();
      }
      op["bits"] = bits_;
      out_.add(w.name + ".codes", detail::codes_tensor(packed));
      out_.add(w.name + ".scale", Tensor::from_vector(packed.scales, {rows}, Device::cpu()));
    } else {
      out_.add(w.name, values);
    }
    op["bias"] = b != nullptr || fold;
    if (b != nullptr || fold) {
      out_.add(op["name"].get<std::string>() + ".bias", Tensor::from_vector(bias, {rows}, Device::cpu()));
    }
    return fold;
  }

  const PackOptions& options_;
  train::Checkpoint& out_;
  int bits_;
};

}  // namespace

train::Checkpoint pack_model(nn::Model& model, const PackOptions& options) {
  SQ_CHECK(model.pipeline() != nullptr && model.sq_options().has_value(),
           "the network is full precision (quantizer 'none', an FWN run): there are no low-bit weights to pack; "
           "export a checkpoint of a BWN/TWN/k-bit run");
  const nn::ModelSpec& spec = model.spec();
  const quant::SqOptions& sq = *model.sq_options();
  train::Checkpoint out;
  GraphWriter writer(model, options, out);
  const Json graph = writer.sequence(model.root().children());
  out.metadata[packed_key::kFormat] = kPackedFormatName;
  out.metadata[packed_key::kFormatVersion] = std::to_string(kPackedFormatVersion);
  out.metadata[packed_key::kArch] = spec.arch;
  out.metadata[packed_key::kSpec] = Json{
      {"arch", spec.arch},
      {"in_channels", spec.in_channels},
      {"classes", spec.classes},
      {"image_size", spec.image_size},
      {"quantize_first", spec.quantize_first},
      {"quantize_last",
       spec.quantize_last}}.dump();
  out.metadata[packed_key::kQuantizer] = quant::to_string(sq.quantizer);
  out.metadata[packed_key::kBits] = std::to_string(nn::quantized_bits(sq));
  out.metadata[packed_key::kGraph] = graph.dump();
  SQ_CHECK(options.normalization.mean.size() == static_cast<std::size_t>(spec.in_channels) &&
               options.normalization.stddev.size() == static_cast<std::size_t>(spec.in_channels),
           "pack_model: the input normalisation needs " << spec.in_channels << " channel means and deviations");
  out.metadata[packed_key::kNormalization] =
      Json{{"mean", options.normalization.mean}, {"std", options.normalization.stddev}}.dump();
  out.metadata[packed_key::kFoldedBn] = options.fold_bn ? "1" : "0";
  out.metadata[packed_key::kDataset] = options.dataset;
  out.metadata[packed_key::kConfig] = options.config_json;
  out.metadata[packed_key::kSource] = options.source;
  return out;
}

}  // namespace sq::deploy
