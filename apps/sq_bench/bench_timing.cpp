// Timing, buffers and streams for sq_bench on the CPU and (CUDA builds) the GPU.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "bench.hpp"
#include "sq/config.hpp"
#include "sq/core/error.hpp"

#if SQ_WITH_CUDA
#include <cuda_runtime.h>

#include "sq/core/cuda_check.hpp"
#endif

namespace sq::bench {

std::vector<Section>& sections() {
  static std::vector<Section> all;
  return all;
}

namespace {
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}
}  // namespace

double median_us(const BenchOptions& options, [[maybe_unused]] StreamHandle stream, const std::function<void()>& step) {
  for (int i = 0; i < options.warmup; ++i) step();
  std::vector<double> times;
  if (options.device.is_cpu()) {
    for (int i = 0; i < options.steps; ++i) {
      const auto start = std::chrono::steady_clock::now();
      step();
      times.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
    }
    return median(times);
  }
#if SQ_WITH_CUDA
  cudaEvent_t begin, end;
  SQ_CUDA_CHECK(cudaEventCreate(&begin));
  SQ_CUDA_CHECK(cudaEventCreate(&end));
  for (int i = 0; i < options.steps; ++i) {
    SQ_CUDA_CHECK(cudaEventRecord(begin, stream));
    step();
    SQ_CUDA_CHECK(cudaEventRecord(end, stream));
    SQ_CUDA_CHECK(cudaEventSynchronize(end));
    float ms = 0;
    SQ_CUDA_CHECK(cudaEventElapsedTime(&ms, begin, end));
    times.push_back(1000.0 * ms);
  }
  SQ_CUDA_CHECK(cudaEventDestroy(begin));
  SQ_CUDA_CHECK(cudaEventDestroy(end));
  return median(times);
#else
  SQ_FAIL("cuda benchmarks need a CUDA build");
#endif
}

double copy_median_us(const BenchOptions& options, StreamHandle stream, std::size_t bytes) {
  DeviceBuffer src(options.device, bytes), dst(options.device, bytes);
  std::vector<unsigned char> pattern(bytes, 0x3c);
  src.upload(pattern.data(), bytes);
  if (options.device.is_cpu()) {
    return median_us(options, stream, [&] { std::memcpy(dst.data, src.data, bytes); });
  }
#if SQ_WITH_CUDA
  return median_us(options, stream, [&] {
    SQ_CUDA_CHECK(cudaMemcpyAsync(dst.data, src.data, bytes, cudaMemcpyDeviceToDevice, stream));
  });
#else
  return 0.0;
#endif
}

DeviceBuffer::DeviceBuffer(Device d, std::size_t bytes) : device(d) {
  if (device.is_cpu()) {
    data = std::malloc(std::max<std::size_t>(bytes, 1));
    SQ_CHECK(data != nullptr, "out of host memory for " << bytes << " bytes");
    return;
  }
#if SQ_WITH_CUDA
  SQ_CUDA_CHECK(cudaMalloc(&data, std::max<std::size_t>(bytes, 1)));
#endif
}

DeviceBuffer::~DeviceBuffer() {
  if (device.is_cpu()) {
    std::free(data);
    return;
  }
#if SQ_WITH_CUDA
  cudaFree(data);
#endif
}

void DeviceBuffer::upload(const void* host, std::size_t bytes) {
  if (device.is_cpu()) {
    std::memcpy(data, host, bytes);
    return;
  }
#if SQ_WITH_CUDA
  SQ_CUDA_CHECK(cudaMemcpy(data, host, bytes, cudaMemcpyHostToDevice));
#endif
}

void DeviceBuffer::download(void* host, std::size_t bytes) const {
  if (device.is_cpu()) {
    std::memcpy(host, data, bytes);
    return;
  }
#if SQ_WITH_CUDA
  SQ_CUDA_CHECK(cudaMemcpy(host, data, bytes, cudaMemcpyDeviceToHost));
#endif
}

StreamHandle create_stream(Device device) {
  if (device.is_cpu()) return nullptr;
#if SQ_WITH_CUDA
  cudaStream_t stream;
  SQ_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  return stream;
#else
  return nullptr;
#endif
}

void destroy_stream(Device device, StreamHandle stream) {
  if (device.is_cpu() || stream == nullptr) return;
#if SQ_WITH_CUDA
  cudaStreamDestroy(stream);
#endif
}

int captured_launches(Device device, [[maybe_unused]] StreamHandle stream,
                      [[maybe_unused]] const std::function<void()>& step) {
  if (device.is_cpu()) return -1;
#if SQ_WITH_CUDA
  cudaGraph_t graph;
  SQ_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
  step();
  SQ_CUDA_CHECK(cudaStreamEndCapture(stream, &graph));
  std::size_t nodes = 0;
  SQ_CUDA_CHECK(cudaGraphGetNodes(graph, nullptr, &nodes));
  SQ_CUDA_CHECK(cudaGraphDestroy(graph));
  return static_cast<int>(nodes);
#else
  return -1;
#endif
}

double graph_median_us(const BenchOptions& options, [[maybe_unused]] StreamHandle stream,
                       [[maybe_unused]] const std::function<void()>& step) {
  if (options.device.is_cpu()) return -1.0;
#if SQ_WITH_CUDA
  cudaGraph_t graph;
  cudaGraphExec_t exec;
  SQ_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
  step();
  SQ_CUDA_CHECK(cudaStreamEndCapture(stream, &graph));
  SQ_CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  const double us = median_us(options, stream, [&] { SQ_CUDA_CHECK(cudaGraphLaunch(exec, stream)); });
  SQ_CUDA_CHECK(cudaGraphExecDestroy(exec));
  SQ_CUDA_CHECK(cudaGraphDestroy(graph));
  return us;
#else
  return -1.0;
#endif
}

}  // namespace sq::bench
