// Restoring a training run's network from its checkpoint: configuration from the metadata, the run's data and
// normalisation, the model and its weights; evaluation weights and BN recalibration exactly as the run's
// evaluation (src/train/runner.cpp) did them, so a restored evaluation reproduces the logged numbers.
#include "deploy/restore.hpp"

#include "sq/core/error.hpp"
#include "train/runner_state.hpp"
#include "train/runner_support.hpp"

namespace sq::deploy::detail {

nn::ModelSpec model_spec(const train::RunConfig& config, int in_channels, int classes, int image_size) {
  nn::ModelSpec spec;
  spec.arch = config.model.arch;
  spec.in_channels = in_channels;
  spec.classes = classes;
  spec.image_size = image_size;
  spec.quantize_first = config.model.quantize_first;
  spec.quantize_last = config.model.quantize_last;
  spec.dropout_scale = static_cast<float>(config.model.dropout_scale);
  spec.decay_1d = config.model.decay_1d;
  return spec;
}

std::unique_ptr<RestoredRun> restore_run(const std::string& path, const RestoreOptions& options) {
  auto run = std::make_unique<RestoredRun>();
  run->path = path;
  run->checkpoint = train::read_checkpoint(path);
  const auto format = run->checkpoint.metadata.find(train::checkpoint_key::kFormat);
  SQ_CHECK(format != run->checkpoint.metadata.end() && format->second == train::kCheckpointFormatName,
           path << " is not an SQ-CUDA checkpoint (metadata 'format' is not '" << train::kCheckpointFormatName
                << "'; a packed .sqm file is run with sq_infer)");
  const auto config_text = run->checkpoint.metadata.find(train::checkpoint_key::kConfig);
  SQ_CHECK(config_text != run->checkpoint.metadata.end(),
           path << " holds no run configuration (metadata 'config'): it cannot be restored");
  run->config = train::RunConfig::from_json(config_text->second, path + " (its 'config' metadata)");
  train::RunConfig& config = run->config;
  if (!options.dataset.empty()) config.data.dataset = options.dataset;
  if (!options.data_dir.empty()) config.data.dir = options.data_dir;
  run->eval_seed = options.eval_seed.value_or(config.run.eval_seed);
  run->bn_recalibrate_batches = options.bn_recalibrate_batches.value_or(config.run.bn_recalibrate_batches);
  SQ_CHECK(run->bn_recalibrate_batches >= 0,
           "--bn-recalibrate-batches must be >= 0, got " << run->bn_recalibrate_batches);

  const Device device = select_device(options.device);
  run->ctx = nn::make_context(device, config.run.math == "fp32" ? nn::MathMode::fp32 : nn::MathMode::tf32,
                              config.run.deterministic);
  run->ctx.seed = config.run.seed;
  run->kind = data::parse_dataset_kind(config.data.dataset);
  run->train_set = data::load_dataset(run->kind, config.data.dir, /*train=*/true);
  train::detail::limit(run->train_set, config.data.train_limit);
  run->normalization = data::compute_normalization(run->train_set);

  const data::AugmentOptions eval_augment = data::default_augmentation(run->kind, /*train=*/false);
  const nn::ModelSpec spec =
      model_spec(config, run->train_set.channels(), run->train_set.classes, eval_augment.out_height);
  run->model = nn::build_model(spec, train::detail::sq_options(config), run->ctx, config.run.seed);
  run->model->setup(config.optim.batch, run->ctx);
  train::TrainerOptions trainer_options;
  trainer_options.use_graph = false;
  trainer_options.eval_draw_step = train::detail::eval_draw_step(run->eval_seed);
  run->trainer = std::make_unique<train::Trainer>(*run->model, run->ctx, trainer_options);
  const train::detail::RunState state =
      train::detail::load_checkpoint_into(run->checkpoint, path, config, *run->model, *run->trainer);
  run->ratio = config.quant.stages.at(static_cast<std::size_t>(state.position.stage));
  run->trainer->set_stage(state.position.stage);
  run->trainer->set_ratio(run->ratio);
  return run;
}

void prepare_weights(RestoredRun& run, train::EvalWeights weights) {
  run.trainer->prepare_eval(weights);
  if (run.bn_recalibrate_batches <= 0) return;
  const train::RunConfig& config = run.config;
  // The loader the run's evaluation recalibrates with (runner.cpp): training set, training augmentation and
  // batch, seed run.seed + kBnRecalibrationSeed, from epoch 0.
  data::BatchLoader loader(run.train_set, run.ctx.device, train::detail::train_augmentation(config, run.kind),
                           run.normalization, config.optim.batch, config.run.seed + train::detail::kBnRecalibrationSeed,
                           /*shuffle=*/true, run.ctx.stream);
  run.trainer->recalibrate_bn(loader, run.bn_recalibrate_batches);
}

}  // namespace sq::deploy::detail
