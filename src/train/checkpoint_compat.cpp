// Refusing checkpoints a run cannot load: wrong format or version, other architecture/classes/quantizer, or
// tensors whose names, dtypes or shapes differ from the model's. Lists what differs so the user can act.
#include <sstream>

#include "sq/train/checkpoint.hpp"

namespace sq::train {
namespace {

constexpr int kMaxListed = 5;  // per kind of mismatch; the count says how many more there are

void list_more(std::ostringstream& out, int count) {
  if (count > kMaxListed) out << "\n    ... and " << (count - kMaxListed) << " more";
}

}  // namespace

void check_compatible(const Checkpoint& checkpoint, const CheckpointExpectation& expected, const std::string& path) {
  const auto format = checkpoint.metadata.find(checkpoint_key::kFormat);
  SQ_CHECK(format != checkpoint.metadata.end() && format->second == kCheckpointFormatName,
           path << " is a safetensors file but not an SQ-CUDA checkpoint (metadata '" << checkpoint_key::kFormat
                << "' is not '" << kCheckpointFormatName << "')");
  const auto version = checkpoint.metadata.find(checkpoint_key::kFormatVersion);
  bool known_version = false;
  for (int v = kOldestCheckpointFormatVersion; v <= kCheckpointFormatVersion; ++v) {
    known_version = known_version || (version != checkpoint.metadata.end() && version->second == std::to_string(v));
  }
  SQ_CHECK(known_version, path << " has checkpoint format version "
                               << (version == checkpoint.metadata.end() ? std::string("(none)") : version->second)
                               << "; this build reads versions " << kOldestCheckpointFormatVersion << " to "
                               << kCheckpointFormatVersion);

  std::ostringstream problems;
  int identity_mismatches = 0;
  for (const auto& [key, want] : expected.identity) {
    const auto have = checkpoint.metadata.find(key);
    const std::string got = have == checkpoint.metadata.end() ? "(missing)" : have->second;
    if (got != want) {
      problems << "\n  " << key << ": checkpoint has " << got << ", this run has " << want;
      ++identity_mismatches;
    }
  }

  int missing = 0, mismatched = 0, extra = 0;
  std::ostringstream missing_text, mismatched_text, extra_text;
  for (const CheckpointExpectation::TensorSpec& spec : expected.tensors) {
    const Tensor* t = checkpoint.find(spec.name);
    if (t == nullptr) {
      if (++missing <= kMaxListed) missing_text << "\n    " << spec.name << " " << shape_str(spec.shape);
      continue;
    }
    if (t->dtype() != spec.dtype || t->shape() != spec.shape) {
      if (++mismatched <= kMaxListed) {
        mismatched_text << "\n    " << spec.name << ": checkpoint " << dtype_name(t->dtype()) << " "
                        << shape_str(t->shape()) << ", model " << dtype_name(spec.dtype) << " "
                        << shape_str(spec.shape);
      }
    }
  }
  if (!expected.allow_extra_tensors) {
    for (const NamedTensor& t : checkpoint.tensors) {
      bool known = false;
      for (const CheckpointExpectation::TensorSpec& spec : expected.tensors) known = known || spec.name == t.name;
      if (!known && ++extra <= kMaxListed) extra_text << "\n    " << t.name << " " << shape_str(t.tensor.shape());
    }
  }
  if (missing) {
    problems << "\n  " << missing << " tensor(s) the model needs are missing:" << missing_text.str();
    list_more(problems, missing);
  }
  if (mismatched) {
    problems << "\n  " << mismatched << " tensor(s) differ in dtype or shape:" << mismatched_text.str();
    list_more(problems, mismatched);
  }
  if (extra) {
    problems << "\n  " << extra << " tensor(s) are not in the model:" << extra_text.str();
    list_more(problems, extra);
  }
  SQ_CHECK(identity_mismatches + missing + mismatched + extra == 0,
           "checkpoint " << path << " does not fit this run's configuration:" << problems.str()
                         << "\n  (resume with the configuration it was written with, or start a new run)");
}

}  // namespace sq::train
