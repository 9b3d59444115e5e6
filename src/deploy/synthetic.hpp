// A quantized network with random weights and non-trivial BN statistics (some negative BN scales), its
// evaluation weights Q(W) written: for sq_infer --bench and the deploy tests, which need every architecture and
// quantizer without training each one.
#pragma once

#include <memory>
#include <string>

#include "sq/data/augment.hpp"
#include "sq/nn/context.hpp"
#include "sq/nn/models.hpp"
#include "sq/quant/options.hpp"
#include "sq/train/trainer.hpp"

namespace sq::deploy::detail {

struct SyntheticNet {
  nn::ExecutionContext ctx;
  std::unique_ptr<nn::Model> model;
  std::unique_ptr<train::Trainer> trainer;
  data::Normalization normalization;
};

// quantizer: bwn, twn, twn-caffe, twn-channel, kbit (with `bits`). Built on the CPU.
std::unique_ptr<SyntheticNet> synthetic_net(const nn::ModelSpec& spec, const std::string& quantizer, int bits,
                                            std::uint64_t seed);

// Eval-mode forward of the training framework (BN running statistics, no dropout) for host images.
const Tensor& reference_forward(SyntheticNet& net, const Tensor& images);

}  // namespace sq::deploy::detail
