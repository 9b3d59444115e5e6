// Emulated <cudnn.h> (tests/emu): only the status type sq/core/cuda_check.hpp names; no cuDNN calls.
#pragma once

typedef enum { CUDNN_STATUS_SUCCESS = 0 } cudnnStatus_t;
