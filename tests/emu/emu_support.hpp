// Helpers of the emulated parity tests: run a case in every schedule, poison outputs, compare bit for bit.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "sq/core/philox.hpp"
#include "sq_emu/runtime.hpp"

namespace sq::emu::testing {

using Bytes = std::vector<std::uint8_t>;

template <class T>
void append(Bytes& out, const std::vector<T>& v) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(v.data());
  out.insert(out.end(), p, p + v.size() * sizeof(T));
}

// Output buffers start as NaN (every byte 0xff), so an element a kernel fails to write never matches.
template <class T>
std::vector<T> poisoned(std::size_t n) {
  std::vector<T> v(n);
  std::memset(static_cast<void*>(v.data()), 0xff, n * sizeof(T));
  return v;
}

// Uniform in [lo, hi) from (seed, stream, i): fresh values per case without a global generator.
inline std::vector<float> random_floats(std::size_t n, std::uint64_t seed, std::uint64_t stream, float lo, float hi) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = lo + (hi - lo) * sq::philox_uniform_at(seed, stream, i);
  return v;
}

// A seed that differs between runs of the suite (SQ_EMU_SEED fixes it) and is printed on failure.
std::uint64_t suite_seed();

// The schedules a parity case runs in: sq::emu::all_schedules, except in sanitized builds (CI's ASan + UBSan
// stage), where the seeded shuffle alone runs. The sanitizers check memory and undefined behaviour, which the
// three orders share; comparing the orders is an order-dependence check that the normal build's run of the same
// tests makes (docs/TESTING.md), and under ASan it tripled the stage's longest tests.
std::vector<Schedule> parity_schedules();

// Runs `run` (which checks its case against the host twin and returns the emulated outputs) in every schedule
// of parity_schedules() and requires the outputs of all schedules to be equal bit for bit: a difference means
// an order dependence (a missing barrier or a shared-memory race) in one of the launched kernels.
template <class Run>
void in_every_schedule(const std::string& what, Run run) {
  Bytes first;
  std::string first_name, first_log;
  for (const Schedule& s : parity_schedules()) {
    set_schedule(s);
    clear_launch_log();
    SCOPED_TRACE(what + ", schedule " + to_string(s));
    Bytes out = run();
    if (first_name.empty()) {
      first = std::move(out);
      first_name = to_string(s);
      first_log = describe_launch_log();
      continue;
    }
    if (out != first) {
      std::size_t at = 0;
      while (at < out.size() && at < first.size() && out[at] == first[at]) ++at;
      ADD_FAILURE() << what << ": the outputs of schedule " << to_string(s) << " differ from those of " << first_name
                    << " (first at byte " << at << " of " << first.size()
                    << "): an order dependence between barriers in one of these launches:\n"
                    << describe_launch_log();
    }
  }
  set_schedule(Schedule{});
}

// Bit-for-bit equality of float buffers (NaN equal to NaN of the same bits), naming the first differing index.
template <class T>
::testing::AssertionResult same_bits(const std::vector<T>& expected, const std::vector<T>& actual) {
  if (expected.size() != actual.size()) {
    return ::testing::AssertionFailure() << "sizes " << expected.size() << " vs " << actual.size();
  }
  for (std::size_t i = 0; i < expected.size(); ++i) {
    if (std::memcmp(&expected[i], &actual[i], sizeof(T)) != 0) {
      return ::testing::AssertionFailure()
             << "element " << i << ": twin " << +expected[i] << ", emulated " << +actual[i];
    }
  }
  return ::testing::AssertionSuccess();
}

// max |a - b| / max |a| (0 when equal); NaN when either holds a NaN where the other does not.
inline double relative_error(const std::vector<float>& reference, const std::vector<float>& actual) {
  double worst = 0.0, scale = 0.0;
  for (std::size_t i = 0; i < reference.size(); ++i) {
    if (std::isnan(reference[i]) != std::isnan(actual[i])) return std::numeric_limits<double>::quiet_NaN();
    if (std::isnan(reference[i])) continue;
    worst = std::max(worst, std::fabs(double(reference[i]) - double(actual[i])));
    scale = std::max(scale, std::fabs(double(reference[i])));
  }
  return scale > 0.0 ? worst / scale : worst;
}

}  // namespace sq::emu::testing
