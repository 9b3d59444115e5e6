// A CUDA stream handle usable in headers of CPU-only builds: cudaStream_t is `CUstream_st*` in CUDA's own headers.
#pragma once

struct CUstream_st;

namespace sq {
using StreamHandle = CUstream_st*;  // == cudaStream_t; nullptr is the legacy default stream (and ignored on the CPU)
}  // namespace sq
