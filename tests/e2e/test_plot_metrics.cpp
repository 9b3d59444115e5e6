// scripts/plot_metrics.py renders a metrics file written by MetricsWriter to PNG files.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "sq/train/metrics.hpp"

namespace {

bool is_png(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[8] = {};
  in.read(magic, 8);
  return in.gcount() == 8 && std::string(magic, 8) == std::string("\x89PNG\r\n\x1a\n", 8);
}

TEST(PlotMetrics, RendersLossErrorRatioAndLayerPlots) {
  const std::string dir = ::testing::TempDir() + "sq_plot_" + std::to_string(::getpid());
  ASSERT_EQ(std::system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "'").c_str()), 0);
  const std::string metrics = dir + "/metrics.jsonl";
  {
    sq::train::MetricsWriter writer(metrics);
    const double ratios[] = {0.5, 1.0};
    std::int64_t global = 0;
    for (int stage = 0; stage < 2; ++stage) {
      for (int epoch = 0; epoch < 3; ++epoch) {
        for (int k = 1; k <= 4; ++k) {
          sq::train::StepMetrics s;
          s.stage = stage;
          s.ratio = ratios[stage];
          s.epoch = epoch;
          s.step = epoch * 40 + k * 10;
          s.global_step = ++global * 10;
          s.lr = 0.1;
          s.loss = 2.0 / (1 + global * 0.1);
          s.layers.push_back(
              {"conv1.weight", 8, stage == 0 ? 4 : 8, 0.3, 0.2, stage == 0 ? 0.4 : sq::train::kNotMeasured});
          writer.write(s);
        }
        sq::train::EpochMetrics e;
        e.stage = stage;
        e.ratio = ratios[stage];
        e.epoch = epoch;
        e.step = (epoch + 1) * 40;
        e.global_step = global * 10;
        e.train_loss = 1.0 / (1 + global);
        e.train_error = 30.0 - global;
        e.test_error_quantized = 35.0 - global;
        e.test_error_hybrid = stage == 0 ? 32.0 - global : sq::train::kNotMeasured;
        writer.write(e);
      }
    }
  }
  const std::string command =
      "python3 " SQ_SOURCE_DIR "/scripts/plot_metrics.py '" + metrics + "' --title test > '" + dir + "/log' 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << "see " << dir << "/log";
  for (const char* name : {"loss.png", "error.png", "ratio.png", "sq_error.png"}) {
    EXPECT_TRUE(is_png(dir + "/" + name)) << name << " missing or not a PNG";
  }
}

TEST(PlotMetrics, APartialLastLineIsSkippedWithAWarningAndABadMiddleLineNamed) {
  const std::string dir = ::testing::TempDir() + "sq_plot_partial_" + std::to_string(::getpid());
  ASSERT_EQ(std::system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "'").c_str()), 0);
  const std::string metrics = dir + "/metrics.jsonl";
  std::string good;
  for (int k = 1; k <= 3; ++k) {
    sq::train::StepMetrics s;
    s.step = s.global_step = k * 10;
    s.loss = 1.0 / k;
    good += sq::train::to_json_line(s) + "\n";
  }
  std::ofstream(metrics) << good << "{\"kind\": \"step\", \"glob";  // the disk filled up mid-line
  const std::string command =
      "python3 " SQ_SOURCE_DIR "/scripts/plot_metrics.py '" + metrics + "' > '" + dir + "/log' 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << "see " << dir << "/log";
  std::ifstream log(dir + "/log");
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find(metrics + ":4: warning: skipping the incomplete last line"), std::string::npos) << text;
  EXPECT_TRUE(is_png(dir + "/loss.png"));

  // The same broken text in the middle of the file is an error naming its line.
  std::ofstream(metrics) << "{\"kind\": \"step\", \"glob\n" << good;
  EXPECT_NE(std::system(command.c_str()), 0);
  std::ifstream log2(dir + "/log");
  const std::string text2((std::istreambuf_iterator<char>(log2)), std::istreambuf_iterator<char>());
  EXPECT_NE(text2.find(metrics + ":1: not a JSON line"), std::string::npos) << text2;
  EXPECT_EQ(std::system(("rm -rf '" + dir + "'").c_str()), 0);
}

TEST(PlotMetrics, EmptyMetricsFileFailsWithAMessage) {
  const std::string dir = ::testing::TempDir() + "sq_plot_empty_" + std::to_string(::getpid());
  ASSERT_EQ(std::system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "' && touch '" + dir + "/m.jsonl'").c_str()), 0);
  const std::string command =
      "python3 " SQ_SOURCE_DIR "/scripts/plot_metrics.py '" + dir + "/m.jsonl' > '" + dir + "/log' 2>&1";
  EXPECT_NE(std::system(command.c_str()), 0);
  std::ifstream log(dir + "/log");
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("no step or epoch records"), std::string::npos) << text;
}

}  // namespace
