// Fuzz target for the checkpoint loader: read_checkpoint (safetensors header, offsets, tensor bytes), then what a
// resume does with what it read: the metadata accessors, check_compatible against a small model's expectation,
// and the saved configuration (RunConfig::from_json). Any sq::Error is a clean refusal; anything else is a finding.
#include <cstdint>
#include <string>

#include "fuzz_input.hpp"
#include "sq/core/error.hpp"
#include "sq/train/checkpoint.hpp"
#include "sq/train/run_config.hpp"

namespace {

const sq::train::CheckpointExpectation& expectation() {
  static const sq::train::CheckpointExpectation expected = [] {
    sq::train::CheckpointExpectation e;
    e.identity = {{"arch", "small_cnn"}, {"classes", "10"}};
    e.tensors = {{"w", sq::DType::f32, {2, 2}}, {"step", sq::DType::i32, {1}}};
    return e;
  }();
  return expected;
}

template <class F>
void refused_cleanly(F f) {
  try {
    f();
  } catch (const sq::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path =
      sq::fuzz::ScratchFolder::get().write("ckpt.safetensors", std::string(reinterpret_cast<const char*>(data), size));
  sq::train::Checkpoint checkpoint;
  try {
    checkpoint = sq::train::read_checkpoint(path);
  } catch (const sq::Error&) {
    return 0;
  }
  for (const auto& t : checkpoint.tensors) {
    if (t.name.empty() || !t.tensor.defined() || !t.tensor.device().is_cpu()) __builtin_trap();
  }
  namespace key = sq::train::checkpoint_key;
  for (const char* k : {key::kStage, key::kEpoch, key::kStep, key::kGlobalStep, key::kRngCounter}) {
    refused_cleanly([&] { checkpoint.meta_int(k); });
  }
  refused_cleanly([&] { checkpoint.meta_double(key::kRatio); });
  refused_cleanly([&] { sq::train::check_compatible(checkpoint, expectation(), path); });
  refused_cleanly([&] { sq::train::RunConfig::from_json(checkpoint.meta(key::kConfig), path).validate(path); });
  return 0;
}
