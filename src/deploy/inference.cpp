// PackedNetwork: reads a .sqm file, validates its metadata, graph and tensors (naming the file and the field),
// and builds the layers over the file's tensors (codes stay U8 in memory; on a GPU a device copy of each).
#include "sq/deploy/inference.hpp"

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "deploy/packed_layers.hpp"
#include "sq/core/device.hpp"
#include "sq/core/error.hpp"
#include "sq/deploy/packed.hpp"
#include "sq/deploy/packed_codes.hpp"
#include "sq/nn/models.hpp"

namespace sq::deploy {

using Json = nlohmann::json;

struct PackedNetwork::Impl {
  PackedInfo info;
  train::Checkpoint file;
  detail::Layers layers;
  std::set<std::string> used;  // tensors the graph refers to
  std::int64_t batch = -1;
  std::map<std::string, Shape> weights;  // conv / FC weight shapes the graph declares
  Device device;
  std::map<std::string, Tensor> on_device;  // device copies of the tensors the layers use (device cuda)
  Tensor input;                             // device copy of host images (device cuda)

  std::string where(const std::string& field) const { return info.path + ": " + field; }

  const std::string& meta(const std::string& key) const {
    const auto it = file.metadata.find(key);
    SQ_CHECK(it != file.metadata.end(), info.path << " has no metadata '" << key << "' (not a complete packed file)");
    return it->second;
  }

  Json meta_json(const std::string& key) const {
    try {
      return Json::parse(meta(key));
    } catch (const Json::exception& e) {
      SQ_FAIL(where("metadata '" + key + "'") << " is not valid JSON (" << e.what() << ")");
    }
  }

  static int field(const Json& op, const char* name, const std::string& context) {
    SQ_CHECK(op.contains(name) && op[name].is_number_integer() && op[name].get<long long>() >= 0,
             context << " has no non-negative integer '" << name << "'");
    return op[name].get<int>();
  }

  const Tensor& tensor(const std::string& name, DType dtype, const Shape& shape) {
    const Tensor* t = file.find(name);
    SQ_CHECK(t != nullptr, where("tensor '" + name + "'") << " is missing (the graph needs it)");
    SQ_CHECK(t->dtype() == dtype && t->shape() == shape,
             where("tensor '" + name + "'") << " is " << dtype_name(t->dtype()) << " " << shape_str(t->shape())
                                            << ", the graph needs " << dtype_name(dtype) << " " << shape_str(shape));
    used.insert(name);
    if (device.is_cpu()) return *t;
    auto it = on_device.find(name);
    if (it == on_device.end()) it = on_device.emplace(name, t->to(device)).first;
    return it->second;
  }

  detail::LayerWeight weight(const Json& op, const std::string& context, std::int64_t rows, std::int64_t cols) {
    const std::string name = op.at("name").get<std::string>();
    detail::LayerWeight w;
    w.rows = rows;
    w.cols = cols;
    weights[name + ".weight"] =
        op.contains("shape") && op["shape"].is_array() ? op["shape"].get<Shape>() : Shape{rows, cols};
    SQ_CHECK(op.contains("quantized") && op["quantized"].is_boolean(), context << " has no boolean 'quantized'");
    w.packed = op["quantized"].get<bool>();
    if (w.packed) {
      const int bits = field(op, "bits", context);
      SQ_CHECK(bits == info.bits, context << " has " << bits << " bits, the file's metadata 'bits' says " << info.bits);
      const std::int64_t row_bytes = packed_row_bytes(cols, bits);
      const Tensor& codes = tensor(name + ".weight.codes", DType::u8, {rows, row_bytes});
      const Tensor& scales = tensor(name + ".weight.scale", DType::f32, {rows});
      w.codes = {static_cast<const std::uint8_t*>(codes.raw()), scales.data<float>(), rows, cols, row_bytes, bits};
      ++info.quantized_layers;
    } else {
      w.fp32 = tensor(name + ".weight", DType::f32,
                      op.contains("shape") && op["shape"].is_array() ? op["shape"].get<Shape>() : Shape{rows, cols})
                   .data<float>();
    }
    SQ_CHECK(op.contains("bias") && op["bias"].is_boolean(), context << " has no boolean 'bias'");
    if (op["bias"].get<bool>()) w.bias = tensor(name + ".bias", DType::f32, {rows}).data<float>();
    info.fp32_weight_bytes += 4 * rows * cols + (w.bias ? 4 * rows : 0);
    return w;
  }

  detail::Layers build(const Json& ops, const std::string& context) {
    SQ_CHECK(ops.is_array(), context << " is not a list of layers");
    detail::Layers out;
    for (std::size_t i = 0; i < ops.size(); ++i) {
      const Json& op = ops[i];
      const std::string at = context + "[" + std::to_string(i) + "]";
      SQ_CHECK(op.is_object() && op.contains("op") && op["op"].is_string(), at << " has no string 'op'");
      const std::string kind = op["op"].get<std::string>();
      const auto named = [&] {
        SQ_CHECK(op.contains("name") && op["name"].is_string(), at << " (" << kind << ") has no string 'name'");
        return op["name"].get<std::string>();
      };
      if (kind == "conv") {
        named();
        const int in = field(op, "in", at), o = field(op, "out", at), k = field(op, "kernel", at);
        const int stride = field(op, "stride", at), pad = field(op, "pad", at);
        SQ_CHECK(in > 0 && o > 0 && k > 0 && stride > 0, at << " has a zero channel count, kernel or stride");
        out.push_back(detail::make_conv(weight(op, at, o, std::int64_t(in) * k * k), in, o, k, stride, pad, device));
      } else if (kind == "linear") {
        named();
        const int in = field(op, "in", at), o = field(op, "out", at);
        SQ_CHECK(in > 0 && o > 0, at << " has a zero feature count");
        out.push_back(detail::make_linear(weight(op, at, o, in), in, o, device));
      } else if (kind == "bn") {
        const std::string name = named();
        const int c = field(op, "channels", at);
        SQ_CHECK(c > 0, at << " has no channels");
        const float* scale = tensor(name + ".scale", DType::f32, {c}).data<float>();
        const float* shift = tensor(name + ".shift", DType::f32, {c}).data<float>();
        info.fp32_weight_bytes += 8 * c;
        out.push_back(detail::make_affine(scale, shift, c, device));
      } else if (kind == "relu") {
        out.push_back(detail::make_relu(device));
      } else if (kind == "maxpool") {
        const int k = field(op, "kernel", at), s = field(op, "stride", at);
        SQ_CHECK(k > 0 && s > 0, at << " has a zero kernel or stride");
        out.push_back(detail::make_maxpool(k, s, device));
      } else if (kind == "gap") {
        out.push_back(detail::make_global_avg_pool(device));
      } else if (kind == "flatten") {
        out.push_back(detail::make_flatten());
      } else if (kind == "block") {
        const std::string name = named();
        SQ_CHECK(op.contains("body") && op.contains("shortcut"), at << " (block) needs 'body' and 'shortcut'");
        detail::Layers body = build(op["body"], at + ".body");
        detail::Layers shortcut = build(op["shortcut"], at + ".shortcut");
        out.push_back(detail::make_block(std::move(body), std::move(shortcut), device));
      } else {
        SQ_FAIL(at << " has unknown op '" << kind
                   << "' (this build knows conv, linear, bn, relu, maxpool, gap, flatten, block)");
      }
    }
    return out;
  }

  // The graph's weights against the architecture the metadata names, rebuilt from its spec: a graph of another
  // network (or a metadata 'arch' that does not describe the file) is refused, naming the first difference.
  void check_architecture() {
    nn::ModelSpec s;
    s.arch = info.arch;
    s.in_channels = info.in_channels;
    s.classes = info.classes;
    s.image_size = info.image_size;
    nn::Architecture a;
    try {
      a = nn::build_architecture(s, true);
    } catch (const Error& e) {
      SQ_FAIL(where("metadata 'model'") << " does not describe a network this build knows: " << e.message());
    }
    std::vector<nn::Parameter*> params;
    a.root->collect_parameters(params);
    std::map<std::string, Shape> expected;
    for (const nn::Parameter* p : params)
      if (p->shape.size() > 1) expected[p->name] = p->shape;
    if (expected != weights) {
      std::string diff = "different layers";
      for (const auto& [name, shape] : expected) {
        const auto it = weights.find(name);
        if (it == weights.end() || it->second != shape) {
          diff = "layer " + name + " " + shape_str(shape) + " is " +
                 (it == weights.end() ? std::string("missing") : "of shape " + shape_str(it->second));
          break;
        }
      }
      SQ_FAIL(where("graph") << " is not the network of metadata 'arch' = " << info.arch << " (" << diff << ")");
    }
  }

  void setup(std::int64_t n) {
    Shape s = {n, info.in_channels, info.image_size, info.image_size};
    for (auto& l : layers) s = l->setup(s);
    SQ_CHECK(s == (Shape{n, info.classes}), info.path << ": the graph produces " << shape_str(s)
                                                      << " from its input, not [N, " << info.classes
                                                      << "] logits (inconsistent graph)");
    batch = n;
  }
};

PackedNetwork::PackedNetwork(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PackedNetwork::PackedNetwork(PackedNetwork&&) noexcept = default;
PackedNetwork& PackedNetwork::operator=(PackedNetwork&&) noexcept = default;
PackedNetwork::~PackedNetwork() = default;

const PackedInfo& PackedNetwork::info() const {
  return impl_->info;
}

PackedNetwork PackedNetwork::load(const std::string& path, const std::string& expected_arch, Device device) {
  auto impl = std::make_unique<Impl>();
  Impl& m = *impl;
  m.info.path = path;
  SQ_CHECK(device.is_cpu() || device.index < cuda_device_count(),
           "cannot run " << path << " on " << device.str() << ": "
                         << (cuda_available() ? "no such device" : cuda_unavailable_reason()));
  m.device = device;
  m.info.device = device;
  m.file = train::read_checkpoint(path);  // safetensors validation: lengths, offsets, dtypes, truncation
  const auto format = m.file.metadata.find(packed_key::kFormat);
  SQ_CHECK(format != m.file.metadata.end() && format->second == kPackedFormatName,
           path << " is not a packed SQ-CUDA model (metadata 'format' is "
                << (format == m.file.metadata.end() ? std::string("missing") : "'" + format->second + "'") << ", not '"
                << kPackedFormatName << "'; make one with sq_export CHECKPOINT -o model.sqm)");
  SQ_CHECK(m.meta(packed_key::kFormatVersion) == std::to_string(kPackedFormatVersion),
           m.where("metadata 'format_version'") << " is " << m.meta(packed_key::kFormatVersion)
                                                << "; this build reads version " << kPackedFormatVersion);
  m.info.arch = m.meta(packed_key::kArch);
  SQ_CHECK(expected_arch.empty() || m.info.arch == expected_arch,
           m.where("metadata 'arch'") << " is " << m.info.arch << ", but " << expected_arch << " was asked for");
  m.info.quantizer = m.meta(packed_key::kQuantizer);
  m.info.dataset = m.meta(packed_key::kDataset);
  m.info.folded_bn = m.meta(packed_key::kFoldedBn) == "1";
  try {
    m.info.bits = std::stoi(m.meta(packed_key::kBits));
  } catch (const std::exception&) {
    SQ_FAIL(m.where("metadata 'bits'") << " = '" << m.meta(packed_key::kBits) << "' is not an integer");
  }
  SQ_CHECK(m.info.bits >= 1 && m.info.bits <= 8, m.where("metadata 'bits'") << " = " << m.info.bits << " is not 1..8");
  const Json spec = m.meta_json(packed_key::kSpec);
  const std::string spec_at = path + ": metadata 'model'";
  m.info.in_channels = Impl::field(spec, "in_channels", spec_at);
  m.info.classes = Impl::field(spec, "classes", spec_at);
  m.info.image_size = Impl::field(spec, "image_size", spec_at);
  SQ_CHECK(spec.contains("arch") && spec["arch"] == m.info.arch,
           spec_at << " names another architecture than metadata 'arch' (" << m.info.arch << ")");
  const Json norm = m.meta_json(packed_key::kNormalization);
  try {
    m.info.normalization.mean = norm.at("mean").get<std::vector<float>>();
    m.info.normalization.stddev = norm.at("std").get<std::vector<float>>();
  } catch (const Json::exception& e) {
    SQ_FAIL(m.where("metadata 'normalization'") << " needs 'mean' and 'std' lists (" << e.what() << ")");
  }
  SQ_CHECK(m.info.normalization.mean.size() == static_cast<std::size_t>(m.info.in_channels) &&
               m.info.normalization.stddev.size() == static_cast<std::size_t>(m.info.in_channels),
           m.where("metadata 'normalization'") << " does not have one mean and std per input channel");
  m.layers = m.build(m.meta_json(packed_key::kGraph), path + ": graph");
  m.check_architecture();
  for (const train::NamedTensor& t : m.file.tensors) {
    SQ_CHECK(m.used.count(t.name) == 1, m.where("tensor '" + t.name + "'") << " is not used by the graph (corrupt or "
                                                                              "mixed file)");
    m.info.weight_bytes += static_cast<std::int64_t>(t.tensor.bytes());
  }
  m.setup(1);
  return PackedNetwork(std::move(impl));
}

Tensor PackedNetwork::forward(const Tensor& images) {
  Impl& m = *impl_;
  SQ_CHECK((images.device().is_cpu() || images.device() == m.device) && images.dtype() == DType::f32 &&
               images.ndim() == 4 && images.dim(1) == m.info.in_channels && images.dim(2) == m.info.image_size &&
               images.dim(3) == m.info.image_size,
           m.info.path << " (" << m.info.arch << ") takes float32 [N, " << m.info.in_channels << ", "
                       << m.info.image_size << ", " << m.info.image_size << "] images on the host or " << m.device.str()
                       << ", got " << dtype_name(images.dtype()) << " " << shape_str(images.shape()) << " on "
                       << images.device().str());
  if (images.dim(0) != m.batch) m.setup(images.dim(0));
  const Tensor* x = &images;
  if (images.device() != m.device) {
    if (m.input.shape() != images.shape()) m.input = Tensor(images.shape(), DType::f32, m.device);
    m.input.copy_from(images);
    x = &m.input;
  }
  for (auto& l : m.layers) x = &l->forward(*x);
  return x->to(Device::cpu());  // on a device: waits for the default stream
}

}  // namespace sq::deploy
