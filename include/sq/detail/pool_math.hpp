// Index arithmetic of max pooling (no padding) shared by the kernels and their host twins.
#pragma once

#include "sq/detail/host_device.hpp"

namespace sq::detail {

// The output rows (or columns) whose window [o * stride, o * stride + kernel) contains input row h:
// [*first, *last], possibly empty (first > last).
SQ_HOST_DEVICE inline void pool_windows_containing(int h, int kernel, int stride, int out_size, int* first, int* last) {
  const int lo = h - kernel + 1;
  *first = lo <= 0 ? 0 : (lo + stride - 1) / stride;
  const int hi = h / stride;
  *last = hi < out_size - 1 ? hi : out_size - 1;
}

}  // namespace sq::detail
