// DeviceCollective: the all-reduce GPU ranks' synchronised BatchNorm calls between its phases, on device memory and
// enqueued on the caller's stream (no host synchronisation; a CUDA graph may record it). NCCL implements it on the
// gradient all-reduce's communicator (src/dist/nccl_gradient_sync.cpp); docs/DISTRIBUTED.md.
#pragma once

#include <cstdint>

#include "sq/core/stream.hpp"

namespace sq::dist {

class DeviceCollective {
 public:
  virtual ~DeviceCollective() = default;
  virtual int size() const = 0;
  // Every rank's `device_data` becomes the elementwise sum over ranks, in place, in stream order on `stream`.
  virtual void all_reduce_sum(double* device_data, std::int64_t n, StreamHandle stream) = 0;
};

// A world of one on the device: the identity (nothing is enqueued).
class SelfDeviceCollective final : public DeviceCollective {
 public:
  int size() const override { return 1; }
  void all_reduce_sum(double*, std::int64_t, StreamHandle) override {}
};

}  // namespace sq::dist
