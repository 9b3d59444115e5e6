// sq::Tensor: a small owning n-d array (float32, int32, uint8) on the CPU or a CUDA device, move-only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sq/core/device.hpp"
#include "sq/core/error.hpp"

namespace sq {

enum class DType { f32, i32, u8 };

std::size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);

template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::f32;
}
template <>
constexpr DType dtype_of<std::int32_t>() {
  return DType::i32;
}
template <>
constexpr DType dtype_of<std::uint8_t>() {
  return DType::u8;
}

using Shape = std::vector<std::int64_t>;
std::string shape_str(const Shape& shape);
std::int64_t shape_numel(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;
  // Uninitialised storage (allocation only; CUDA allocations happen outside training steps).
  Tensor(Shape shape, DType dtype, Device device = Device::cpu());
  static Tensor zeros(Shape shape, DType dtype, Device device = Device::cpu());

  template <class T>
  static Tensor from_vector(const std::vector<T>& values, Shape shape, Device device = Device::cpu());

  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&&) noexcept = default;
  Tensor(const Tensor&) = delete;
  Tensor& operator=(const Tensor&) = delete;

  Tensor clone() const;               // deep copy on the same device
  Tensor to(Device device) const;     // deep copy onto device
  void copy_from(const Tensor& src);  // same shape and dtype, any devices
  void fill_zero();

  template <class T>
  std::vector<T> to_vector() const;  // copies to the host

  template <class T>
  T* data() {
    check_type(dtype_of<T>());
    return static_cast<T*>(data_.get());
  }
  template <class T>
  const T* data() const {
    check_type(dtype_of<T>());
    return static_cast<const T*>(data_.get());
  }
  void* raw() { return data_.get(); }
  const void* raw() const { return data_.get(); }

  const Shape& shape() const { return shape_; }
  std::int64_t dim(int i) const;
  int ndim() const { return static_cast<int>(shape_.size()); }
  std::int64_t numel() const { return numel_; }
  std::size_t bytes() const { return static_cast<std::size_t>(numel_) * dtype_size(dtype_); }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  bool defined() const { return data_ != nullptr || numel_ == 0; }
  // Same storage, new shape with the same number of elements.
  void reshape(Shape shape);
  // A tensor sharing this one's storage: elements [offset, offset + numel(shape)) seen with a new shape. The
  // storage lives as long as any view of it; this is how per-layer weights live in one arena.
  Tensor view(std::int64_t offset, Shape shape) const;

 private:
  void check_type(DType requested) const;

  Shape shape_;
  std::int64_t numel_ = 0;
  DType dtype_ = DType::f32;
  Device device_ = Device::cpu();
  std::shared_ptr<void> data_;  // deleter knows the device; shared only to keep the deleter type-erased
};

// Byte copies between host and device memory (device pointers only when the build has CUDA). When a CUDA device is
// involved the copy waits for all work on the device first and is complete on return: outside steps only.
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, std::size_t bytes);

}  // namespace sq
