// Packed low-bit export (docs/DEPLOY.md): the fully quantized network (r = 1) as a safetensors file (.sqm) of
// U8 code tensors (sq/deploy/packed_codes.hpp), one fp32 scale per row, fp32 other parameters, BatchNorm in its
// inference form (per-channel scale and shift) or folded into the preceding quantized layer, and metadata
// (format, architecture, quantizer, bits, layer graph, input normalisation, the training configuration).
#pragma once

#include <cstdint>
#include <string>

#include "sq/data/augment.hpp"
#include "sq/deploy/evaluate.hpp"
#include "sq/nn/models.hpp"
#include "sq/train/checkpoint.hpp"

namespace sq::deploy {

inline constexpr const char* kPackedFormatName = "sq-cuda-packed";
inline constexpr int kPackedFormatVersion = 1;

// Metadata keys of a packed file (string values, as safetensors requires).
namespace packed_key {
inline constexpr const char* kFormat = "format";                 // kPackedFormatName
inline constexpr const char* kFormatVersion = "format_version";  // kPackedFormatVersion
inline constexpr const char* kArch = "arch";                     // vgg9, resnet20, ..., small_cnn
inline constexpr const char* kSpec = "model";                    // JSON: arch, in_channels, classes, image_size, ...
inline constexpr const char* kQuantizer = "quantizer";           // bwn, twn, twn-caffe, twn-channel, kbit
inline constexpr const char* kBits = "bits";                     // bits per quantized weight
inline constexpr const char* kGraph = "graph";                   // JSON list of layers (docs/DEPLOY.md)
inline constexpr const char* kNormalization = "normalization";   // JSON {"mean": [...], "std": [...]}
inline constexpr const char* kFoldedBn = "folded_bn";            // "1" when BN was folded into the layers
inline constexpr const char* kDataset = "dataset";               // the data set it was trained on
inline constexpr const char* kConfig = "config";                 // training configuration JSON ("" if none)
inline constexpr const char* kSource = "source";                 // the checkpoint it came from
}  // namespace packed_key

struct PackOptions {
  bool fold_bn = false;               // fold each BN that follows a quantized conv / FC into its row scales and a bias
  data::Normalization normalization;  // of the inputs the network was trained on
  std::string dataset, config_json, source;
};

// The packed network of `model`, whose quantized parameters' effective values hold Q(W) (Trainer::prepare_eval
// with EvalWeights::quantized). Codes and row scales are read off Q(W), so the quantizer's own threshold and
// scale code defines them. Throws sq::Error for an FWN model (nothing to pack) or values that are not a scaled
// code row (a bug, named by layer and row).
train::Checkpoint pack_model(nn::Model& model, const PackOptions& options);

struct ExportOptions {
  RestoreOptions restore;  // weights are always the quantized ones
  bool fold_bn = false;
  std::string onnx_path;  // also write ONNX (scripts/deploy/sqm_to_onnx.py)
  std::string python;     // interpreter with onnx installed (default: $SQ_PYTHON, else build's venv, python3)
};

struct ExportResult {
  std::string path;
  std::int64_t file_bytes = 0, data_bytes = 0;  // data: the file less the 8-byte length and the JSON header
  nn::ModelSize size;                           // the model summary's sizes
  std::int64_t checkpoint_bytes = 0;
  std::int64_t onnx_bytes = 0;
};

// sq_export: restore the checkpoint (BN recalibrated as its run's evaluation did), pack, write `out`.
ExportResult export_checkpoint(const std::string& checkpoint, const std::string& out, const ExportOptions& options);

// sq_export's main; exit codes as train_cifar's.
int export_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace sq::deploy
