// scripts/train.sh: the arguments it hands to train_cifar. A stand-in binary records them (SQ_TRAIN_NO_BUILD=1
// skips the build; a failing `cmake` first on PATH proves no build is attempted).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

class TrainScript : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = ::testing::TempDir() + "sq_train_sh_" + std::to_string(::getpid());
    ASSERT_EQ(
        std::system(
            ("rm -rf '" + root_ + "' && mkdir -p '" + root_ + "/build/apps/train_cifar' '" + root_ + "/bin'").c_str()),
        0);
    const std::string fake = root_ + "/build/apps/train_cifar/train_cifar";
    std::ofstream(fake) << "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done >> '" << root_
                        << "/calls'\necho ---- >> '" << root_ << "/calls'\nexit 0\n";
    ASSERT_EQ(::chmod(fake.c_str(), 0755), 0);
    std::ofstream(root_ + "/bin/cmake") << "#!/bin/sh\necho 'cmake must not run' >&2\nexit 1\n";
    ASSERT_EQ(::chmod((root_ + "/bin/cmake").c_str(), 0755), 0);
  }
  void TearDown() override {
    if (!HasFailure()) {
      EXPECT_EQ(std::system(("rm -rf '" + root_ + "'").c_str()), 0);
    }
  }
  // The arguments of the first call of train_cifar (the run itself; the second is --print-config).
  std::vector<std::string> run(const std::string& args) {
    const std::string command = "PATH='" + root_ + "/bin':\"$PATH\" SQ_TRAIN_NO_BUILD=1 SQ_BUILD_DIR='" + root_ +
                                "/build' bash " SQ_SOURCE_DIR "/scripts/train.sh " + args + " > '" + root_ +
                                "/log' 2>&1";
    EXPECT_EQ(std::system(command.c_str()), 0) << "see " << root_ << "/log";
    std::ifstream in(root_ + "/calls");
    std::vector<std::string> first;
    std::string line;
    while (std::getline(in, line) && line != "----") first.push_back(line);
    std::remove((root_ + "/calls").c_str());
    return first;
  }
  std::string root_;
};

TEST_F(TrainScript, ResumeIsPassedAloneSoTheCheckpointsConfigurationAndDeviceApply) {
  EXPECT_EQ(run("--resume runs/x/last.safetensors"), (std::vector<std::string>{"--resume", "runs/x/last.safetensors"}));
  EXPECT_EQ(run("--resume=runs/x/last.safetensors --max-steps 10"),
            (std::vector<std::string>{"--resume=runs/x/last.safetensors", "--max-steps", "10"}));
}

TEST_F(TrainScript, WithoutConfigOrResumeTheDefaultExperimentIsAdded) {
  // No GPU build in the stand-in build folder: the quick CPU config on the CPU.
  EXPECT_EQ(run("--output runs/mine"),
            (std::vector<std::string>{"--config", SQ_SOURCE_DIR "/configs/quick-sq-twn-fashion-mnist.json", "--device",
                                      "cpu", "--output", "runs/mine"}));
  EXPECT_EQ(run("--config c.json"), (std::vector<std::string>{"--config", "c.json"}));
}

}  // namespace
