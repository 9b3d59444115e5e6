// Include FIRST in host code whose floating-point results must equal the CUDA kernels' bit for bit (the SQ host
// twins): no FMA contraction even when the build enables FMA instructions (-march=native), like the kernels'
// --fmad=false. "no-trapping-math" only lets GCC if-convert comparisons so loops vectorise; no result changes.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off", "no-trapping-math")
#elif defined(__clang__)
#pragma clang fp contract(off)
#endif
