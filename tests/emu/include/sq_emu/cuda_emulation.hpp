// Device side of the CUDA emulation (tests/emu, never installed): compiled into every kernels/*.cu when the emu
// tests build them as host C++. Each CUDA thread is a fiber; a block's threads run on one OS thread and the
// blocks of a grid one after another. Built-in variables are per-OS-thread globals the scheduler sets before it
// resumes a fiber. Barriers, warp shuffles and votes suspend the fiber and are checked (sq_emu/scheduler.cpp).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

#include "sq_emu/runtime.hpp"

#define SQ_CUDA_EMULATION 1

// Qualifiers. `__shared__` variables are block-scope statics in one linker section: every fiber of the block
// sees the one instance, blocks run one after another, and the scheduler fills the whole section with 0xff bytes
// (NaN, -1) before each block, so a kernel that reads shared memory it did not write this block sees poison.
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __launch_bounds__(...)
#define __shared__ __attribute__((section("sq_emu_shared"))) static
#define __constant__
#define __align__(n) alignas(n)

// Vector types (with the toolkit's alignment).
struct uint3 {
  unsigned x, y, z;
};
struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
  constexpr operator uint3() const { return {x, y, z}; }
};
#define SQ_EMU_VECTOR2(name, T, align) \
  struct alignas(align) name {         \
    T x, y;                            \
  };                                   \
  inline name make_##name(T x, T y) {  \
    return name{x, y};                 \
  }
#define SQ_EMU_VECTOR4(name, T, align)          \
  struct alignas(align) name {                  \
    T x, y, z, w;                               \
  };                                            \
  inline name make_##name(T x, T y, T z, T w) { \
    return name{x, y, z, w};                    \
  }
SQ_EMU_VECTOR2(float2, float, 8)
SQ_EMU_VECTOR4(float4, float, 16)
SQ_EMU_VECTOR2(double2, double, 16)
SQ_EMU_VECTOR2(int2, int, 8)
SQ_EMU_VECTOR4(int4, int, 16)
SQ_EMU_VECTOR2(uint2, unsigned, 8)
SQ_EMU_VECTOR4(uint4, unsigned, 16)
SQ_EMU_VECTOR2(longlong2, long long, 16)
SQ_EMU_VECTOR2(ulonglong2, unsigned long long, 16)
#undef SQ_EMU_VECTOR2
#undef SQ_EMU_VECTOR4
struct float3 {
  float x, y, z;
};
struct int3 {
  int x, y, z;
};
inline float3 make_float3(float x, float y, float z) {
  return {x, y, z};
}
inline int3 make_int3(int x, int y, int z) {
  return {x, y, z};
}
inline uint3 make_uint3(unsigned x, unsigned y, unsigned z) {
  return {x, y, z};
}

// Built-in variables of the running fiber (set by the scheduler).
inline thread_local uint3 threadIdx{0, 0, 0};
inline thread_local uint3 blockIdx{0, 0, 0};
inline thread_local dim3 blockDim{1, 1, 1};
inline thread_local dim3 gridDim{1, 1, 1};
constexpr int warpSize = 32;

namespace sq::emu::detail {

struct Site {
  const char* file;
  int line;
};

// Suspends the calling fiber at a block barrier.
void syncthreads(Site site);

// A warp-synchronous operation: every lane named in `mask` must reach one with the same kind and mask; the
// caller's result is computed from the values the lanes posted.
enum class WarpKind { sync, shfl_idx, shfl_up, shfl_down, shfl_xor, ballot, all, any };
std::uint64_t warp_op(Site site, WarpKind kind, unsigned mask, std::uint64_t value, int arg, int width);
unsigned active_mask();

// The running block's dynamic shared memory (the launch's third argument; poisoned at block start).
void* dynamic_shared(std::size_t* bytes);

template <class T>
std::uint64_t to_bits(T v) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>, "shuffles move values of up to 8 bytes");
  std::uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof v);
  return bits;
}
template <class T>
T from_bits(std::uint64_t bits) {
  T v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

// Runs body(context) for every thread of every block of `grid` (synchronously); throws Hazard.
void run_grid(const char* kernel, dim3 grid, dim3 block, std::size_t dynamic_shared, cudaStream_t stream,
              void (*body)(void*), void* context);

}  // namespace sq::emu::detail

// Synchronisation, shuffles and votes. The default arguments record the call site (for hazard reports).
inline void __syncthreads(const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  ::sq::emu::detail::syncthreads({file, line});
}
inline void __syncwarp(unsigned mask = 0xffffffffu, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  ::sq::emu::detail::warp_op({file, line}, ::sq::emu::detail::WarpKind::sync, mask, 0, 0, 32);
}
#define SQ_EMU_SHUFFLE(name, kind)                                                                              \
  template <class T>                                                                                            \
  inline T name(unsigned mask, T value, int arg, int width = warpSize, const char* file = __builtin_FILE(),     \
                int line = __builtin_LINE()) {                                                                  \
    return ::sq::emu::detail::from_bits<T>(::sq::emu::detail::warp_op(                                          \
        {file, line}, ::sq::emu::detail::WarpKind::kind, mask, ::sq::emu::detail::to_bits(value), arg, width)); \
  }
SQ_EMU_SHUFFLE(__shfl_sync, shfl_idx)
SQ_EMU_SHUFFLE(__shfl_up_sync, shfl_up)
SQ_EMU_SHUFFLE(__shfl_down_sync, shfl_down)
SQ_EMU_SHUFFLE(__shfl_xor_sync, shfl_xor)
#undef SQ_EMU_SHUFFLE
inline unsigned __ballot_sync(unsigned mask, int predicate, const char* file = __builtin_FILE(),
                              int line = __builtin_LINE()) {
  return static_cast<unsigned>(
      ::sq::emu::detail::warp_op({file, line}, ::sq::emu::detail::WarpKind::ballot, mask, predicate != 0, 0, 32));
}
inline int __all_sync(unsigned mask, int predicate, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return static_cast<int>(
      ::sq::emu::detail::warp_op({file, line}, ::sq::emu::detail::WarpKind::all, mask, predicate != 0, 0, 32));
}
inline int __any_sync(unsigned mask, int predicate, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return static_cast<int>(
      ::sq::emu::detail::warp_op({file, line}, ::sq::emu::detail::WarpKind::any, mask, predicate != 0, 0, 32));
}
// The lanes of the caller's warp that have not exited (the emulation has no notion of divergence).
inline unsigned __activemask() {
  return ::sq::emu::detail::active_mask();
}

// Atomics: the fibers of a block and the blocks of a grid never run at once, so a read-modify-write is atomic.
template <class T>
inline T atomicAdd(T* address, T value) {
  const T old = *address;
  *address = old + value;
  return old;
}
template <class T>
inline T atomicSub(T* address, T value) {
  const T old = *address;
  *address = old - value;
  return old;
}
template <class T>
inline T atomicMin(T* address, T value) {
  const T old = *address;
  *address = value < old ? value : old;
  return old;
}
template <class T>
inline T atomicMax(T* address, T value) {
  const T old = *address;
  *address = value > old ? value : old;
  return old;
}
template <class T>
inline T atomicExch(T* address, T value) {
  const T old = *address;
  *address = value;
  return old;
}
template <class T>
inline T atomicCAS(T* address, T compare, T value) {
  const T old = *address;
  if (old == compare) *address = value;
  return old;
}
template <class T>
inline T atomicOr(T* address, T value) {
  const T old = *address;
  *address = old | value;
  return old;
}
template <class T>
inline T atomicAnd(T* address, T value) {
  const T old = *address;
  *address = old & value;
  return old;
}
inline void __threadfence() {}
inline void __threadfence_block() {}

// Intrinsics (bit casts, bit counts, read-only loads) with their device semantics.
inline unsigned __float_as_uint(float x) {
  return ::sq::emu::detail::from_bits<unsigned>(::sq::emu::detail::to_bits(x));
}
inline int __float_as_int(float x) {
  return ::sq::emu::detail::from_bits<int>(::sq::emu::detail::to_bits(x));
}
inline float __uint_as_float(unsigned x) {
  return ::sq::emu::detail::from_bits<float>(x);
}
inline float __int_as_float(int x) {
  return ::sq::emu::detail::from_bits<float>(static_cast<unsigned>(x));
}
inline long long __double_as_longlong(double x) {
  return ::sq::emu::detail::from_bits<long long>(::sq::emu::detail::to_bits(x));
}
inline double __longlong_as_double(long long x) {
  return ::sq::emu::detail::from_bits<double>(static_cast<std::uint64_t>(x));
}
inline int __popc(unsigned x) {
  return __builtin_popcount(x);
}
inline int __popcll(unsigned long long x) {
  return __builtin_popcountll(x);
}
inline int __clz(int x) {
  return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x));
}
inline int __clzll(long long x) {
  return x == 0 ? 64 : __builtin_clzll(static_cast<unsigned long long>(x));
}
inline int __ffs(int x) {
  return __builtin_ffs(x);
}
inline int __ffsll(long long x) {
  return __builtin_ffsll(x);
}
inline unsigned __brev(unsigned x) {
  unsigned r = 0;
  for (int i = 0; i < 32; ++i) r |= ((x >> i) & 1u) << (31 - i);
  return r;
}
template <class T>
inline T __ldg(const T* p) {
  return *p;
}
inline float __fmaf_rn(float a, float b, float c) {
  return std::fmaf(a, b, c);
}
inline double __fma_rn(double a, double b, double c) {
  return std::fma(a, b, c);
}
inline float __fdiv_rn(float a, float b) {
  return a / b;
}
inline float __fsqrt_rn(float a) {
  return std::sqrt(a);
}

namespace sq::emu {

// Dynamic shared memory of the running block as T* (SQ_DYNAMIC_SHARED in kernels/launch.cuh).
template <class T>
T* dynamic_shared() {
  std::size_t bytes = 0;
  return static_cast<T*>(detail::dynamic_shared(&bytes));
}

// kernel<<<grid, block, shared, stream>>>(args...): the arguments are converted to the kernel's parameter types
// once, as a launch does, and every thread receives its own copy.
template <class... P, class... A>
void launch_kernel(const char* name, dim3 grid, dim3 block, std::size_t dynamic_shared_bytes, cudaStream_t stream,
                   void (*kernel)(P...), A&&... args) {
  static_assert(sizeof...(P) == sizeof...(A), "kernel launched with the wrong number of arguments");
  struct Context {
    void (*kernel)(P...);
    std::tuple<std::decay_t<P>...> params;
  } context{kernel, std::tuple<std::decay_t<P>...>(std::forward<A>(args)...)};
  detail::run_grid(
      name, grid, block, dynamic_shared_bytes, stream,
      [](void* c) {
        auto& ctx = *static_cast<Context*>(c);
        std::apply(ctx.kernel, ctx.params);
      },
      &context);
}

}  // namespace sq::emu
