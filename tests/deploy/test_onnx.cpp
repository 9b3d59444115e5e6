// ONNX export checked by outside tools: scripts/deploy/make-venv.sh makes a venv with onnx + onnxruntime from
// PyPI (skipped, with the reason, when that fails); onnx.checker passes; onnxruntime's logits equal the packed
// network's within 1e-4 relative for every architecture and quantizer; on the full Fashion-MNIST test set
// onnxruntime scores exactly what sq_infer scores, for a trained checkpoint exported with sq_export --onnx.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "deploy_util.hpp"
#include "e2e/e2e_util.hpp"
#include "sq/data/data.hpp"
#include "trained_runs.hpp"

namespace {

using namespace sq_deploy_test;

std::string run_capture(const std::string& command, int& rc) {
  std::string out;
  std::FILE* p = ::popen(command.c_str(), "r");
  if (!p) {
    rc = -1;
    return out;
  }
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  rc = ::pclose(p);
  return out;
}

const std::string& venv_python(std::string& reason) {
  static std::string python, why;
  static bool tried = false;
  if (!tried) {
    tried = true;
    int rc = 0;
    const std::string dir = std::string(SQ_BINARY_DIR) + "/deploy-venv";
    const std::string log =
        run_capture(std::string(SQ_SOURCE_DIR) + "/scripts/deploy/make-venv.sh '" + dir + "' 2>&1", rc);
    if (rc == 0) {
      python = dir + "/bin/python";
    } else {
      why = "cannot make the onnx/onnxruntime venv from PyPI (scripts/deploy/make-venv.sh): " + log;
    }
  }
  reason = why;
  return python;
}

void write_raw(const std::string& path, const void* data, std::size_t bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
}

nlohmann::json check_batch(const std::string& python, const nlohmann::json& manifest, const std::string& path) {
  std::ofstream(path) << manifest.dump();
  int rc = 0;
  const std::string out = run_capture(
      "'" + python + "' " + SQ_SOURCE_DIR + "/scripts/deploy/check_onnx.py --batch '" + path + "' 2>&1", rc);
  EXPECT_EQ(rc, 0) << out;
  if (rc != 0) return nlohmann::json::array();
  return nlohmann::json::parse(out.substr(out.find('[')));
}

TEST(Onnx, EveryArchitectureAndQuantizerMatchesOnnxruntime) {
  std::string reason;
  const std::string python = venv_python(reason);
  if (python.empty()) GTEST_SKIP() << reason;
  nlohmann::json manifest = nlohmann::json::array();
  std::vector<std::string> files;
  for (const std::string& arch : sq::nn::known_architectures()) {
    if (sq::nn::is_imagenet_architecture(arch)) continue;  // 32x32 inputs here; tests/imagenet has those nets
    for (const QuantCase& q : quant_cases()) {
      sq::nn::ModelSpec spec;
      spec.arch = arch;
      spec.in_channels = arch == "small_cnn" ? 1 : 3;
      auto net = sq::deploy::detail::synthetic_net(spec, q.quantizer, q.bits, 3);
      sq::deploy::PackOptions options;
      options.normalization = net->normalization;
      options.fold_bn = arch == "resnet20";  // one architecture exported folded
      const std::string base = temp_path(arch + "_" + q.label());
      sq::train::write_checkpoint(base + ".sqm", sq::deploy::pack_model(*net->model, options));
      sq::deploy::PackedNetwork packed = sq::deploy::PackedNetwork::load(base + ".sqm");
      const sq::Tensor images = test_images(3, spec.in_channels, 32, 9);
      const sq::Tensor logits = packed.forward(images);
      write_raw(base + ".images", images.raw(), images.bytes());
      write_raw(base + ".ref", logits.raw(), logits.bytes());
      manifest.push_back({{"name", arch + " " + q.label()},
                          {"sqm", base + ".sqm"},
                          {"onnx", base + ".onnx"},
                          {"images", base + ".images"},
                          {"ref", base + ".ref"}});
      for (const char* ext : {".sqm", ".onnx", ".images", ".ref"}) files.push_back(base + ext);
    }
  }
  const nlohmann::json results = check_batch(python, manifest, temp_path("manifest.json"));
  ASSERT_EQ(results.size(), manifest.size());
  for (const nlohmann::json& r : results) {
    EXPECT_LT(r["max_rel_error"].get<double>(), 1e-4) << r.dump();
    EXPECT_EQ(r["argmax_agree"], 3) << r.dump();
    const std::string name = r["name"];
    const bool narrow = name.find("kbit8") == std::string::npos;
    EXPECT_EQ(r["weight_types"], nlohmann::json::array({narrow ? "INT4" : "INT8"})) << r.dump();
    for (const auto& op : r["ops"]) {
      EXPECT_NE(op, "Dropout");
    }
  }
  for (const std::string& f : files) std::remove(f.c_str());
}

TEST(Onnx, TrainedCheckpointScoresTheSameOnTheFullFashionMnistTestSet) {
  std::string reason;
  const std::string python = venv_python(reason);
  if (python.empty()) GTEST_SKIP() << reason;
  const std::string runs = trained_runs();
  ASSERT_FALSE(runs.empty()) << "no trained run";
  const std::string dir = sq_e2e::fresh_dir("deploy_onnx");
  std::filesystem::create_directories(dir);
  const std::string sqm = dir + "/model.sqm", onnx = dir + "/model.onnx";
  std::vector<std::string> export_args = {
      "sq_export", runs + "/twn/stage2.safetensors", "-o", sqm, "--onnx", onnx, "--python", python};
  std::vector<const char*> argv;
  for (const std::string& a : export_args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  ASSERT_EQ(sq::deploy::export_main(static_cast<int>(argv.size()), argv.data(), out, err), 0) << err.str();
  std::cout << "[ deploy ] " << out.str();

  sq::deploy::PackedNetwork packed = sq::deploy::PackedNetwork::load(sqm);
  sq::data::Dataset test = sq::data::load_fashion_mnist(sq::data::kFashionMnistDefaultDir, false);
  const auto kind = sq::data::DatasetKind::fashion_mnist;
  sq::data::BatchLoader loader(test, sq::Device::cpu(), sq::data::default_augmentation(kind, false),
                               packed.info().normalization, 500, 0, false);
  std::ofstream images(dir + "/images", std::ios::binary), logits(dir + "/ref", std::ios::binary),
      labels(dir + "/labels", std::ios::binary);
  loader.start_epoch(0);
  while (const sq::data::Batch* b = loader.next()) {
    const sq::Tensor z = packed.forward(b->images);
    images.write(static_cast<const char*>(b->images.raw()), static_cast<std::streamsize>(b->images.bytes()));
    logits.write(static_cast<const char*>(z.raw()), static_cast<std::streamsize>(z.bytes()));
    labels.write(static_cast<const char*>(b->labels.raw()), static_cast<std::streamsize>(b->labels.bytes()));
  }
  images.close();
  logits.close();
  labels.close();
  int rc = 0;
  const std::string result =
      run_capture("'" + python + "' " + SQ_SOURCE_DIR + "/scripts/deploy/check_onnx.py '" + onnx + "' '" + dir +
                      "/images' '" + dir + "/ref' '" + dir + "/labels' 2>&1",
                  rc);
  ASSERT_EQ(rc, 0) << result;
  const nlohmann::json r = nlohmann::json::parse(result.substr(result.find('{')));
  EXPECT_EQ(r["images"], 10000);
  EXPECT_EQ(r["ort_correct"], r["ref_correct"]) << r.dump();
  EXPECT_LT(r["max_rel_error"].get<double>(), 1e-4) << r.dump();
  EXPECT_GT(r["ref_correct"].get<int>(), 6000) << "a trained network, not chance: " << r.dump();
  std::cout << "[ deploy ] onnxruntime " << r.dump() << "\n";
  sq_e2e::clean_up(dir);
}

}  // namespace
