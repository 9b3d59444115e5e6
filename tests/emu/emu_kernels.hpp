// The emulated launchers of every kernel family: kernels/*.cuh as the emulated build declares them (namespaces
// sq::cuda_emu and sq::gpu_emu, see sq_emu/kernel_prelude.hpp).
#pragma once

#include <cuda_runtime.h>

#define cuda cuda_emu
#define gpu gpu_emu
#include "activation.cuh"
#include "augment.cuh"
#include "batchnorm.cuh"
#include "bias.cuh"
#include "dropout.cuh"
#include "launch.cuh"
#include "loss.cuh"
#include "packed.cuh"
#include "pool.cuh"
#include "sgd.cuh"
#include "sq_hybrid.cuh"
#include "sq_quantize.cuh"
#include "sq_select.cuh"
#undef cuda
#undef gpu
