// CUDA path of every nn layer against its CPU path in strict fp32: same parameters, inputs and output gradients;
// GPU outputs and gradients are poisoned (NaN) before the compared run. Skips without a GPU.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <memory>
#include <random>
#include <vector>

#include "sq/core/cuda_check.hpp"
#include "sq/nn/layers.hpp"
#include "support/gpu.hpp"

namespace {

using sq::nn::Module;
using Factory = std::function<std::unique_ptr<Module>()>;

void poison(const sq::Tensor& t) {
  if (t.bytes() == 0) return;
  SQ_CUDA_CHECK(cudaMemset(const_cast<void*>(t.raw()), 0xFF, t.bytes()));  // all-ones bytes: NaN in fp32
}

// max |a - b| / max |b|: the error relative to the reference's scale. Infinite (a failure for every tolerance)
// when either side holds a NaN or Inf, or the sizes differ: a broken reference must not pass.
double relative_error(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  if (a.size() != b.size()) return INFINITY;
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i]) || !std::isfinite(b[i])) return INFINITY;
    diff = std::max(diff, std::fabs(double(a[i]) - b[i]));
    scale = std::max(scale, std::fabs(double(b[i])));
  }
  return scale > 0 ? diff / scale : diff;
}

struct Side {
  sq::nn::ExecutionContext ctx;
  std::unique_ptr<Module> module;
  std::vector<sq::nn::Parameter*> params;
  sq::nn::ParameterArena arena;
};

struct ParityOptions {
  bool training = true;
  double tol = 1e-4;  // max error relative to the reference's largest magnitude: "far under 1e-3"
  std::uint64_t step = 3;
  float input_offset = 0.f;  // added to the N(0, 1) inputs (BN with a mean far larger than the spread)
  // The layer is the identity on values (Flatten, Dropout in evaluation): the outputs must equal the inputs and
  // the input gradient the output gradient, an expectation of its own (both devices may return their input).
  bool identity = false;
};

// Runs the module on both devices and compares output, input gradient, parameter gradients and buffers.
void expect_parity(const Factory& make, const sq::Shape& input_shape, std::uint32_t seed, ParityOptions opt = {}) {
  Side cpu{sq::nn::make_context(sq::Device::cpu()), make(), {}, {}};
  // Deterministic algorithms: chains through ReLU / max-pool would otherwise compare a timing-chosen (possibly
  // atomic) cuDNN algorithm, which can flip a near-tie.
  Side gpu{sq::nn::make_context(sq::Device::cuda(0), sq::nn::MathMode::fp32, /*deterministic=*/true), make(), {}, {}};
  sq::Shape out_shape;
  for (Side* s : {&cpu, &gpu}) {
    s->ctx.training = opt.training;
    s->ctx.seed = seed;
    s->ctx.step = opt.step;
    out_shape = s->module->setup(input_shape, s->ctx);
    s->module->collect_parameters(s->params);
    s->arena.bind(s->params, s->ctx.device);
    s->arena.initialise(seed);
  }
  // Random values everywhere (also gamma/beta), hybrid = values: the same numbers on both devices.
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> values = cpu.arena.values().to_vector<float>();
  for (std::size_t i = static_cast<std::size_t>(cpu.arena.quantized_numel()); i < values.size(); ++i) {
    values[i] = 1.f + 0.3f * normal(rng);
  }
  for (Side* s : {&cpu, &gpu}) {
    s->arena.values().copy_from(sq::Tensor::from_vector(values, {cpu.arena.numel()}));
    if (s->arena.quantized_numel() > 0) {
      s->arena.hybrid().copy_from(
          sq::Tensor::from_vector(std::vector<float>(values.begin(), values.begin() + cpu.arena.quantized_numel()),
                                  {cpu.arena.quantized_numel()}));
    }
  }
  std::vector<float> x(static_cast<std::size_t>(sq::shape_numel(input_shape)));
  for (float& v : x) v = normal(rng) + opt.input_offset;
  std::vector<float> dy(static_cast<std::size_t>(sq::shape_numel(out_shape)));
  for (float& v : dy) v = normal(rng);
  const sq::Tensor x_cpu = sq::Tensor::from_vector(x, input_shape);
  const sq::Tensor dy_cpu = sq::Tensor::from_vector(dy, out_shape);
  const sq::Tensor x_gpu = x_cpu.to(sq::Device::cuda(0));
  const sq::Tensor dy_gpu = dy_cpu.to(sq::Device::cuda(0));

  // Buffers (BN running statistics) start equal; the CPU runs once, the GPU twice (warm-up, then poisoned run),
  // so the GPU's buffers are compared after rewinding them.
  std::vector<sq::nn::NamedBuffer> cpu_buffers, gpu_buffers;
  cpu.module->collect_buffers(cpu_buffers);
  gpu.module->collect_buffers(gpu_buffers);
  std::vector<std::vector<float>> initial_buffers;
  std::uniform_real_distribution<float> positive(0.5f, 1.5f);  // valid as running means and variances
  for (std::size_t i = 0; i < gpu_buffers.size(); ++i) {
    std::vector<float> v(static_cast<std::size_t>(gpu_buffers[i].tensor->numel()));
    for (float& e : v) e = positive(rng);
    cpu_buffers[i].tensor->copy_from(sq::Tensor::from_vector(v, cpu_buffers[i].tensor->shape()));
    initial_buffers.push_back(v);
  }

  const sq::Tensor& y_cpu = cpu.module->forward(x_cpu, cpu.ctx);
  const std::vector<float> h_y = y_cpu.to_vector<float>();
  const std::vector<float> h_dx =
      opt.training ? cpu.module->backward(dy_cpu, cpu.ctx).to_vector<float>() : std::vector<float>();

  const sq::Tensor* y_gpu = &gpu.module->forward(x_gpu, gpu.ctx);
  const sq::Tensor* dx_gpu = opt.training ? &gpu.module->backward(dy_gpu, gpu.ctx) : nullptr;
  SQ_CUDA_CHECK(cudaStreamSynchronize(gpu.ctx.stream));
  if (y_gpu->raw() != x_gpu.raw()) poison(*y_gpu);
  if (dx_gpu && dx_gpu->raw() != dy_gpu.raw()) poison(*dx_gpu);
  poison(gpu.arena.grads());
  for (std::size_t i = 0; i < gpu_buffers.size(); ++i) {
    gpu_buffers[i].tensor->copy_from(sq::Tensor::from_vector(initial_buffers[i], gpu_buffers[i].tensor->shape()));
  }
  SQ_CUDA_CHECK(cudaDeviceSynchronize());
  y_gpu = &gpu.module->forward(x_gpu, gpu.ctx);
  dx_gpu = opt.training ? &gpu.module->backward(dy_gpu, gpu.ctx) : nullptr;
  SQ_CUDA_CHECK(cudaStreamSynchronize(gpu.ctx.stream));

  const std::string what = cpu.module->type() + " " + cpu.module->describe();
  if (opt.identity) {
    EXPECT_EQ(y_gpu->to_vector<float>(), x) << what << ": GPU output vs the input";
    EXPECT_EQ(h_y, x) << what << ": CPU output vs the input";
    EXPECT_EQ(sq::shape_numel(y_gpu->shape()), sq::shape_numel(input_shape));
    if (opt.training) {
      EXPECT_EQ(dx_gpu->to_vector<float>(), dy) << what << ": GPU input gradient vs the output gradient";
      EXPECT_EQ(h_dx, dy) << what << ": CPU input gradient vs the output gradient";
    }
  }
  EXPECT_LT(relative_error(y_gpu->to_vector<float>(), h_y), opt.tol) << what << ": output";
  if (opt.training) {
    EXPECT_LT(relative_error(dx_gpu->to_vector<float>(), h_dx), opt.tol) << what << ": input gradient";
    for (std::size_t k = 0; k < cpu.params.size(); ++k) {
      EXPECT_LT(relative_error(gpu.params[k]->grad.to_vector<float>(), cpu.params[k]->grad.to_vector<float>()), opt.tol)
          << what << ": gradient of " << cpu.params[k]->name;
    }
  }
  for (std::size_t i = 0; i < cpu_buffers.size(); ++i) {
    EXPECT_LT(relative_error(gpu_buffers[i].tensor->to_vector<float>(), cpu_buffers[i].tensor->to_vector<float>()),
              opt.tol)
        << what << ": buffer " << cpu_buffers[i].name;
  }
}

template <class M, class... Args>
Factory factory(Args... args) {
  return [=]() -> std::unique_ptr<Module> { return std::make_unique<M>(args...); };
}

TEST(NnGpuParity, Conv2d) {
  SQ_REQUIRE_GPU();
  expect_parity(factory<sq::nn::Conv2d>("c", 3, 16, 3, 1, 1, true, false), {4, 3, 13, 11}, 1);
  expect_parity(factory<sq::nn::Conv2d>("c", 8, 12, 3, 2, 1, false, true), {3, 8, 16, 16}, 2);
  expect_parity(factory<sq::nn::Conv2d>("c", 16, 32, 1, 2, 0, false, true), {5, 16, 8, 8}, 3);
  expect_parity(factory<sq::nn::Conv2d>("c", 64, 64, 3, 1, 1, false, true), {8, 64, 8, 8}, 4);
}

TEST(NnGpuParity, Linear) {
  SQ_REQUIRE_GPU();
  expect_parity(factory<sq::nn::Linear>("fc", 37, 10, true, false), {9, 37}, 5);
  expect_parity(factory<sq::nn::Linear>("fc", 256, 100, false, true), {33, 4, 8, 8}, 6);
}

TEST(NnGpuParity, BatchNormTrainingAndEvaluation) {
  SQ_REQUIRE_GPU();
  expect_parity(factory<sq::nn::BatchNorm>("bn", 16), {7, 16, 9, 10}, 7);
  expect_parity(factory<sq::nn::BatchNorm>("bn", 3), {64, 3, 32, 32}, 8);
  expect_parity(factory<sq::nn::BatchNorm>("bn", 300), {5, 300}, 9);
  ParityOptions offset;
  offset.input_offset = 100.f;
  expect_parity(factory<sq::nn::BatchNorm>("bn", 8), {16, 8, 8, 8}, 23, offset);
  ParityOptions eval;
  eval.training = false;
  expect_parity(factory<sq::nn::BatchNorm>("bn", 16), {7, 16, 9, 10}, 10, eval);
  expect_parity(factory<sq::nn::BatchNorm>("bn", 300), {5, 300}, 11, eval);
}

TEST(NnGpuParity, ActivationsPoolsFlatten) {
  SQ_REQUIRE_GPU();
  expect_parity(factory<sq::nn::ReLU>(), {3, 5, 7, 9}, 12);
  expect_parity(factory<sq::nn::MaxPool2d>(2, 2), {3, 5, 17, 16}, 13);
  expect_parity(factory<sq::nn::MaxPool2d>(3, 2), {2, 4, 15, 15}, 14);
  expect_parity(factory<sq::nn::GlobalAvgPool>(), {6, 64, 8, 8}, 15);
  ParityOptions identity;
  identity.identity = true;
  expect_parity(factory<sq::nn::Flatten>(), {6, 4, 3, 3}, 16, identity);
}

TEST(NnGpuParity, DropoutTrainingAndEvaluation) {
  SQ_REQUIRE_GPU();
  ParityOptions exact;
  exact.tol = 1e-30;  // the mask and the scaling are bitwise equal
  expect_parity(factory<sq::nn::Dropout>("drop", 0.5f), {7, 1001}, 17, exact);
  exact.step = 12345678901ull;
  expect_parity(factory<sq::nn::Dropout>("drop", 0.25f), {3, 333}, 18, exact);
  exact.training = false;
  exact.identity = true;
  expect_parity(factory<sq::nn::Dropout>("drop", 0.5f), {3, 333}, 19, exact);
}

TEST(NnGpuParity, BasicBlocksAndASmallNet) {
  SQ_REQUIRE_GPU();
  expect_parity(factory<sq::nn::BasicBlock>("b", 16, 16, 1, true), {4, 16, 8, 8}, 20);
  expect_parity(factory<sq::nn::BasicBlock>("b", 16, 32, 2, true), {4, 16, 8, 8}, 21);
  const Factory net = [] {
    auto s = std::make_unique<sq::nn::Sequential>("net");
    s->emplace<sq::nn::Conv2d>("net.conv", 3, 8, 3, 1, 1, false, true);
    s->emplace<sq::nn::BatchNorm>("net.bn", 8);
    s->emplace<sq::nn::ReLU>();
    s->emplace<sq::nn::MaxPool2d>(2, 2);
    s->emplace<sq::nn::Dropout>("net.drop", 0.25f);
    s->emplace<sq::nn::Flatten>();
    s->emplace<sq::nn::Linear>("net.fc", 8 * 8 * 8, 10, true, true);
    return std::unique_ptr<Module>(std::move(s));
  };
  expect_parity(net, {6, 3, 16, 16}, 22);
}

TEST(NnGpuParity, SoftmaxCrossEntropy) {
  SQ_REQUIRE_GPU();
  for (int classes : {10, 100}) {
    const int batch = 129;
    std::mt19937 rng(classes);
    std::normal_distribution<float> normal(0.f, 3.f);
    std::vector<float> z(static_cast<std::size_t>(batch) * classes);
    for (float& v : z) v = normal(rng);
    std::vector<std::int32_t> labels(batch);
    for (int i = 0; i < batch; ++i) labels[i] = static_cast<std::int32_t>(rng() % classes);
    auto cpu_ctx = sq::nn::make_context(sq::Device::cpu());
    auto gpu_ctx = sq::nn::make_context(sq::Device::cuda(0), sq::nn::MathMode::fp32, /*deterministic=*/true);
    sq::nn::SoftmaxCrossEntropy cpu_loss, gpu_loss;
    cpu_loss.setup(batch, classes, cpu_ctx);
    gpu_loss.setup(batch, classes, gpu_ctx);
    const sq::Tensor z_cpu = sq::Tensor::from_vector(z, {batch, classes});
    const sq::Tensor l_cpu = sq::Tensor::from_vector(labels, {batch});
    const sq::Tensor z_gpu = z_cpu.to(sq::Device::cuda(0)), l_gpu = l_cpu.to(sq::Device::cuda(0));
    cpu_loss.forward(z_cpu, l_cpu, cpu_ctx);
    // A first forward makes dlogits reachable (backward() needs one); then every output is poisoned, so the
    // compared forward must write every element.
    gpu_loss.forward(z_gpu, l_gpu, gpu_ctx);
    SQ_CUDA_CHECK(cudaStreamSynchronize(gpu_ctx.stream));
    poison(gpu_loss.loss());
    poison(gpu_loss.correct());
    poison(gpu_loss.backward(gpu_ctx));
    SQ_CUDA_CHECK(cudaDeviceSynchronize());
    gpu_loss.forward(z_gpu, l_gpu, gpu_ctx);
    EXPECT_NEAR(gpu_loss.read_loss(), cpu_loss.read_loss(), 1e-5 * std::fabs(cpu_loss.read_loss()));
    EXPECT_EQ(gpu_loss.read_correct(), cpu_loss.read_correct());
    EXPECT_LT(
        relative_error(gpu_loss.backward(gpu_ctx).to_vector<float>(), cpu_loss.backward(cpu_ctx).to_vector<float>()),
        1e-5);
  }
}

TEST(NnGpu, DropoutReadsTheStepFromDeviceMemory) {
  SQ_REQUIRE_GPU();
  const std::uint64_t step = 777;
  sq::Tensor d_step({8}, sq::DType::u8, sq::Device::cuda(0));
  sq::copy_bytes(d_step.raw(), d_step.device(), &step, sq::Device::cpu(), sizeof(step));
  auto run = [&](sq::Device device, const std::uint64_t* step_ptr, std::uint64_t ctx_step) {
    auto ctx = device.is_cuda() ? sq::nn::make_context(device, sq::nn::MathMode::fp32) : sq::nn::make_context(device);
    ctx.seed = 5;
    ctx.step = ctx_step;
    ctx.device_step = step_ptr;
    sq::nn::Dropout drop("d", 0.5f);
    drop.setup({4, 1000}, ctx);
    const sq::Tensor x = sq::Tensor::from_vector(std::vector<float>(4000, 1.f), {4, 1000}, device);
    drop.forward(x, ctx);
    if (ctx.stream) SQ_CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
    return drop.mask().to_vector<std::uint8_t>();
  };
  EXPECT_EQ(run(sq::Device::cuda(0), reinterpret_cast<const std::uint64_t*>(d_step.raw()), 1),
            run(sq::Device::cpu(), nullptr, step));
}

TEST(NnGpu, DeterministicModeRepeatsBitForBitAndTf32StaysClose) {
  SQ_REQUIRE_GPU();
  auto run = [](sq::nn::MathMode math, bool deterministic) {
    auto ctx = sq::nn::make_context(sq::Device::cuda(0), math, deterministic);
    sq::nn::BasicBlock block("b", 32, 64, 2, true);
    block.setup({16, 32, 16, 16}, ctx);
    std::vector<sq::nn::Parameter*> params;
    block.collect_parameters(params);
    sq::nn::ParameterArena arena;
    arena.bind(params, ctx.device);
    arena.initialise(9);
    std::vector<float> x(16 * 32 * 16 * 16);
    std::mt19937 rng(4);
    std::normal_distribution<float> normal(0.f, 1.f);
    for (float& v : x) v = normal(rng);
    const sq::Tensor xt = sq::Tensor::from_vector(x, {16, 32, 16, 16}, ctx.device);
    const sq::Tensor& y = block.forward(xt, ctx);
    block.backward(y, ctx);
    SQ_CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
    std::vector<float> out = y.to_vector<float>();
    const std::vector<float> g = arena.grads().to_vector<float>();
    out.insert(out.end(), g.begin(), g.end());
    return out;
  };
  const std::vector<float> a = run(sq::nn::MathMode::fp32, true);
  EXPECT_EQ(run(sq::nn::MathMode::fp32, true), a);
  EXPECT_LT(relative_error(run(sq::nn::MathMode::tf32, false), a), 3e-2) << "TF32 drifts only by its precision";
}

}  // namespace
