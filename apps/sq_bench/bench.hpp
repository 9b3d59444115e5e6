// sq_bench's shared pieces: options, the section registry (a section is one file that registers itself), and
// timing helpers (median microseconds on the CPU clock or with CUDA events, memcpy baselines).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "sq/core/device.hpp"
#include "sq/core/stream.hpp"

namespace sq::bench {

struct BenchOptions {
  Device device;
  int steps = 50;    // timed repetitions (the median is reported)
  int warmup = 5;    // untimed repetitions first
  std::string only;  // run only sections whose name contains this (empty: all)
  // Section "step" (training step): batch size, GPU math mode ("tf32" or "fp32"), CUDA-graph replays.
  int batch = 128;
  std::string math = "tf32";
  bool graph = true;
  // Section "step": networks and methods to run (empty: VGG-9 and ResNet-56, FWN / TWN / SQ-TWN), and the CPU's
  // convolution backend ("onednn" or "reference"; empty: the build's default).
  std::vector<std::string> archs, methods;
  std::string cpu_conv;
};

struct Section {
  std::string name;
  std::string description;
  std::function<int(const BenchOptions&)> run;  // returns a non-zero exit code when validation fails
};

std::vector<Section>& sections();

struct SectionRegistrar {
  SectionRegistrar(std::string name, std::string description, std::function<int(const BenchOptions&)> run) {
    sections().push_back({std::move(name), std::move(description), std::move(run)});
  }
};

// Median over `steps` calls of `step` (after `warmup` untimed calls), in microseconds. On cuda the time of each
// call is measured with CUDA events on `stream`; on cpu with the steady clock.
double median_us(const BenchOptions& options, StreamHandle stream, const std::function<void()>& step);

// A buffer-to-buffer copy of `bytes` on the device (cudaMemcpyAsync device-to-device, or std::memcpy), timed the
// same way: the bandwidth ceiling the benchmarks compare against.
double copy_median_us(const BenchOptions& options, StreamHandle stream, std::size_t bytes);

// Device buffers for the benchmarks (host memory on the cpu).
struct DeviceBuffer {
  DeviceBuffer(Device device, std::size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void upload(const void* host, std::size_t bytes);
  void download(void* host, std::size_t bytes) const;
  void* data = nullptr;
  Device device;
};

StreamHandle create_stream(Device device);
void destroy_stream(Device device, StreamHandle stream);
// Kernel launches recorded when `step` runs under CUDA stream capture (-1 on the cpu).
int captured_launches(Device device, StreamHandle stream, const std::function<void()>& step);

// Median microseconds of replaying `step` captured once as a CUDA graph (-1 on the cpu).
double graph_median_us(const BenchOptions& options, StreamHandle stream, const std::function<void()>& step);

}  // namespace sq::bench

#define SQ_BENCH_CONCAT_(a, b) a##b
#define SQ_BENCH_CONCAT(a, b) SQ_BENCH_CONCAT_(a, b)
// SQ_BENCH_SECTION("name", "what it measures", function): registers a section at program start.
#define SQ_BENCH_SECTION(name, description, fn) \
  static ::sq::bench::SectionRegistrar SQ_BENCH_CONCAT(sq_bench_section_, __LINE__)(name, description, fn)
