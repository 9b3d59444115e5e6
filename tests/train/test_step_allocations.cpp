// Nothing is allocated inside a set-up training step. Two counters, replaced for this test program: std::aligned_alloc
// (every host Tensor's storage) and global operator new (every std::vector, std::string, shared_ptr block).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "sq/core/philox.hpp"
#include "sq/nn/models.hpp"
#include "sq/quant/pipeline.hpp"
#include "sq/train/trainer.hpp"

namespace {
std::atomic<long> g_new_calls{0};
std::atomic<long> g_tensor_allocations{0};
}  // namespace

void* operator new(std::size_t bytes) {
  g_new_calls.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(bytes ? bytes : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

// Interposes the C library's aligned_alloc for libsq_cuda (host Tensor storage); forwards to posix_memalign.
extern "C" void* aligned_alloc(std::size_t alignment, std::size_t bytes) noexcept {
  g_tensor_allocations.fetch_add(1, std::memory_order_relaxed);
  void* p = nullptr;
  return posix_memalign(&p, alignment < sizeof(void*) ? sizeof(void*) : alignment, bytes) == 0 ? p : nullptr;
}

namespace {

struct Counts {
  long tensors, news;
};
Counts count_during(const std::function<void()>& work) {
  const long tensors = g_tensor_allocations.load(), news = g_new_calls.load();
  work();
  return {g_tensor_allocations.load() - tensors, g_new_calls.load() - news};
}

struct Fixture {
  sq::nn::ExecutionContext ctx = sq::nn::make_context(sq::Device::cpu());
  std::unique_ptr<sq::nn::Model> model;
  sq::Tensor images, labels;

  explicit Fixture(bool quantized) {
    sq::nn::ModelSpec spec;
    spec.arch = "resnet20";
    spec.image_size = 16;
    std::optional<sq::quant::SqOptions> sq;
    if (quantized) {
      sq = sq::quant::SqOptions{};
      sq->ratio = 0.5;
    }
    model = sq::nn::build_model(spec, sq, ctx, 1);
    std::vector<float> x(4 * 3 * 16 * 16);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = sq::philox_uniform_at(1, 0, i) - 0.5f;
    images = sq::Tensor::from_vector(x, {4, 3, 16, 16});
    labels = sq::Tensor::from_vector(std::vector<std::int32_t>{0, 1, 2, 3}, {4});
  }
};

TEST(StepAllocations, TheCounterSeesTensorStorage) {
  const Counts c = count_during([] { sq::Tensor t({1000}, sq::DType::f32); });
  EXPECT_EQ(c.tensors, 1) << "aligned_alloc is not interposed: the next test would prove nothing";
}

TEST(StepAllocations, SteadyStateStepsAllocateNoTensors) {
  for (const bool quantized : {false, true}) {
    Fixture f(quantized);
    sq::train::Trainer trainer(*f.model, f.ctx);
    const Counts setup = count_during([&] { trainer.train_step(f.images, f.labels, 0.01f); });
    EXPECT_GT(setup.tensors, 0) << "the first step sets the layers up";
    const Counts steady = count_during([&] {
      for (int i = 0; i < 3; ++i) trainer.train_step(f.images, f.labels, 0.01f);
    });
    EXPECT_EQ(steady.tensors, 0) << (quantized ? "SQ-TWN" : "FWN") << ": tensor allocations in 3 steps";
  }
}

// The optimiser and the SQ pipeline allocate nothing at all, not even host bookkeeping.
TEST(StepAllocations, SgdAndSqPipelineMakeNoHeapAllocations) {
  Fixture f(true);
  sq::train::Sgd sgd(f.model->arena(), {});
  sq::nn::ParameterArena& arena = f.model->arena();
  sq::quant::SqPipeline& pipeline = *f.model->pipeline();
  pipeline.run(arena.values().data<float>(), arena.hybrid().data<float>(), 0, nullptr);
  const Counts c = count_during([&] {
    for (std::uint64_t step = 1; step < 4; ++step) {
      pipeline.run(arena.values().data<float>(), arena.hybrid().data<float>(), step, nullptr);
      sgd.step(0.01f, nullptr);
    }
  });
  EXPECT_EQ(c.tensors, 0);
  EXPECT_EQ(c.news, 0);
}

}  // namespace
