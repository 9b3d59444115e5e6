// What a resumed run reads back is checked: per-tensor CRC-32s (a flipped byte names its tensor), metadata
// consistency (each error names its key), no NaN/Inf weights or momentum, no negative BN variance; version 1
// files (before checksums) still load.
#include <cmath>
#include <cstring>

#include "e2e_util.hpp"
#include "sq/train/checkpoint.hpp"

namespace {

using sq::train::Checkpoint;
using sq_e2e::RunResult;
using sq_e2e::train_cifar;

// A safetensors file split into its header (JSON) and data bytes, to edit either and write it back raw.
struct RawFile {
  nlohmann::ordered_json header;
  std::string data;

  static RawFile read(const std::string& path) {
    const std::string bytes = sq_e2e::read_text(path);
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
    RawFile f;
    f.header = nlohmann::ordered_json::parse(bytes.substr(8, n));
    f.data = bytes.substr(8 + n);
    return f;
  }
  void write(const std::string& path) const {
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((text.size() >> (8 * i)) & 0xff);
    std::ofstream(path, std::ios::binary) << out << text << data;
  }
  std::uint64_t offset_of(const std::string& tensor) const { return header.at(tensor).at("data_offsets")[0]; }
};

class CheckpointIntegrityE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(sq_e2e::fresh_dir("integrity"));
    // 60 steps: the end of stage 1, so the checkpoint holds a finished stage's summary too.
    std::vector<std::string> args = sq_e2e::tiny_run(*dir_);
    args.insert(args.end(), {"--max-steps", "60"});
    const RunResult run = train_cifar(args);
    ASSERT_EQ(run.rc, sq::train::kExitStepLimit) << run.err;
  }
  static void TearDownTestSuite() {
    sq_e2e::clean_up(*dir_);
    delete dir_;
  }
  static std::string good() { return *dir_ + "/stage1.safetensors"; }
  // Resumes from `path` for one step (stage1.safetensors itself is not rewritten by that).
  static RunResult resume(const std::string& path) { return train_cifar({"--resume", path, "--max-steps", "1"}); }
  static std::string* dir_;
};
std::string* CheckpointIntegrityE2E::dir_ = nullptr;

TEST_F(CheckpointIntegrityE2E, TheGoodCheckpointResumes) {
  const RunResult run = resume(good());
  EXPECT_EQ(run.rc, sq::train::kExitStepLimit) << run.err;
}

TEST_F(CheckpointIntegrityE2E, AFlippedTensorByteIsRefusedNamingTheTensor) {
  for (const std::string tensor : {"conv2.weight", "sgd_momentum.conv1.weight"}) {
    RawFile f = RawFile::read(good());
    f.data[f.offset_of(tensor) + 5] ^= 0x10;
    const std::string path = *dir_ + "/flipped.safetensors";
    f.write(path);
    const RunResult run = resume(path);
    EXPECT_EQ(run.rc, 1) << tensor;
    EXPECT_NE(run.err.find(path + ": tensor '" + tensor + "' fails its checksum"), std::string::npos) << run.err;
  }
}

TEST_F(CheckpointIntegrityE2E, ANewFormatFileWithoutChecksumsIsRefused) {
  RawFile f = RawFile::read(good());
  f.header["__metadata__"].erase("tensor_crc32");
  const std::string path = *dir_ + "/nosums.safetensors";
  f.write(path);
  const RunResult run = resume(path);
  EXPECT_EQ(run.rc, 1);
  EXPECT_NE(run.err.find("metadata 'tensor_crc32' (the tensors' checksums) is missing"), std::string::npos) << run.err;
}

TEST_F(CheckpointIntegrityE2E, AVersion1FileWithoutChecksumsStillResumes) {
  RawFile f = RawFile::read(good());
  nlohmann::ordered_json& m = f.header["__metadata__"];
  for (const char* key :
       {"tensor_crc32", "window_loss_sum", "window_loss_count", "window_correct", "window_seen", "epoch_end_pending"}) {
    m.erase(key);
  }
  m["format_version"] = "1";
  const std::string path = *dir_ + "/v1.safetensors";
  f.write(path);
  const RunResult run = resume(path);
  EXPECT_EQ(run.rc, sq::train::kExitStepLimit) << run.err;
}

TEST_F(CheckpointIntegrityE2E, InconsistentMetadataIsRefusedNamingTheKey) {
  const struct {
    const char* key;
    std::string value;
    std::string expected;
  } cases[] = {
      {"global_step", "-3", "metadata 'global_step' = -3 is less than 'step'"},
      {"step", "-1", "metadata 'step' = -1 is negative"},
      {"epoch_correct", "999999", "metadata 'epoch_correct' = 999999 is outside"},
      {"epoch_loss_sum", "inf", "metadata 'epoch_loss_sum' = inf is not a finite"},
      {"window_seen", "-5", "metadata 'window_seen' = -5 is outside"},
      {"best_test_error", "nan", "metadata 'best_test_error' = 'nan' is neither null nor a finite number"},
      {"stage_complete", "yes", "metadata 'stage_complete' = 'yes' is not 0 or 1"},
  };
  for (const auto& c : cases) {
    Checkpoint ckpt = sq::train::read_checkpoint(good());
    ckpt.metadata[c.key] = c.value;
    const std::string path = *dir_ + "/edited.safetensors";
    sq::train::write_checkpoint(path, ckpt);  // valid checksums: only the metadata is wrong
    const RunResult run = resume(path);
    EXPECT_EQ(run.rc, 1) << c.key;
    EXPECT_NE(run.err.find(c.expected), std::string::npos) << c.key << ": " << run.err;
  }
  // The edited file that printed "train err -10329.48%": a finished stage's statistics out of bounds.
  Checkpoint ckpt = sq::train::read_checkpoint(good());
  nlohmann::json stages = nlohmann::json::parse(ckpt.meta("finished_stages"));
  stages[0]["train_error"] = -10329.48;
  ckpt.metadata["finished_stages"] = stages.dump();
  const std::string path = *dir_ + "/edited.safetensors";
  sq::train::write_checkpoint(path, ckpt);
  const RunResult run = resume(path);
  EXPECT_EQ(run.rc, 1);
  EXPECT_NE(run.err.find("metadata 'finished_stages[0].train_error' = -10329.5 is not a percentage in [0, 100]"),
            std::string::npos)
      << run.err;
}

TEST_F(CheckpointIntegrityE2E, NonFiniteWeightsMomentumOrNegativeVarianceAreRefused) {
  std::string variance;
  for (const auto& t : sq::train::read_checkpoint(good()).tensors) {
    if (t.name.size() > 12 && t.name.substr(t.name.size() - 12) == ".running_var") variance = t.name;
  }
  ASSERT_FALSE(variance.empty());
  const struct {
    std::string tensor;
    float value;
    std::string expected;
  } cases[] = {
      {"conv1.weight", std::nanf(""), "tensor 'conv1.weight' holds NaN"},
      {"sgd_momentum.conv2.weight", INFINITY, "tensor 'sgd_momentum.conv2.weight' holds Inf"},
      {variance, -1.0f, "tensor '" + variance + "' holds a negative variance"},
  };
  for (const auto& c : cases) {
    Checkpoint ckpt = sq::train::read_checkpoint(good());
    for (auto& t : ckpt.tensors) {
      if (t.name == c.tensor) t.tensor.data<float>()[1] = c.value;
    }
    const std::string path = *dir_ + "/nonfinite.safetensors";
    sq::train::write_checkpoint(path, ckpt);
    const RunResult run = resume(path);
    EXPECT_EQ(run.rc, 1) << c.tensor;
    EXPECT_NE(run.err.find(c.expected), std::string::npos) << run.err;
    EXPECT_EQ(run.err.find("last good checkpoint"), std::string::npos) << "a bad file is never the last good one";
  }
}

}  // namespace
