// sq_dist_bench: under `mpirun -np N`, (1) the MPI all-reduce time of float buffers against their size, and (2)
// training steps/s and images/s of a model at a global batch split over the N ranks (gradient all-reduce included,
// synchronised BN optional). Medians over repetitions; rank 0 prints. docs/PERFORMANCE.md "Data parallelism".
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "sq/core/cpu_threads.hpp"
#include "sq/core/philox.hpp"
#include "sq/dist/gradient_sync.hpp"
#include "sq/dist/world.hpp"
#include "sq/nn/models.hpp"
#include "sq/train/trainer.hpp"

namespace {
double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sq_dist_bench: all-reduce time and data-parallel step rate on CPU ranks (run under mpirun -np N)"};
  std::string arch = "resnet20";
  int batch = 64, steps = 20, warmup = 3, image = 32, threads = 1, reps = 20;
  bool sync_bn = false;
  app.add_option("--arch", arch, "small_cnn, resnet20, vgg9");
  app.add_option("--batch", batch, "global batch (split over the ranks)");
  app.add_option("--steps", steps, "timed training steps");
  app.add_option("--warmup", warmup, "untimed steps first");
  app.add_option("--image", image, "image size");
  app.add_option("--threads", threads, "CPU threads per rank");
  app.add_option("--reps", reps, "all-reduce repetitions per size");
  app.add_flag("--sync-bn", sync_bn, "synchronised BatchNorm");
  CLI11_PARSE(app, argc, argv);
  auto world = sq::dist::make_mpi_collective();
  const int n = world->size(), rank = world->rank();
  sq::set_cpu_threads(threads);
  if (rank == 0) std::printf("sq_dist_bench: %s, %d threads per rank\n", world->describe().c_str(), threads);

  // (1) all-reduce time against bytes.
  for (std::int64_t elements = 1 << 10; elements <= (1 << 22); elements *= 4) {
    std::vector<float> buffer(static_cast<std::size_t>(elements), 1.f);
    std::vector<double> t;
    for (int r = 0; r < reps + 2; ++r) {
      world->barrier();
      const double start = now_s();
      world->all_reduce_sum(buffer.data(), elements);
      if (r >= 2) t.push_back(now_s() - start);
    }
    if (rank == 0) {
      std::printf("allreduce %10lld bytes: median %9.3f ms (%.2f GB/s)\n", static_cast<long long>(elements * 4),
                  1e3 * median(t), elements * 4 / median(t) / 1e9);
    }
  }

  // (2) training steps at the global batch.
  sq::nn::ExecutionContext ctx = sq::nn::make_context(sq::Device::cpu());
  ctx.seed = 1;
  if (sync_bn) ctx.sync_bn = world.get();
  sq::nn::ModelSpec spec;
  spec.arch = arch;
  spec.image_size = image;
  sq::quant::SqOptions sq;
  sq.quantizer = sq::quant::Quantizer::twn;
  sq.ratio = 0.5;
  auto model = sq::nn::build_model(spec, sq, ctx, 1);
  const int local = batch / n;
  auto sync = sq::dist::make_host_gradient_sync(*world);
  sq::train::TrainerOptions options;
  options.gradient_sync = sync.get();
  sq::train::Trainer trainer(*model, ctx, options);
  std::vector<float> x(static_cast<std::size_t>(local) * 3 * image * image);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = sq::philox_uniform_at(2, static_cast<std::uint64_t>(rank), i);
  std::vector<std::int32_t> y(static_cast<std::size_t>(local));
  for (int i = 0; i < local; ++i) y[static_cast<std::size_t>(i)] = i % 10;
  const sq::Tensor images = sq::Tensor::from_vector(x, {local, 3, image, image});
  const sq::Tensor labels = sq::Tensor::from_vector(y, {local});
  std::vector<double> step_t, reduce_t;
  for (int s = 0; s < warmup + steps; ++s) {
    world->barrier();
    const double start = now_s();
    trainer.train_step(images, labels, 0.01f);
    const double t = now_s() - start;
    if (s >= warmup) step_t.push_back(t);
  }
  // The gradient all-reduce alone, at the arena's size (a sync no layer reports to: every bucket after "backward").
  sq::nn::ParameterArena& arena = model->arena();
  auto alone = sq::dist::make_host_gradient_sync(*world);
  for (int r = 0; r < reps; ++r) {
    world->barrier();
    const double start = now_s();
    alone->begin_backward(arena, ctx);
    alone->reduce(arena, ctx);
    reduce_t.push_back(now_s() - start);
  }
  if (rank == 0) {
    const double step = median(step_t);
    std::printf(
        "train %s global batch %d (%d per rank)%s: %.2f steps/s, %.1f images/s; gradient all-reduce "
        "%lld bytes: %.3f ms per step (%.1f%% of the step)\n",
        arch.c_str(), batch, local, sync_bn ? ", sync BN" : "", 1 / step, batch / step,
        static_cast<long long>(arena.numel() * 4), 1e3 * median(reduce_t), 100 * median(reduce_t) / step);
  }
  return 0;
}
