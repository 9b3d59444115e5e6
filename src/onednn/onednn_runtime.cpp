// oneDNN engine, stream, argument arrays, staging reorders and scratchpads (onednn_runtime.hpp).
#include "onednn/onednn_runtime.hpp"

#include <algorithm>
#include <atomic>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "onednn/onednn_hooks.hpp"
#include "sq/core/error.hpp"

namespace sq::onednn {

namespace {
std::atomic<int> g_executing{0};
std::atomic<unsigned long long> g_executions{0};
}  // namespace

bool executing() {
  return g_executing.load(std::memory_order_relaxed) > 0;
}

unsigned long long executions() {
  return g_executions.load(std::memory_order_relaxed);
}

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpu_stream() {
  static dnnl::stream stream(cpu_engine());
  return stream;
}

dnnl::primitive_attr user_scratchpad_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

Call::Call(dnnl::primitive primitive, std::vector<std::pair<int, dnnl::memory>> args, bool serial)
    : primitive_(std::move(primitive)), serial_(serial) {
  memories_.reserve(args.size());
  args_.reserve(args.size());
  for (auto& [id, memory] : args) {
    memories_.push_back(memory);
    args_.push_back({id, memory.get()});
  }
}

void Call::run() const {
  g_executing.fetch_add(1, std::memory_order_relaxed);
#if defined(_OPENMP)
  // oneDNN's reorders size their thread team from omp_get_max_threads() at execution time.
  const int threads = serial_ ? omp_get_max_threads() : 1;
  if (threads > 1) omp_set_num_threads(1);
#endif
  const dnnl_status_t status =
      dnnl_primitive_execute(primitive_.get(), cpu_stream().get(), static_cast<int>(args_.size()), args_.data());
#if defined(_OPENMP)
  if (threads > 1) omp_set_num_threads(threads);
#endif
  g_executing.fetch_sub(1, std::memory_order_relaxed);
  g_executions.fetch_add(1, std::memory_order_relaxed);
  SQ_CHECK(status == dnnl_success, "oneDNN primitive failed with status " << static_cast<int>(status));
}

Staged stage(const dnnl::memory::desc& user, const dnnl::memory::desc& wanted, bool to_internal) {
  Staged s;
  s.user = dnnl::memory(user, cpu_engine(), DNNL_MEMORY_NONE);
  if (user == wanted) return s;
  s.internal = dnnl::memory(wanted, cpu_engine());  // allocated once, here
  const dnnl::memory& from = to_internal ? s.user : s.internal;
  const dnnl::memory& to = to_internal ? s.internal : s.user;
  dnnl::reorder::primitive_desc pd(cpu_engine(), from.get_desc(), cpu_engine(), to.get_desc());
  SQ_CHECK(pd.scratchpad_desc().get_size() == 0, "oneDNN reorder unexpectedly needs a scratchpad");
  // Copies under 256 KiB (weights, late layers' activations) stay on the calling thread.
  s.reorder = Call(dnnl::reorder(pd), {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}}, wanted.get_size() < (256u << 10));
  return s;
}

void Scratchpad::reserve(const dnnl::memory::desc& desc) {
  bytes_ = std::max(bytes_, desc.get_size());
}

void Scratchpad::allocate() {
  const dnnl::memory::dim bytes = static_cast<dnnl::memory::dim>(std::max<std::size_t>(bytes_, 64));
  buffer_ =
      dnnl::memory(dnnl::memory::desc({bytes}, dnnl::memory::data_type::u8, dnnl::memory::format_tag::x), cpu_engine());
}

dnnl::memory Scratchpad::bind(const dnnl::memory::desc& desc) const {
  SQ_CHECK(buffer_ && desc.get_size() <= bytes_, "oneDNN scratchpad bound before it was sized");
  return dnnl::memory(desc, cpu_engine(), buffer_.get_data_handle());
}

void set_handle(const dnnl::memory& m, const void* data) {
  m.set_data_handle(const_cast<void*>(data));
}

std::string implementation(const dnnl::primitive_desc_base& pd) {
  return pd.impl_info_str();
}

}  // namespace sq::onednn
