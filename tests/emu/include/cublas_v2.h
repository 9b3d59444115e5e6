// Emulated <cublas_v2.h> (tests/emu): only the status type sq/core/cuda_check.hpp names; no cuBLAS calls.
#pragma once

typedef enum { CUBLAS_STATUS_SUCCESS = 0 } cublasStatus_t;
