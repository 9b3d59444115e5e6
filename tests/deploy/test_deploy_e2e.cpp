// Checkpoint -> sq_eval -> sq_export -> sq_infer on a real (tiny) training run on Fashion-MNIST, CPU: the
// evaluation reproduces the numbers the run logged, the packed file's size is the summary's, the packed network
// scores exactly what the evaluation scored (subset and full test set), its logits on real images equal the
// eval forward's, and bad input is refused with the file and field named.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "deploy/restore.hpp"
#include "deploy_util.hpp"
#include "e2e/e2e_util.hpp"
#include "sq/data/data.hpp"
#include "sq/deploy/evaluate.hpp"
#include "trained_runs.hpp"

namespace {

using namespace sq_deploy_test;

struct AppResult {
  int rc = -1;
  std::string out, err;
};

template <class Main>
AppResult run_app(Main main, const std::string& name, std::vector<std::string> args) {
  args.insert(args.begin(), name);
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  AppResult r;
  r.rc = main(static_cast<int>(argv.size()), argv.data(), out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}
AppResult sq_eval(std::vector<std::string> a) {
  return run_app(sq::deploy::eval_main, "sq_eval", std::move(a));
}
AppResult sq_export(std::vector<std::string> a) {
  return run_app(sq::deploy::export_main, "sq_export", std::move(a));
}
AppResult sq_infer(std::vector<std::string> a) {
  return run_app(sq::deploy::infer_main, "sq_infer", std::move(a));
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// Names, sizes and modification times of everything in a folder.
std::string snapshot(const std::string& dir) {
  std::ostringstream o;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    struct stat st {};
    ::stat(e.path().c_str(), &st);
    o << e.path().filename().string() << " " << st.st_size << " " << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec
      << "\n";
  }
  return o.str();
}

class DeployE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    runs_ = new std::string(trained_runs());
    dir_ = new std::string(sq_e2e::fresh_dir("deploy_scratch"));
    std::filesystem::create_directories(*dir_);
  }
  static void TearDownTestSuite() {
    sq_e2e::clean_up(*dir_);
    delete dir_;
    delete runs_;
  }
  void SetUp() override { ASSERT_FALSE(runs_->empty()) << "no trained run"; }
  static std::string run_dir() { return *runs_ + "/twn"; }
  static std::string fwn_checkpoint() { return *runs_ + "/fwn/last.safetensors"; }
  static std::string stage(int s) { return run_dir() + "/stage" + std::to_string(s) + ".safetensors"; }
  static std::string scratch(const std::string& name) { return *dir_ + "/" + name; }
  static std::vector<nlohmann::json> stages() {
    return sq_e2e::of_kind(sq_e2e::read_metrics(run_dir() + "/metrics.jsonl"), "stage");
  }
  static std::string *runs_, *dir_;
};
std::string* DeployE2E::runs_ = nullptr;
std::string* DeployE2E::dir_ = nullptr;

// Run by the ctest fixture deploy.train_runs only (disabled otherwise): trains the shared runs.
TEST(DeployFixture, DISABLED_TrainRuns) {
  const char* dir = std::getenv("SQ_DEPLOY_RUNS");
  ASSERT_TRUE(dir && *dir) << "set SQ_DEPLOY_RUNS to the folder to train into";
  ASSERT_EQ(std::system(("rm -rf '" + std::string(dir) + "'").c_str()), 0);
  train_runs(dir);
}

TEST_F(DeployE2E, EvalReproducesTheLoggedErrorsAndLeavesTheRunFolderAlone) {
  const auto logged = stages();
  ASSERT_EQ(logged.size(), 2u);
  const std::string before = snapshot(run_dir());
  sq::deploy::EvalOptions options;
  const sq::deploy::EvalReport final_eval = sq::deploy::evaluate_checkpoint(stage(2), options);
  EXPECT_EQ(final_eval.images, 500);
  EXPECT_DOUBLE_EQ(final_eval.error, logged[1]["test_error_quantized"].get<double>()) << "final evaluation";
  const sq::deploy::EvalReport stage1 = sq::deploy::evaluate_checkpoint(stage(1), options);
  EXPECT_DOUBLE_EQ(stage1.error, logged[0]["test_error_quantized"].get<double>());
  options.restore.weights = sq::train::EvalWeights::hybrid;
  const sq::deploy::EvalReport hybrid = sq::deploy::evaluate_checkpoint(stage(1), options);
  EXPECT_EQ(hybrid.sq_ratio, 0.5);
  EXPECT_DOUBLE_EQ(hybrid.error, logged[0]["test_error_hybrid"].get<double>()) << "hybrid at r = 0.5";
  // Per class: counts add up to the total and to the error.
  std::int64_t images = 0, correct = 0;
  for (std::size_t c = 0; c < final_eval.class_images.size(); ++c) {
    images += final_eval.class_images[c];
    correct += final_eval.class_correct[c];
  }
  EXPECT_EQ(images, 500);
  EXPECT_NEAR(100.0 * (1.0 - correct / 500.0), final_eval.error, 1e-9);
  EXPECT_EQ(snapshot(run_dir()), before) << "evaluation must not touch the run folder";
}

TEST_F(DeployE2E, EvalAppOptionsChangeWhatIsMeasured) {
  const std::string json = scratch("eval.json");
  const AppResult r = sq_eval({stage(2), "--limit", "300", "--batch", "100", "--weights", "full-precision",
                               "--bn-recalibrate-batches", "0", "--json", json});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("class  images"), std::string::npos) << r.out;
  const nlohmann::json j = read_json(json);
  EXPECT_EQ(j["images"], 300);
  EXPECT_EQ(j["weights"], "full-precision");
  EXPECT_EQ(j["bn_recalibrate_batches"], 0);
  ASSERT_EQ(j["per_class"].size(), 10u);
  const AppResult q = sq_eval({stage(2), "--limit", "300", "--bn-recalibrate-batches", "0", "--json", json});
  ASSERT_EQ(q.rc, 0) << q.err;
  EXPECT_NE(read_json(json)["loss"], j["loss"]) << "full-precision and quantized weights give different losses";
}

TEST_F(DeployE2E, PackedFileHasTheSummarySizeAndScoresWhatEvalScores) {
  const std::string sqm = scratch("model.sqm"), folded = scratch("folded.sqm");
  const AppResult e = sq_export({stage(2), "-o", sqm});
  ASSERT_EQ(e.rc, 0) << e.err;
  EXPECT_NE(e.out.find("model summary packed size"), std::string::npos);
  ASSERT_EQ(sq_export({stage(2), "-o", folded, "--fold-bn"}).rc, 0);
  const sq::deploy::EvalReport eval = sq::deploy::evaluate_checkpoint(stage(2), {});
  const std::int64_t eval_correct = std::llround(eval.images * (100.0 - eval.error) / 100.0);
  for (const std::string& model : {sqm, folded}) {
    const std::string json = scratch("infer.json");
    const AppResult r = sq_infer({model, "--limit", "500", "--json", json});
    ASSERT_EQ(r.rc, 0) << r.err;
    const nlohmann::json j = read_json(json);
    EXPECT_EQ(j["images"], 500);
    EXPECT_EQ(j["correct"].get<std::int64_t>(), eval_correct) << model << ": same accuracy as sq_eval";
    EXPECT_GE(j["fp32_weight_bytes"].get<double>() / j["weight_bytes"].get<double>(), 10.0) << "weights >= 10x smaller";
  }
  // The run's summary packed size is the data section of the unfolded file.
  const auto run = sq::deploy::detail::restore_run(stage(2), {});
  std::ifstream f(sqm, std::ios::binary);
  std::uint64_t header = 0;
  f.read(reinterpret_cast<char*>(&header), 8);
  EXPECT_EQ(static_cast<std::int64_t>(std::filesystem::file_size(sqm) - 8 - header), run->model->size().packed_bytes);
}

TEST_F(DeployE2E, PackedLogitsOnRealImagesEqualTheEvalForward) {
  const std::string sqm = scratch("logits.sqm");
  ASSERT_EQ(sq_export({stage(2), "-o", sqm}).rc, 0);
  auto run = sq::deploy::detail::restore_run(stage(2), {});
  sq::deploy::detail::prepare_weights(*run, sq::train::EvalWeights::quantized);
  sq::data::Dataset test = sq::data::load_dataset(run->kind, "", false);
  test = sq::data::slice(test, 0, 200);
  sq::data::BatchLoader loader(test, sq::Device::cpu(), sq::data::default_augmentation(run->kind, false),
                               run->normalization, 200, 0, false);
  loader.start_epoch(0);
  const sq::data::Batch* b = loader.next();
  ASSERT_NE(b, nullptr);
  run->model->setup(200, run->ctx);
  run->ctx.training = false;
  const sq::Tensor reference = run->model->root().forward(b->images, run->ctx).clone();
  sq::deploy::PackedNetwork net = sq::deploy::PackedNetwork::load(sqm, "small_cnn");
  EXPECT_LT(max_relative_difference(net.forward(b->images), reference), 2e-5);
}

TEST_F(DeployE2E, FullFashionMnistTestSetSameAccuracyEvalAndPacked) {
  const std::string sqm = scratch("full.sqm"), json = scratch("full.json");
  ASSERT_EQ(sq_export({stage(2), "-o", sqm}).rc, 0);
  sq::deploy::EvalOptions options;
  options.limit = 0;
  const sq::deploy::EvalReport eval = sq::deploy::evaluate_checkpoint(stage(2), options);
  ASSERT_EQ(eval.images, 10000);
  const AppResult r = sq_infer({sqm, "--json", json});
  ASSERT_EQ(r.rc, 0) << r.err;
  const nlohmann::json j = read_json(json);
  EXPECT_EQ(j["images"], 10000);
  EXPECT_EQ(j["correct"].get<std::int64_t>(), std::llround(100.0 * (100.0 - eval.error))) << r.out;
  std::cout << "[ deploy ] full test set: eval error " << eval.error << "%, packed " << j["error"] << "%\n";
}

// ---- bad input
void expect_fails(const AppResult& r, int rc, const std::vector<std::string>& fragments) {
  EXPECT_EQ(r.rc, rc) << r.out << r.err;
  for (const std::string& f : fragments) EXPECT_NE(r.err.find(f), std::string::npos) << "'" << f << "' in " << r.err;
}

TEST_F(DeployE2E, BadInputIsRefusedNamingFileAndField) {
  const std::string sqm = scratch("bad.sqm");
  ASSERT_EQ(sq_export({stage(2), "-o", sqm}).rc, 0);
  const std::string fwn = fwn_checkpoint();
  expect_fails(sq_export({fwn, "-o", scratch("fwn.sqm")}), 1, {fwn, "FWN"});
  EXPECT_FALSE(sq_e2e::exists(scratch("fwn.sqm")));
  // Truncated.
  const std::string cut = scratch("cut.sqm");
  std::filesystem::copy_file(sqm, cut, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::resize_file(cut, std::filesystem::file_size(sqm) - 100);
  expect_fails(sq_infer({cut}), 1, {cut, "truncated"});
  // Another architecture than asked for; a training checkpoint where a packed file belongs and vice versa.
  expect_fails(sq_infer({sqm, "--arch", "resnet20"}), 1, {sqm, "'arch'", "small_cnn", "resnet20"});
  expect_fails(sq_infer({stage(2)}), 1, {stage(2), "not a packed"});
  expect_fails(sq_eval({sqm}), 1, {sqm, "not an SQ-CUDA checkpoint"});
  // Tampered files: a missing tensor, a wrong bit width, an unknown op, an extra tensor.
  const std::string bad = scratch("tampered.sqm");
  sq::train::Checkpoint c = sq::train::read_checkpoint(sqm);
  const std::string dropped = c.tensors.front().name;
  c.tensors.erase(c.tensors.begin());
  sq::train::write_checkpoint(bad, c);
  expect_fails(sq_infer({bad}), 1, {bad, dropped, "missing"});
  c = sq::train::read_checkpoint(sqm);
  c.metadata["bits"] = "3";
  sq::train::write_checkpoint(bad, c);
  expect_fails(sq_infer({bad}), 1, {bad, "bits"});
  c = sq::train::read_checkpoint(sqm);
  c.metadata["graph"].replace(c.metadata["graph"].find("\"relu\""), 6, "\"gelu\"");
  sq::train::write_checkpoint(bad, c);
  expect_fails(sq_infer({bad}), 1, {bad, "unknown op 'gelu'"});
  c = sq::train::read_checkpoint(sqm);
  c.add("stray", sq::Tensor::from_vector(std::vector<float>{1.f}, {1}));
  sq::train::write_checkpoint(bad, c);
  expect_fails(sq_infer({bad}), 1, {bad, "'stray'", "not used"});
  c = sq::train::read_checkpoint(sqm);
  c.metadata["arch"] = "resnet20";  // the metadata of another architecture over small_cnn's graph
  c.metadata["model"].replace(c.metadata["model"].find("small_cnn"), 9, "resnet20");
  sq::train::write_checkpoint(bad, c);
  expect_fails(sq_infer({bad}), 1, {bad, "graph", "not the network of metadata 'arch' = resnet20"});
  c = sq::train::read_checkpoint(sqm);
  c.metadata["format_version"] = "9";
  sq::train::write_checkpoint(bad, c);
  expect_fails(sq_infer({bad}), 1, {bad, "format_version"});
  // Usage errors: exit 2, as train_cifar's.
  EXPECT_EQ(sq_export({stage(2)}).rc, 2) << "no -o";
  EXPECT_EQ(sq_eval({stage(2), "--weights", "ternary"}).rc, 2);
  EXPECT_EQ(sq_eval({scratch("missing.safetensors")}).rc, 2);
  EXPECT_EQ(sq_infer({sqm, "--bogus"}).rc, 2);
  EXPECT_EQ(sq_eval({"--help"}).rc, 0);
}

}  // namespace
