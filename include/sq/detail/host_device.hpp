// SQ_HOST_DEVICE: marks inline math compiled both by nvcc (kernels) and by the host compiler (host twins).
#pragma once

#if defined(__CUDACC__)
#define SQ_HOST_DEVICE __host__ __device__
#else
#define SQ_HOST_DEVICE
#endif
