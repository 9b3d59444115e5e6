// Evaluation of any checkpoint: the training run's evaluation pass (src/train/runner_support.cpp evaluate) over
// the chosen test set, plus per-class counts from the logits, with the same first-maximum rule as the loss.
#include "sq/deploy/evaluate.hpp"

#include <cmath>
#include <iomanip>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "deploy/restore.hpp"
#include "sq/core/error.hpp"
#include "train/runner_support.hpp"

namespace sq::deploy {

double EvalReport::class_accuracy(std::size_t c) const {
  if (c >= class_images.size() || class_images[c] == 0) return std::numeric_limits<double>::quiet_NaN();
  return 100.0 * static_cast<double>(class_correct[c]) / static_cast<double>(class_images[c]);
}

std::string EvalReport::to_json() const {
  nlohmann::ordered_json j;
  j["checkpoint"] = checkpoint;
  j["arch"] = arch;
  j["method"] = method;
  j["dataset"] = dataset;
  j["weights"] = weights;
  j["sq_ratio"] = sq_ratio;
  j["eval_seed"] = eval_seed;
  j["bn_recalibrate_batches"] = bn_recalibrate_batches;
  j["images"] = images;
  j["loss"] = loss;
  j["error"] = error;
  j["accuracy"] = 100.0 - error;
  nlohmann::ordered_json classes = nlohmann::ordered_json::array();
  for (std::size_t c = 0; c < class_images.size(); ++c) {
    const double a = class_accuracy(c);
    classes.push_back({{"class", c},
                       {"images", class_images[c]},
                       {"correct", class_correct[c]},
                       {"accuracy", std::isfinite(a) ? nlohmann::ordered_json(a) : nlohmann::ordered_json()}});
  }
  j["per_class"] = classes;
  return j.dump(2);
}

std::string EvalReport::to_text() const {
  std::ostringstream o;
  o << checkpoint << ": " << arch << " " << method << ", " << weights << " weights on " << images << " " << dataset
    << " test images";
  if (weights == "hybrid") o << " (r = " << sq_ratio << ", eval seed " << eval_seed << ")";
  o << "; BN "
    << (bn_recalibrate_batches > 0 ? "recalibrated over " + std::to_string(bn_recalibrate_batches) + " batches"
                                   : std::string("statistics of the checkpoint"))
    << "\n";
  o << std::fixed << std::setprecision(4) << "loss " << loss << std::setprecision(2) << ", error " << error
    << "%, accuracy " << 100.0 - error << "%\n";
  o << "class  images  correct  accuracy\n";
  for (std::size_t c = 0; c < class_images.size(); ++c) {
    o << std::setw(5) << c << std::setw(8) << class_images[c] << std::setw(9) << class_correct[c] << std::setw(9)
      << train::detail::fixed2(class_accuracy(c)) << "%\n";
  }
  return o.str();
}

EvalReport evaluate_checkpoint(const std::string& path, const EvalOptions& options) {
  std::unique_ptr<detail::RestoredRun> run = detail::restore_run(path, options.restore);
  const train::RunConfig& config = run->config;
  data::Dataset test_set = data::load_dataset(run->kind, config.data.dir, /*train=*/false);
  const std::int64_t limit = options.limit.value_or(config.data.test_limit);
  SQ_CHECK(limit >= 0, "--limit must be >= 0 (0: the whole test set), got " << limit);
  train::detail::limit(test_set, limit);
  SQ_CHECK(test_set.classes == run->model->spec().classes, test_set.name << " has " << test_set.classes
                                                                         << " classes but the checkpoint's network has "
                                                                         << run->model->spec().classes);
  const int batch = options.batch > 0 ? options.batch : config.data.eval_batch;
  SQ_CHECK(options.batch >= 0, "--batch must be positive, got " << options.batch);
  data::BatchLoader test(test_set, run->ctx.device, data::default_augmentation(run->kind, /*train=*/false),
                         run->normalization, batch, config.run.seed, /*shuffle=*/false, run->ctx.stream);

  detail::prepare_weights(*run, options.restore.weights);
  EvalReport r;
  r.checkpoint = path;
  r.arch = config.model.arch;
  r.method = config.method();
  r.dataset = config.data.dataset;
  r.weights = train::to_string(options.restore.weights);
  r.bn_recalibrate_batches = run->bn_recalibrate_batches;
  r.eval_seed = run->eval_seed;
  r.sq_ratio = run->ratio;
  const int classes = run->model->spec().classes;
  r.class_images.assign(static_cast<std::size_t>(classes), 0);
  r.class_correct.assign(static_cast<std::size_t>(classes), 0);

  nn::Model& model = *run->model;
  nn::ExecutionContext& ctx = run->ctx;
  double loss_sum = 0;
  std::int64_t correct = 0;
  test.start_epoch(0);
  while (const data::Batch* b = test.next()) {
    // Trainer::eval_batch's forward + loss on the model's evaluation network, keeping the logits.
    const nn::EvalNetwork net = model.eval_network(b->size, ctx);
    ctx.training = false;
    ctx.device_step = nullptr;
    const Tensor& logits = net.root->forward(b->images, ctx);
    net.loss->forward(logits, b->labels, ctx);
    loss_sum += static_cast<double>(net.loss->read_loss()) * static_cast<double>(b->size);
    correct += net.loss->read_correct();
    const Tensor host_logits = logits.to(Device::cpu());
    const Tensor host_labels = b->labels.to(Device::cpu());
    const float* z = host_logits.data<float>();
    const std::int32_t* y = host_labels.data<std::int32_t>();
    for (std::int64_t i = 0; i < b->size; ++i) {
      const float* row = z + i * classes;
      int best = 0;
      for (int k = 1; k < classes; ++k)
        if (row[k] > row[best]) best = k;
      const auto label = static_cast<std::size_t>(y[i]);
      ++r.class_images.at(label);
      if (best == y[i]) ++r.class_correct[label];
    }
    r.images += b->size;
  }
  SQ_CHECK(r.images > 0, "the test set of " << config.data.dataset << " is empty (limit " << limit << ")");
  r.loss = loss_sum / static_cast<double>(r.images);
  r.error = 100.0 * (1.0 - static_cast<double>(correct) / static_cast<double>(r.images));
  return r;
}

}  // namespace sq::deploy
