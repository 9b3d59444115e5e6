// sq_infer: accuracy of a packed .sqm file on a test set (CPU or GPU, from the packed codes), or --bench.
#include <fstream>
#include <iomanip>
#include <nlohmann/json.hpp>

#include "deploy/cli_util.hpp"
#include "deploy/infer_bench.hpp"
#include "sq/data/data.hpp"
#include "sq/deploy/inference.hpp"
#include "train/atomic_file.hpp"

namespace sq::deploy {
namespace {

struct InferOptions {
  std::string model, dataset, data_dir, arch, json_path, logits_path, device = "cpu";
  std::int64_t limit = 0;
  int batch = 200;
};

// "cpu", "gpu" / "cuda" / "cuda:N", "auto" (select_device's rules; gpu is cuda).
Device parse_infer_device(const std::string& rule) {
  if (rule == "gpu") return select_device("cuda");
  if (rule.rfind("gpu:", 0) == 0) return select_device("cuda:" + rule.substr(4));
  return select_device(rule);
}

int run_accuracy(const InferOptions& o, std::ostream& out) {
  PackedNetwork net = PackedNetwork::load(o.model, o.arch, parse_infer_device(o.device));
  const PackedInfo& info = net.info();
  const std::string dataset = o.dataset.empty() ? info.dataset : o.dataset;
  SQ_CHECK(!dataset.empty(), o.model << " names no data set (metadata 'dataset'): pass --dataset");
  const data::DatasetKind kind = data::parse_dataset_kind(dataset);
  data::Dataset test = data::load_dataset(kind, o.data_dir, /*train=*/false);
  if (o.limit > 0 && o.limit < test.size()) test = data::slice(test, 0, o.limit);
  SQ_CHECK(test.channels() == info.in_channels && test.classes == info.classes,
           o.model << " (" << info.arch << ", " << info.in_channels << " input channels, " << info.classes
                   << " classes) does not fit " << test.name << " (" << test.channels() << " channels, " << test.classes
                   << " classes)");
  const data::AugmentOptions augment = data::default_augmentation(kind, /*train=*/false);
  SQ_CHECK(augment.out_height == info.image_size, o.model << " takes " << info.image_size << "x" << info.image_size
                                                          << " images; " << dataset << " is evaluated at "
                                                          << augment.out_height);
  data::BatchLoader loader(test, Device::cpu(), augment, info.normalization, o.batch, 0, /*shuffle=*/false);
  std::vector<std::int64_t> class_images(static_cast<std::size_t>(info.classes)), class_correct(class_images);
  std::int64_t correct = 0, seen = 0;
  std::ofstream logits_file;
  if (!o.logits_path.empty()) {
    logits_file.open(o.logits_path, std::ios::binary);
    SQ_CHECK(logits_file.good(), "cannot write --logits file " << o.logits_path);
  }
  loader.start_epoch(0);
  while (const data::Batch* b = loader.next()) {
    const Tensor logits = net.forward(b->images);
    if (logits_file.is_open())
      logits_file.write(static_cast<const char*>(logits.raw()), static_cast<std::streamsize>(logits.bytes()));
    const float* z = logits.data<float>();
    const std::int32_t* y = b->labels.data<std::int32_t>();
    for (std::int64_t i = 0; i < b->size; ++i) {
      const float* row = z + i * info.classes;
      int best = 0;
      for (int k = 1; k < info.classes; ++k)
        if (row[k] > row[best]) best = k;
      ++class_images[static_cast<std::size_t>(y[i])];
      if (best == y[i]) {
        ++correct;
        ++class_correct[static_cast<std::size_t>(y[i])];
      }
    }
    seen += b->size;
  }
  const double error = 100.0 * (1.0 - static_cast<double>(correct) / static_cast<double>(seen));
  out << o.model << " on " << info.device.str() << ": " << info.arch << " " << info.quantizer << " (" << info.bits
      << "-bit, " << (info.folded_bn ? "BN folded" : "BN unfolded") << "), weights " << info.weight_bytes
      << " bytes in memory (" << std::fixed << std::setprecision(1)
      << static_cast<double>(info.fp32_weight_bytes) / static_cast<double>(info.weight_bytes)
      << "x smaller than fp32)\n"
      << std::setprecision(2) << seen << " " << dataset << " test images: error " << error << "%, accuracy "
      << 100.0 - error << "%\n";
  if (!o.json_path.empty()) {
    nlohmann::ordered_json j = {{"model", o.model},
                                {"arch", info.arch},
                                {"quantizer", info.quantizer},
                                {"bits", info.bits},
                                {"device", info.device.str()},
                                {"dataset", dataset},
                                {"images", seen},
                                {"correct", correct},
                                {"error", error},
                                {"accuracy", 100.0 - error},
                                {"class_images", class_images},
                                {"class_correct", class_correct},
                                {"weight_bytes", info.weight_bytes},
                                {"fp32_weight_bytes", info.fp32_weight_bytes}};
    const std::string text = j.dump(2) + "\n";
    train::write_file_atomically(o.json_path,
                                 [&](int fd) { train::write_all(fd, text.data(), text.size(), o.json_path); });
  }
  return detail::kExitOk;
}

}  // namespace

int infer_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CLI::App app(
      "sq_infer: run a packed low-bit model (.sqm from sq_export) on the CPU or a GPU, computing from the packed "
      "codes; prints the test error, or with --bench times packed vs fp32 inference",
      "sq_infer");
  InferOptions o;
  detail::BenchOptions bench;
  bool run_bench = false;
  app.add_option("model", o.model, "packed model (.sqm)")->check(CLI::ExistingFile);
  app.add_option("--dataset", o.dataset, "test set (default: the one the model was trained on)");
  app.add_option("--data", o.data_dir, "data set folder (default: the data set's default folder)");
  app.add_option("--limit", o.limit, "first N test images (0 = all)");
  app.add_option("--batch", o.batch, "inference batch")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--device", o.device, "cpu, gpu (= cuda), cuda:N or auto; for the test run and --bench")
      ->capture_default_str();
  app.add_option("--arch", o.arch, "refuse a model of another architecture");
  app.add_option("--json", o.json_path, "also write the result as JSON");
  app.add_option("--logits", o.logits_path, "also write the logits (raw little-endian f32 [N, classes])");
  app.add_flag("--bench", run_bench,
               "benchmark instead: batch-1 latency and batch-N throughput, packed vs fp32 forward, weight memory, "
               "for --bench-archs (random weights; no model file needed)");
  app.add_option("--bench-archs", bench.archs, "architectures for --bench")->capture_default_str();
  app.add_option("--bench-quantizer", bench.quantizer, "quantizer for --bench (bwn, twn, kbit)")->capture_default_str();
  app.add_option("--bench-bits", bench.bits, "bits for --bench-quantizer kbit (2..8)")->capture_default_str();
  app.add_option("--bench-batch", bench.batch, "throughput batch for --bench")->capture_default_str();
  app.add_option("--bench-repeats", bench.repeats, "timed repeats (median reported)")->capture_default_str();
  const int parsed = detail::parse_command_line(app, argc, argv, out, err);
  if (parsed >= 0) return parsed;
  return detail::run_reporting_errors("sq_infer", err, [&] {
    if (run_bench) {
      bench.device = parse_infer_device(o.device);
      return detail::run_bench(bench, out);
    }
    SQ_CHECK(!o.model.empty(), "no model: sq_infer MODEL.sqm [--data DIR] (or --bench)");
    return run_accuracy(o, out);
  });
}

}  // namespace sq::deploy
