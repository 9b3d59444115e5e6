// Where computation runs (cpu or cuda) and how the user's choice (auto|cpu|cuda[:N]) is resolved.
#pragma once

#include <string>

namespace sq {

enum class DeviceKind { cpu, cuda };

struct Device {
  DeviceKind kind = DeviceKind::cpu;
  int index = 0;

  static Device cpu() { return {DeviceKind::cpu, 0}; }
  static Device cuda(int index = 0) { return {DeviceKind::cuda, index}; }
  bool is_cpu() const { return kind == DeviceKind::cpu; }
  bool is_cuda() const { return kind == DeviceKind::cuda; }
  std::string str() const;  // "cpu" or "cuda:N"

  friend bool operator==(const Device& a, const Device& b) { return a.kind == b.kind && a.index == b.index; }
  friend bool operator!=(const Device& a, const Device& b) { return !(a == b); }
};

// Number of usable CUDA devices; 0 (never an exception, never a hang) when the build has no CUDA, no driver is
// installed, or the driver sees no GPU.
int cuda_device_count() noexcept;
inline bool cuda_available() noexcept {
  return cuda_device_count() > 0;
}

// Why no CUDA device is usable ("" when one is), for messages and test skips.
std::string cuda_unavailable_reason();

// Resolves "auto" (cuda when a GPU is visible, else cpu), "cpu", "cuda" or "cuda:N"; throws sq::Error saying what
// is missing when cuda is requested and unavailable, or the rule is not one of these.
Device select_device(const std::string& rule);

// One-line description of a device for logs ("cpu" or "cuda:0 NVIDIA H100 (sm_90, 80 GiB)").
std::string describe_device(const Device& device);

}  // namespace sq
