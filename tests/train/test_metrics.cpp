// Metrics JSON lines, the stage table and the console progress line.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "sq/core/error.hpp"
#include "sq/train/metrics.hpp"
#include "sq/train/progress.hpp"

namespace {

using nlohmann::json;

std::vector<json> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<json> out;
  std::string line;
  while (std::getline(in, line)) out.push_back(json::parse(line));
  return out;
}

TEST(Metrics, WritesOneParsableLinePerRecordAndAppends) {
  const std::string path = ::testing::TempDir() + "sq_metrics_" + std::to_string(::getpid()) + ".jsonl";
  std::remove(path.c_str());
  {
    sq::train::MetricsWriter writer(path);
    writer.write_event("start", 0,
                       {{"config", std::string("x.json")},
                        {"seed", std::uint64_t{18446744073709551615u}},
                        {"error", 12.5},
                        {"unmeasured", std::nan("")}});
    sq::train::StepMetrics step;
    step.stage = 1;
    step.ratio = 0.75;
    step.epoch = 2;
    step.step = 300;
    step.global_step = 1300;
    step.lr = 0.01;
    step.loss = 0.5;
    step.images_per_s = 1234.5;
    step.layers.push_back({"conv1.weight", 64, 48, 0.25, 0.125, std::nan("")});
    writer.write(step);
  }
  {
    sq::train::MetricsWriter writer(path);  // a resumed run appends
    sq::train::EpochMetrics epoch;
    epoch.stage = 1;
    epoch.ratio = 0.75;
    epoch.epoch = 2;
    epoch.global_step = 1400;
    epoch.test_error_quantized = 12.5;
    epoch.train_loss = std::numeric_limits<double>::infinity();
    writer.write(epoch);
    sq::train::StageSummary stage;
    stage.stage = 1;
    stage.steps = 400;
    writer.write(stage);
  }
  const std::vector<json> lines = read_lines(path);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0]["kind"], "event");
  EXPECT_EQ(lines[0]["event"], "start");
  EXPECT_EQ(lines[0]["config"], "x.json");
  // Numbers are JSON numbers (an integer seed exactly, up to 2^64 - 1), unmeasured ones null.
  EXPECT_TRUE(lines[0]["seed"].is_number_unsigned());
  EXPECT_EQ(lines[0]["seed"].get<std::uint64_t>(), 18446744073709551615u);
  EXPECT_TRUE(lines[0]["error"].is_number_float());
  EXPECT_EQ(lines[0]["error"], 12.5);
  EXPECT_TRUE(lines[0]["unmeasured"].is_null());
  EXPECT_EQ(lines[0]["global_step"], 0);
  // Every record carries its wall-clock time (Unix seconds).
  const double now = static_cast<double>(std::time(nullptr));
  for (const json& line : lines) {
    ASSERT_TRUE(line["time"].is_number()) << line.dump();
    EXPECT_NEAR(line["time"].get<double>(), now, 120.0) << line.dump();
  }
  EXPECT_EQ(lines[1]["kind"], "step");
  EXPECT_EQ(lines[1]["stage"], 1);
  EXPECT_EQ(lines[1]["ratio"], 0.75);
  EXPECT_EQ(lines[1]["global_step"], 1300);
  EXPECT_EQ(lines[1]["loss"], 0.5);
  EXPECT_TRUE(lines[1]["train_error"].is_null()) << "unmeasured values are null";
  EXPECT_EQ(lines[1]["layers"][0]["name"], "conv1.weight");
  EXPECT_EQ(lines[1]["layers"][0]["quantized"], 48);
  EXPECT_EQ(lines[1]["layers"][0]["mean_error_quantized"], 0.125);
  EXPECT_TRUE(lines[1]["layers"][0]["mean_error_fp"].is_null());
  EXPECT_EQ(lines[2]["kind"], "epoch");
  EXPECT_EQ(lines[2]["test_error_quantized"], 12.5);
  EXPECT_TRUE(lines[2]["train_loss"].is_null()) << "Inf is not JSON: written as null";
  EXPECT_EQ(lines[3]["kind"], "stage");
  EXPECT_EQ(lines[3]["steps"], 400);
  std::remove(path.c_str());
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(Metrics, TruncateCutsBackToAGlobalStepAndDropsAPartialLastLine) {
  const std::string path = ::testing::TempDir() + "sq_metrics_cut_" + std::to_string(::getpid()) + ".jsonl";
  const std::string head =
      "{\"kind\":\"event\",\"event\":\"start\"}\n"
      "{\"kind\":\"step\",\"global_step\":10}\n"
      "{\"kind\":\"step\",\"global_step\":20}\n"
      "{\"kind\":\"epoch\",\"global_step\":20}\n"
      "{\"kind\":\"event\",\"event\":\"interrupted\",\"global_step\":\"20\"}\n";  // old: a string
  const std::string tail =
      "{\"kind\":\"step\",\"global_step\":30}\n"
      "{\"kind\":\"epoch\",\"global_step\":30}\n"
      "{\"kind\":\"step\",\"glo";  // cut short by a crash
  std::ofstream(path, std::ios::binary) << head << tail;
  EXPECT_EQ(sq::train::truncate_metrics(path, 20), 3);
  EXPECT_EQ(read_text(path), head);
  EXPECT_EQ(sq::train::truncate_metrics(path, 20), 0) << "nothing more to cut";
  EXPECT_EQ(read_text(path), head);

  // A partial last line alone goes even when every record is before the step.
  std::ofstream(path, std::ios::binary) << head << "{\"kind\":\"st";
  EXPECT_EQ(sq::train::truncate_metrics(path, 100), 1);
  EXPECT_EQ(read_text(path), head);
  // A complete line without its newline (the crash hit between the record and '\n') goes too.
  std::ofstream(path, std::ios::binary) << head << "{\"kind\":\"step\",\"global_step\":21}";
  EXPECT_EQ(sq::train::truncate_metrics(path, 100), 1);
  EXPECT_EQ(read_text(path), head);

  // Redoing an interrupted end of epoch: its epoch record and everything after go, the step record stays.
  EXPECT_EQ(sq::train::truncate_metrics(path, 20, /*redo_epoch_end=*/true), 2);
  EXPECT_EQ(read_text(path), head.substr(0, head.find("{\"kind\":\"epoch\"")));

  std::remove(path.c_str());
  EXPECT_EQ(sq::train::truncate_metrics(path, 5), 0) << "a missing file stays missing";
  EXPECT_FALSE(std::ifstream(path).good());
}

TEST(Metrics, UnwritablePathIsNamed) {
  const std::string path = "/nonexistent-dir-for-sq/metrics.jsonl";
  try {
    sq::train::MetricsWriter writer(path);
    ADD_FAILURE() << "opened " << path;
  } catch (const sq::Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
  }
}

TEST(Metrics, StageTableHasOneRowPerStageWithItsNumbers) {
  std::vector<sq::train::StageSummary> stages(2);
  stages[0].ratio = 0.5;
  stages[0].steps = 1000;
  stages[0].test_error_quantized = 14.25;
  stages[0].test_error_hybrid = 11.5;
  stages[0].wall_s = 3725;
  stages[1].stage = 1;
  stages[1].ratio = 1.0;
  stages[1].test_error_quantized = 9.87;
  const std::string table = sq::train::format_stage_table(stages);
  std::istringstream in(table);
  std::string header, row1, row2, extra;
  std::getline(in, header);
  std::getline(in, row1);
  std::getline(in, row2);
  EXPECT_FALSE(std::getline(in, extra));
  EXPECT_NE(header.find("test err % (q)"), std::string::npos);
  EXPECT_EQ(row1.rfind("1 ", 0), 0u);
  EXPECT_NE(row1.find("0.500"), std::string::npos);
  EXPECT_NE(row1.find("14.25"), std::string::npos);
  EXPECT_NE(row1.find("11.50"), std::string::npos);
  EXPECT_NE(row1.find("1:02:05"), std::string::npos);
  EXPECT_EQ(row2.rfind("2 ", 0), 0u);
  EXPECT_NE(row2.find("9.87"), std::string::npos);
}

TEST(Progress, PlainLinesCarryEtaFromMeasuredSpeed) {
  std::ostringstream out;
  sq::train::ProgressReporter progress(out, /*interactive=*/false);
  sq::train::ProgressState s;
  s.stages = 2;
  s.total = 1100;
  s.stage_steps = 550;
  s.images_per_s = 2000;
  progress.update(s, 50.0);  // first update: no speed known yet
  s.done = 100;
  s.step = 100;
  progress.update(s, 60.0);  // 100 steps in 10 s, 1000 to go: 100 s
  const std::string text = out.str();
  EXPECT_EQ(text.find('\r'), std::string::npos);
  ASSERT_EQ(std::count(text.begin(), text.end(), '\n'), 2);
  const std::string second = text.substr(text.find('\n') + 1);
  EXPECT_NE(text.find("ETA -\n"), std::string::npos) << text;
  EXPECT_NE(second.find("ETA 0:01:40"), std::string::npos) << second;
  EXPECT_NE(second.find("stage 1/2"), std::string::npos) << second;
  EXPECT_NE(second.find("2000 img/s"), std::string::npos) << second;
}

TEST(Progress, TerminalRedrawsOneLineWithABar) {
  std::ostringstream out;
  sq::train::ProgressReporter progress(out, /*interactive=*/true);
  sq::train::ProgressState s;
  s.total = 100;
  s.done = 50;
  progress.update(s, 0.0);
  EXPECT_EQ(out.str().rfind("\r", 0), 0u);
  EXPECT_NE(out.str().find("[############............] 50.0%"), std::string::npos) << out.str();
  EXPECT_EQ(out.str().find('\n'), std::string::npos);
  progress.break_line();
  EXPECT_EQ(out.str().back(), '\n');
}

}  // namespace
