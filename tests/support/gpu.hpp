// Test helpers for the CUDA path: skip (never silently pass) when no GPU is visible.
#pragma once

#include <gtest/gtest.h>

#include "sq/core/device.hpp"

// Use at the top of every GPU test body.
#define SQ_REQUIRE_GPU()                                                          \
  do {                                                                            \
    if (!::sq::cuda_available()) GTEST_SKIP() << ::sq::cuda_unavailable_reason(); \
  } while (0)
