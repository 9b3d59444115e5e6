// Inference from a packed .sqm file on the CPU or a CUDA device (docs/DEPLOY.md). Quantized weights stay packed
// in memory (U8 codes + one fp32 scale per row; on a GPU in device memory); each layer expands a few rows at a
// time into a cache-resident tile of levels (CPU) or into shared memory (GPU, kernels/packed.cu) and computes
// y_o = scale_o * sum_k level_ok * x_k (+ bias): for BWN / TWN the sum over the +1 codes minus the sum over the
// -1 codes. Nothing is expanded to fp32 for the whole model.
//
//   sq::deploy::PackedNetwork net = sq::deploy::PackedNetwork::load("model.sqm");   // CPU
//   sq::deploy::PackedNetwork gpu = sq::deploy::PackedNetwork::load("model.sqm", "", sq::Device::cuda());
//   sq::Tensor logits = net.forward(images);  // images f32 [N, C, H, W] normalised as info().normalization
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sq/core/tensor.hpp"
#include "sq/data/augment.hpp"

namespace sq::deploy {

struct PackedInfo {
  std::string path, arch, quantizer, dataset;
  int bits = 0, in_channels = 0, classes = 0, image_size = 0;
  bool folded_bn = false;
  data::Normalization normalization;
  std::int64_t weight_bytes = 0;       // every tensor the network computes with, as held in memory
  std::int64_t fp32_weight_bytes = 0;  // the same network with fp32 weights (1 float per weight)
  std::int64_t quantized_layers = 0;
  Device device;  // where the network computes
};

class PackedNetwork {
 public:
  // Reads and validates `path` (format, version, every tensor the graph names with its dtype and shape, the
  // codes' row length for the bits). `expected_arch` non-empty: refuses a file of another architecture.
  // Throws sq::Error naming the file and the field. `device` cuda: the file's tensors (codes still packed) are
  // copied to that device and every layer runs there (a build without CUDA, or no such device: sq::Error).
  static PackedNetwork load(const std::string& path, const std::string& expected_arch = "",
                            Device device = Device::cpu());

  PackedNetwork(PackedNetwork&&) noexcept;
  PackedNetwork& operator=(PackedNetwork&&) noexcept;
  ~PackedNetwork();

  // Logits f32 [N, classes] (host) for images f32 [N, in_channels, image_size, image_size] on the host or on the
  // network's device. Waits for the device.
  Tensor forward(const Tensor& images);
  const PackedInfo& info() const;

  struct Impl;

 private:
  explicit PackedNetwork(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// sq_infer's main: accuracy of a packed file on a test set (--device cpu|gpu), or --bench; exit codes as train_cifar's.
int infer_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace sq::deploy
