// Emulated CUDA runtime API for the tests/emu build (never installed): the types and the two calls the kernel
// launchers use (cudaGetLastError, cudaGetErrorString). Shadows the toolkit's header on the emu targets' path.
#pragma once

#include "sq_emu/runtime.hpp"
