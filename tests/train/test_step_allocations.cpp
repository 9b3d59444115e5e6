// Nothing is allocated on the heap inside a set-up training step. Three counters, replaced for this test program:
// global operator new (every std::vector, std::string, shared_ptr block), the C allocator (malloc, calloc, realloc,
// posix_memalign, memalign: OpenBLAS and C code) and std::aligned_alloc (every host Tensor's storage).
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <new>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "sq/config.hpp"
#include "sq/core/philox.hpp"
#include "sq/nn/models.hpp"
#include "sq/quant/pipeline.hpp"
#include "sq/train/trainer.hpp"
#include "support/method_weights.hpp"

#if SQ_WITH_ONEDNN
#include "onednn/onednn_hooks.hpp"
#endif

namespace {
std::atomic<long> g_new_calls{0};
std::atomic<long> g_onednn_new_calls{0};    // operator new while a oneDNN primitive executes (inside libdnnl)
[[maybe_unused]] bool onednn_executing() {  // unused under ASan (the step tests skip)
#if SQ_WITH_ONEDNN
  return sq::onednn::executing();
#else
  return false;
#endif
}
std::atomic<long> g_malloc_calls{0};
std::atomic<long> g_onednn_malloc_calls{0};  // the C allocator while a oneDNN primitive executes
std::atomic<long> g_tensor_allocations{0};
// Set while count_during() runs: only then do the C allocator's counters ask libsq_cuda whether oneDNN is executing
// (malloc runs from the dynamic loader before the library is relocated; a call into it then would not resolve).
std::atomic<bool> g_counting{false};
[[maybe_unused]] std::atomic<long>& malloc_counter() {
  return g_counting.load(std::memory_order_relaxed) && onednn_executing() ? g_onednn_malloc_calls : g_malloc_calls;
}
}  // namespace

// AddressSanitizer owns the allocator (its malloc/new are the interposers) and cannot share it with replacements
// that forward to glibc: under ASan (scripts/test-sanitizers.sh) the counters are not installed and the tests skip.
#if defined(__SANITIZE_ADDRESS__)
#define SQ_ASAN_OWNS_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SQ_ASAN_OWNS_ALLOCATOR 1
#endif
#endif
#ifndef SQ_ASAN_OWNS_ALLOCATOR
#define SQ_ASAN_OWNS_ALLOCATOR 0
#define SQ_SKIP_UNDER_ASAN()
#else
#define SQ_SKIP_UNDER_ASAN() \
  GTEST_SKIP() << "AddressSanitizer replaces malloc/new: allocations are counted in the normal build"
#endif

#if !SQ_ASAN_OWNS_ALLOCATOR
// glibc's own entry points: the replacements below count, then forward to them (free is glibc's).
extern "C" void* __libc_malloc(std::size_t bytes);
extern "C" void* __libc_calloc(std::size_t count, std::size_t bytes);
extern "C" void* __libc_realloc(void* p, std::size_t bytes);
extern "C" void* __libc_memalign(std::size_t alignment, std::size_t bytes);
extern "C" void __libc_free(void* p);

void* operator new(std::size_t bytes) {
  (onednn_executing() ? g_onednn_new_calls : g_new_calls).fetch_add(1, std::memory_order_relaxed);
  if (void* p = __libc_malloc(bytes ? bytes : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  __libc_free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  __libc_free(p);
}

extern "C" void* malloc(std::size_t bytes) {
  malloc_counter().fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(bytes);
}
extern "C" void* calloc(std::size_t count, std::size_t bytes) {
  malloc_counter().fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(count, bytes);
}
extern "C" void* realloc(void* p, std::size_t bytes) {
  malloc_counter().fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(p, bytes);
}
extern "C" void* memalign(std::size_t alignment, std::size_t bytes) {
  malloc_counter().fetch_add(1, std::memory_order_relaxed);
  return __libc_memalign(alignment, bytes);
}
extern "C" int posix_memalign(void** out, std::size_t alignment, std::size_t bytes) {
  malloc_counter().fetch_add(1, std::memory_order_relaxed);
  void* p = __libc_memalign(alignment, bytes);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}

// Interposes the C library's aligned_alloc for libsq_cuda (host Tensor storage).
extern "C" void* aligned_alloc(std::size_t alignment, std::size_t bytes) noexcept {
  g_tensor_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_memalign(alignment < sizeof(void*) ? sizeof(void*) : alignment, bytes);
}
#endif  // !SQ_ASAN_OWNS_ALLOCATOR

namespace {

struct Counts {
  long tensors, news, mallocs;
  long onednn_news;     // inside oneDNN's execute calls only (counted apart from `news`)
  long onednn_mallocs;  // the same for the C allocator (counted apart from `mallocs`)
};
Counts count_during(const std::function<void()>& work) {
  const long tensors = g_tensor_allocations.load(), news = g_new_calls.load(), mallocs = g_malloc_calls.load(),
             onednn = g_onednn_new_calls.load(), onednn_mallocs = g_onednn_malloc_calls.load();
  g_counting = true;
  work();
  g_counting = false;
  return {g_tensor_allocations.load() - tensors, g_new_calls.load() - news, g_malloc_calls.load() - mallocs,
          g_onednn_new_calls.load() - onednn, g_onednn_malloc_calls.load() - onednn_mallocs};
}

// OpenBLAS's multi-threaded sgemm driver mallocs (and frees) a job table on every call it splits across threads
// (driver/level3/level3_thread.c): not this project's to remove. While this guard lives OpenBLAS runs one thread,
// where it allocates nothing, so any malloc counted is ours. Looked up at run time: the tests do not link OpenBLAS.
class OneBlasThread {
 public:
  OneBlasThread()
      : set_(reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))),
        get_(reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"))) {
    if (set_ && get_) {
      previous_ = get_();
      set_(1);
    }
  }
  ~OneBlasThread() {
    if (set_ && get_) set_(previous_);
  }
  OneBlasThread(const OneBlasThread&) = delete;
  OneBlasThread& operator=(const OneBlasThread&) = delete;

 private:
  void (*set_)(int);
  int (*get_)();
  int previous_ = 1;
};

struct Fixture {
  sq::nn::ExecutionContext ctx = sq::nn::make_context(sq::Device::cpu());
  std::unique_ptr<sq::nn::Model> model;
  sq::Tensor images, labels;

  Fixture(const std::string& arch, const std::string& method, int batch,
          sq::nn::CpuConv conv = sq::nn::default_cpu_conv()) {
    ctx.cpu_conv = conv;
    sq::nn::ModelSpec spec;
    spec.arch = arch;
    spec.image_size = 16;
    model = sq::nn::build_model(spec, sq::test::method_weights(method), ctx, 1);
    std::vector<float> x(static_cast<std::size_t>(batch) * 3 * 16 * 16);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = sq::philox_uniform_at(1, 0, i) - 0.5f;
    std::vector<std::int32_t> y(static_cast<std::size_t>(batch));
    for (int i = 0; i < batch; ++i) y[static_cast<std::size_t>(i)] = i % 10;
    images = sq::Tensor::from_vector(x, {batch, 3, 16, 16});
    labels = sq::Tensor::from_vector(y, {batch});
  }
};

TEST(StepAllocations, TheCountersSeeTheLibrariesAllocations) {
  SQ_SKIP_UNDER_ASAN();
  const Counts tensor = count_during([] { sq::Tensor t({1000}, sq::DType::f32); });
  EXPECT_EQ(tensor.tensors, 1) << "aligned_alloc is not interposed: the step tests would prove nothing";
  EXPECT_GE(tensor.news, 1) << "operator new is not replaced (the tensor's shape is a std::vector)";
  const Counts c = count_during([] {
    char* copy = strdup("libc allocates this copy with malloc");
    std::free(copy);
  });
  EXPECT_EQ(c.mallocs, 1) << "malloc is not interposed for the C library: the step tests would prove nothing";
}

// (arch, weights, CPU backend): FWN, TWN (ratio 1) and SQ-TWN (ratio .5) on every network family, batch 2 of 16x16
// images, on the reference (im2col + OpenBLAS) and the oneDNN convolutions.
class SteadyStep : public testing::TestWithParam<std::tuple<std::string, std::string, std::string>> {};

// The first step sets the layers up (a batch size first seen); every later step allocates nothing, anywhere outside
// oneDNN's execute calls. Inside them oneDNN 2.6 allocates its own per-call bookkeeping (the argument map, thread
// bodies as std::function; without AVX-512 also the gemm driver's packing buffers through posix_memalign; all freed
// before the call returns, never a tensor): counted apart, it must be the same in every step (nothing grows) and a
// few per primitive run.
TEST_P(SteadyStep, StepsAfterTheFirstMakeNoHeapAllocation) {
  SQ_SKIP_UNDER_ASAN();
  const auto& [arch, method, backend] = GetParam();
  if (backend == "onednn" && !SQ_WITH_ONEDNN) GTEST_SKIP() << "this build has no oneDNN";
  Fixture f(arch, method, 2, sq::nn::parse_cpu_conv(backend));
  sq::train::Trainer trainer(*f.model, f.ctx);
  const Counts setup = count_during([&] { trainer.train_step(f.images, f.labels, 0.01f); });
  EXPECT_GT(setup.tensors, 0) << "the first step sets the layers up";
  const auto two_steps = [&] {
    for (int i = 0; i < 2; ++i) trainer.train_step(f.images, f.labels, 0.01f);
  };
  const std::string what = arch + " " + method + " (" + backend + ")";
  const Counts threaded = count_during(two_steps);  // OpenBLAS as configured: only its own mallocs allowed
  EXPECT_EQ(threaded.tensors, 0) << what << ": tensor allocations in 2 steps";
  EXPECT_EQ(threaded.news, 0) << what << ": operator new calls in 2 steps";
  const OneBlasThread one_thread;
  const Counts steady = count_during(two_steps);
  EXPECT_EQ(steady.tensors, 0) << what << ": tensor allocations in 2 steps (one BLAS thread)";
  EXPECT_EQ(steady.news, 0) << what << ": operator new calls in 2 steps (one BLAS thread)";
  EXPECT_EQ(steady.mallocs, 0) << what << ": malloc-family calls in 2 steps (one BLAS thread)";
  if (backend == "onednn") {
#if SQ_WITH_ONEDNN
    const unsigned long long runs_before = sq::onednn::executions();
    const Counts again = count_during(two_steps);
    const auto runs = static_cast<long>(sq::onednn::executions() - runs_before);
    EXPECT_GT(runs, 0) << what << ": no oneDNN primitive ran; the backend is not in use";
    EXPECT_EQ(again.onednn_news, steady.onednn_news) << what << ": oneDNN's per-call allocations changed";
    EXPECT_LE(again.onednn_news, 8 * runs) << what << ": " << runs << " primitive runs";
    // Without AVX-512, oneDNN 2.6 runs matmul on its gemm driver, which posix_memaligns (and frees) its packing
    // buffers in every call whatever the scratchpad mode; with AVX-512 (brgemm) it allocates none. Either way the
    // count must not grow from step to step.
    EXPECT_EQ(again.onednn_mallocs, steady.onednn_mallocs) << what << ": oneDNN's per-call C allocations changed";
    EXPECT_LE(again.onednn_mallocs, 4 * runs) << what << ": " << runs << " primitive runs";
#endif
  } else {
    EXPECT_EQ(steady.onednn_news, 0) << what;
    EXPECT_EQ(steady.onednn_mallocs, 0) << what;
  }
}

INSTANTIATE_TEST_SUITE_P(Train, SteadyStep,
                         testing::Combine(testing::Values("small_cnn", "vgg9", "resnet20"),
                                          testing::Values("fwn", "twn", "sq-twn"),
                                          testing::Values("reference", "onednn")),
                         [](const testing::TestParamInfo<SteadyStep::ParamType>& info) {
                           std::string name =
                               std::get<0>(info.param) + "_" + std::get<1>(info.param) + "_" + std::get<2>(info.param);
                           for (char& ch : name) {
                             if (ch == '-') ch = '_';
                           }
                           return name;
                         });

// The optimiser and the SQ pipeline on their own (the pieces of the step most likely to need scratch memory).
TEST(StepAllocations, SgdAndSqPipelineMakeNoHeapAllocations) {
  Fixture f("resnet20", "sq-twn", 2);
  sq::train::Sgd sgd(f.model->arena(), {});
  sq::nn::ParameterArena& arena = f.model->arena();
  sq::quant::SqPipeline& pipeline = *f.model->pipeline();
  pipeline.run(arena.values().data<float>(), arena.hybrid().data<float>(), 0, nullptr);
  sgd.step(0.01f, nullptr);  // first use: OpenMP starts its thread pool (the update runs on it)
  const OneBlasThread one_thread;
  const Counts c = count_during([&] {
    for (std::uint64_t step = 1; step < 4; ++step) {
      pipeline.run(arena.values().data<float>(), arena.hybrid().data<float>(), step, nullptr);
      sgd.step(0.01f, nullptr);
    }
  });
  EXPECT_EQ(c.tensors, 0);
  EXPECT_EQ(c.news, 0);
  EXPECT_EQ(c.mallocs, 0);
}

}  // namespace
