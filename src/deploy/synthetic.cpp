// Random quantized networks for benchmarks and tests (see synthetic.hpp). BN statistics are drawn so that the
// activations stay O(1) through deep ResNets and a quarter of the BN scales are negative (the folding sign case).
#include "deploy/synthetic.hpp"

#include <cmath>

#include "sq/core/philox.hpp"
#include "sq/quant/pipeline.hpp"

namespace sq::deploy::detail {

std::unique_ptr<SyntheticNet> synthetic_net(const nn::ModelSpec& spec, const std::string& quantizer, int bits,
                                            std::uint64_t seed) {
  auto net = std::make_unique<SyntheticNet>();
  net->ctx = nn::make_context(Device::cpu());
  net->ctx.seed = seed;
  quant::SqOptions sq;
  sq.quantizer = quant::parse_quantizer(quantizer);
  sq.bits = bits;
  sq.seed = seed;
  net->model = nn::build_model(spec, sq, net->ctx, seed);
  net->model->setup(1, net->ctx);
  std::uint64_t draw = 0;
  auto uniform = [&] { return philox_uniform_at(seed, 77, draw++); };
  for (nn::Parameter* p : net->model->arena().parameters()) {
    if (p->shape.size() != 1) continue;  // BN gamma / beta and biases: perturbed
    float* v = p->value.data<float>();
    const bool gamma = p->name.size() > 7 && p->name.compare(p->name.size() - 7, 7, ".weight") == 0;
    for (std::int64_t i = 0; i < p->value.numel(); ++i) {
      const float u = uniform();
      v[i] = gamma ? (u < 0.25f ? -(0.5f + u) : 0.5f + u) : 0.2f * (u - 0.5f);
    }
  }
  for (const nn::NamedBuffer& b : net->model->buffers()) {
    float* v = b.tensor->data<float>();
    const bool var = b.name.find("running_var") != std::string::npos;
    // Variance on the scale of a He-initialised conv's output for O(1) inputs.
    for (std::int64_t i = 0; i < b.tensor->numel(); ++i) v[i] = var ? 1.f + 2.f * uniform() : 0.5f * (uniform() - 0.5f);
  }
  train::TrainerOptions options;
  options.use_graph = false;
  net->trainer = std::make_unique<train::Trainer>(*net->model, net->ctx, options);
  net->trainer->set_ratio(1.0);
  net->trainer->prepare_eval(train::EvalWeights::quantized);
  for (int c = 0; c < spec.in_channels; ++c) {
    net->normalization.mean.push_back(0.5f);
    net->normalization.stddev.push_back(0.25f);
  }
  return net;
}

const Tensor& reference_forward(SyntheticNet& net, const Tensor& images) {
  const nn::EvalNetwork eval = net.model->eval_network(images.dim(0), net.ctx);
  net.ctx.training = false;
  return eval.root->forward(images, net.ctx);
}

}  // namespace sq::deploy::detail
