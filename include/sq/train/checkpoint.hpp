// Checkpoints: one safetensors file of named f32/i32/u8 tensors plus a string metadata map, written atomically,
// read back with full validation, and checked for compatibility with the run that wants to load it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sq/core/tensor.hpp"

namespace sq::train {

// Version of the layout of tensors and metadata keys this build writes ("format_version" in the metadata).
// 2 added the per-tensor checksums and the statistics since the last metrics line; version 1 files (no
// checksums) are still read.
inline constexpr int kCheckpointFormatVersion = 2;
inline constexpr int kOldestCheckpointFormatVersion = 1;

// Well-known metadata keys (all values are strings, as safetensors requires).
namespace checkpoint_key {
inline constexpr const char* kFormat = "format";                 // always "sq-cuda-checkpoint"
inline constexpr const char* kFormatVersion = "format_version";  // kCheckpointFormatVersion
inline constexpr const char* kConfig = "config";                 // the run's configuration, as JSON
inline constexpr const char* kStage = "stage";                   // 0-based stage index
inline constexpr const char* kRatio = "sq_ratio";                // SQ ratio of that stage
inline constexpr const char* kEpoch = "epoch";                   // epochs completed within the stage
inline constexpr const char* kStep = "step";                     // optimisation steps completed within the stage
inline constexpr const char* kGlobalStep = "global_step";        // steps completed over all stages
inline constexpr const char* kSeed = "rng_seed";                 // run seed
inline constexpr const char* kRngCounter = "rng_counter";        // Philox counter position (the global step)
inline constexpr const char* kStageComplete = "stage_complete";  // "1" when written at the end of a stage
// JSON object: tensor name -> CRC-32 (zlib's, 8 lower-case hex digits) of its data bytes. write_checkpoint adds
// it; read_checkpoint verifies and removes it (required in SQ-CUDA checkpoints from format version 2 on).
inline constexpr const char* kTensorCrc32 = "tensor_crc32";
}  // namespace checkpoint_key
inline constexpr const char* kCheckpointFormatName = "sq-cuda-checkpoint";

struct NamedTensor {
  std::string name;
  Tensor tensor;  // host tensor after reading; any device when writing (copied to the host first)
};

struct Checkpoint {
  std::vector<NamedTensor> tensors;  // file order when read; written in this order
  std::map<std::string, std::string> metadata;

  void add(std::string name, const Tensor& tensor);  // deep copy to the host
  const Tensor* find(const std::string& name) const;
  const Tensor& at(const std::string& name) const;  // throws sq::Error naming the missing tensor
  // Metadata accessors that throw sq::Error naming the key when it is missing or not a number.
  const std::string& meta(const std::string& key) const;
  std::int64_t meta_int(const std::string& key) const;
  double meta_double(const std::string& key) const;
};

// Writes `checkpoint` to `path` as safetensors: a temp file in the same directory, fsync, rename over `path`,
// fsync of the directory; a crash at any point leaves either the old file or the new one, never a mix. Adds the
// metadata key checkpoint_key::kTensorCrc32 (a checksum of every tensor).
void write_checkpoint(const std::string& path, const Checkpoint& checkpoint);

// Reads and validates a safetensors file (header length against file size, JSON, dtypes, shapes, offsets in
// range and contiguous, no trailing bytes, every tensor's checksum when the file has them; an SQ-CUDA checkpoint
// of format version 2 or later must have them). Throws sq::Error naming the file (and tensor) and what is wrong.
Checkpoint read_checkpoint(const std::string& path);

// What a run expects of a checkpoint it loads: identity metadata (arch, classes, quantizer, ...) that must match
// exactly, and the names, dtypes and shapes of the tensors it will load.
struct CheckpointExpectation {
  std::map<std::string, std::string> identity;
  struct TensorSpec {
    std::string name;
    DType dtype;
    Shape shape;
  };
  std::vector<TensorSpec> tensors;
  bool allow_extra_tensors = false;  // tensors in the file the run does not use
};

// Throws sq::Error naming the file and every mismatch (up to a handful per kind) when `checkpoint` cannot be
// loaded by a run with these expectations, or when its format/version is not this build's.
void check_compatible(const Checkpoint& checkpoint, const CheckpointExpectation& expected, const std::string& path);

}  // namespace sq::train
