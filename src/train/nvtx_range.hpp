// NvtxRange: names a phase of a step in Nsight timelines (CUDA builds); nothing on CPU-only builds.
#pragma once

#include "sq/config.hpp"

#if SQ_WITH_CUDA
#include <nvtx3/nvToolsExt.h>
#endif

namespace sq::train::detail {

class NvtxRange {
 public:
  explicit NvtxRange(const char* name) {
#if SQ_WITH_CUDA
    nvtxRangePushA(name);
#else
    (void)name;
#endif
  }
  ~NvtxRange() {
#if SQ_WITH_CUDA
    nvtxRangePop();
#endif
  }
  NvtxRange(const NvtxRange&) = delete;
  NvtxRange& operator=(const NvtxRange&) = delete;
};

}  // namespace sq::train::detail
