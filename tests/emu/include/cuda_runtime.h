// Emulated <cuda_runtime.h> (tests/emu): the runtime API and the device-side emulation.
#pragma once

#include "sq_emu/cuda_emulation.hpp"
#include "sq_emu/runtime.hpp"
