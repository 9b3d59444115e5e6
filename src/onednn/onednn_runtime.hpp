// The oneDNN plumbing shared by the CPU backends in src/onednn/: the process's CPU engine and stream, primitives
// executed through the C API with argument arrays built at setup (the C++ API's std::unordered_map of arguments
// would allocate in every call), user-managed scratchpads, and staged copies in the layouts a primitive prefers.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <string>
#include <vector>

namespace sq::onednn {

dnnl::engine& cpu_engine();
dnnl::stream& cpu_stream();

// Primitive attributes every backend uses: scratchpad owned by the caller (allocated at setup, never in a step).
dnnl::primitive_attr user_scratchpad_attr();

// A primitive with its arguments fixed at setup. Memory objects keep their identity; only their data handles
// change between calls (set_data_handle), so run() neither allocates in our code nor builds argument maps.
class Call {
 public:
  Call() = default;
  // `serial`: run on the calling thread only (small copies, where waking the pool costs more than the copy).
  Call(dnnl::primitive primitive, std::vector<std::pair<int, dnnl::memory>> args, bool serial = false);
  void run() const;
  explicit operator bool() const { return static_cast<bool>(primitive_); }

 private:
  dnnl::primitive primitive_;
  std::vector<dnnl::memory> memories_;  // keeps the handles alive
  std::vector<dnnl_exec_arg_t> args_;
  bool serial_ = false;
};

// A tensor seen in the caller's plain layout (`user`, a view on the caller's buffer) and, where the primitive wants
// another layout, in that layout (`internal`, allocated here at setup) with the reorder between the two.
struct Staged {
  dnnl::memory user, internal;
  Call reorder;
  bool staged() const { return static_cast<bool>(internal); }
  // The memory the primitive reads or writes.
  const dnnl::memory& operand() const { return staged() ? internal : user; }
};

// `to_internal`: a reorder user -> internal (inputs), else internal -> user (outputs).
Staged stage(const dnnl::memory::desc& user, const dnnl::memory::desc& wanted, bool to_internal);

// One scratchpad buffer per layer, large enough for each of its primitives; each primitive gets a memory object
// with its own descriptor on the shared bytes (a layer's primitives never run at the same time).
class Scratchpad {
 public:
  void reserve(const dnnl::memory::desc& desc);  // at setup, before bind
  void allocate();
  dnnl::memory bind(const dnnl::memory::desc& desc) const;

 private:
  std::size_t bytes_ = 0;
  dnnl::memory buffer_;
};

void set_handle(const dnnl::memory& m, const void* data);

// "jit:avx512_core" etc.: the implementation oneDNN chose for a primitive descriptor.
std::string implementation(const dnnl::primitive_desc_base& pd);

}  // namespace sq::onednn
