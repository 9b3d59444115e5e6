// Included first by every emulated kernel translation unit (generated from kernels/*.cu by tests/emu/CMakeLists.txt):
// the emulation, then the headers the kernels use, then namespace renames so that the emulated launchers
// (sq::cuda_emu::..., sq::gpu_emu::...) never collide with the real ones a CUDA build links into libsq_cuda.
#pragma once

#include <cuda_runtime.h>
#include <cub/block/block_scan.cuh>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "sq/core/cuda_check.hpp"
#include "sq/core/error.hpp"

#define cuda cuda_emu
#define gpu gpu_emu
