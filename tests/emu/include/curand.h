// Emulated <curand.h> (tests/emu): only the status type sq/core/cuda_check.hpp names; no cuRAND calls.
#pragma once

typedef enum curandStatus { CURAND_STATUS_SUCCESS = 0 } curandStatus_t;
