// A second host thread for the CPU SQ step: runs one half of a fork-join while the caller runs the other.
#pragma once

namespace sq::quant {

using HalfFn = void (*)(void* context, int half);

// Runs fn(context, 0) on the calling thread and fn(context, 1) on a persistent helper thread (started on first
// use), and returns when both are done; an exception from either half is rethrown here. Returns false without
// running anything when no helper is available (one CPU, SQ_CPU_THREADS=1, or another pipeline holds it): the
// caller then runs both halves itself. No heap allocation after the first call.
bool run_two_halves(HalfFn fn, void* context);

// Test hooks: switch the helper off (serial steps) or on again, and count the fork-joins it has run.
void allow_helper_thread(bool allow);
unsigned long long helper_thread_runs();

}  // namespace sq::quant
