// sq::Tensor storage: aligned host memory or cudaMalloc'd device memory, and copies between them.
#include "sq/core/tensor.hpp"

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "sq/config.hpp"

#if SQ_WITH_CUDA
#include "sq/core/cuda_check.hpp"
#endif

namespace sq {

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::f32: return 4;
    case DType::i32: return 4;
    case DType::u8: return 1;
  }
  return 0;
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::f32: return "float32";
    case DType::i32: return "int32";
    case DType::u8: return "uint8";
  }
  return "?";
}

std::string shape_str(const Shape& shape) {
  std::ostringstream out;
  out << "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << "]";
  return out.str();
}

std::int64_t shape_numel(const Shape& shape) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) {
    SQ_CHECK(d >= 0, "negative dimension in shape " << shape_str(shape));
    n *= d;
  }
  return n;
}

namespace {
constexpr std::size_t kHostAlignment = 64;  // cache line; also enough for AVX-512 loads in OpenBLAS

std::shared_ptr<void> allocate(std::size_t bytes, Device device) {
  if (bytes == 0) return nullptr;
  if (device.is_cpu()) {
    const std::size_t rounded = (bytes + kHostAlignment - 1) / kHostAlignment * kHostAlignment;
    void* p = std::aligned_alloc(kHostAlignment, rounded);
    SQ_CHECK(p != nullptr, "out of host memory allocating " << bytes << " bytes");
    return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
  }
#if SQ_WITH_CUDA
  SQ_CUDA_CHECK(cudaSetDevice(device.index));
  void* p = nullptr;
  SQ_CUDA_CHECK(cudaMalloc(&p, bytes));
  return std::shared_ptr<void>(p, [](void* q) { (void)cudaFree(q); });
#else
  SQ_FAIL("cannot allocate on " << device.str() << ": " << cuda_unavailable_reason());
#endif
}
}  // namespace

Tensor::Tensor(Shape shape, DType dtype, Device device)
    : shape_(std::move(shape)), numel_(shape_numel(shape_)), dtype_(dtype), device_(device) {
  data_ = allocate(bytes(), device_);
}

Tensor Tensor::zeros(Shape shape, DType dtype, Device device) {
  Tensor t(std::move(shape), dtype, device);
  t.fill_zero();
  return t;
}

template <class T>
Tensor Tensor::from_vector(const std::vector<T>& values, Shape shape, Device device) {
  SQ_CHECK(shape_numel(shape) == static_cast<std::int64_t>(values.size()),
           "from_vector: " << values.size() << " values do not fill shape " << shape_str(shape));
  Tensor t(std::move(shape), dtype_of<T>(), device);
  copy_bytes(t.raw(), device, values.data(), Device::cpu(), t.bytes());
  return t;
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  check_type(dtype_of<T>());
  std::vector<T> out(static_cast<std::size_t>(numel_));
  copy_bytes(out.data(), Device::cpu(), raw(), device_, bytes());
  return out;
}

Tensor Tensor::clone() const {
  return to(device_);
}

Tensor Tensor::to(Device device) const {
  Tensor t(shape_, dtype_, device);
  copy_bytes(t.raw(), device, raw(), device_, bytes());
  return t;
}

void Tensor::copy_from(const Tensor& src) {
  SQ_CHECK(src.shape_ == shape_ && src.dtype_ == dtype_,
           "copy_from: source " << shape_str(src.shape_) << " " << dtype_name(src.dtype_)
                                << " does not match destination " << shape_str(shape_) << " " << dtype_name(dtype_));
  copy_bytes(raw(), device_, src.raw(), src.device_, bytes());
}

void Tensor::fill_zero() {
  if (bytes() == 0) return;
  if (device_.is_cpu()) {
    std::memset(raw(), 0, bytes());
    return;
  }
#if SQ_WITH_CUDA
  SQ_CUDA_CHECK(cudaDeviceSynchronize());  // a barrier like copy_bytes: set-up only, never inside a step
  SQ_CUDA_CHECK(cudaMemset(raw(), 0, bytes()));
  SQ_CUDA_CHECK(cudaDeviceSynchronize());
#endif
}

std::int64_t Tensor::dim(int i) const {
  SQ_CHECK(i >= 0 && i < ndim(), "dimension " << i << " out of range for shape " << shape_str(shape_));
  return shape_[static_cast<std::size_t>(i)];
}

void Tensor::reshape(Shape shape) {
  SQ_CHECK(shape_numel(shape) == numel_,
           "reshape: " << shape_str(shape) << " does not hold the " << numel_ << " elements of " << shape_str(shape_));
  shape_ = std::move(shape);
}

Tensor Tensor::view(std::int64_t offset, Shape shape) const {
  const std::int64_t n = shape_numel(shape);
  SQ_CHECK(offset >= 0 && offset + n <= numel_,
           "view of " << n << " elements at offset " << offset << " exceeds a tensor of " << numel_);
  Tensor t;
  t.shape_ = std::move(shape);
  t.numel_ = n;
  t.dtype_ = dtype_;
  t.device_ = device_;
  char* base = static_cast<char*>(data_.get()) + static_cast<std::size_t>(offset) * dtype_size(dtype_);
  t.data_ = std::shared_ptr<void>(data_, base);  // aliasing constructor: shares ownership, points inside
  return t;
}

void Tensor::check_type(DType requested) const {
  SQ_CHECK(requested == dtype_, "tensor holds " << dtype_name(dtype_) << ", accessed as " << dtype_name(requested));
}

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, std::size_t bytes) {
  if (bytes == 0) return;
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
#if SQ_WITH_CUDA
  const cudaMemcpyKind kind = dst_device.is_cpu()   ? cudaMemcpyDeviceToHost
                              : src_device.is_cpu() ? cudaMemcpyHostToDevice
                                                    : cudaMemcpyDeviceToDevice;
  // Tensor-level copies are whole-device barriers: work queued on non-blocking streams (every ExecutionContext
  // has one) does not order against cudaMemcpy's legacy stream, so without the first sync a copy could read a
  // tensor a kernel is still writing; the second makes device-to-device copies complete on return too. They are
  // meant for set-up, checkpoints and reporting, never inside a step (stream-ordered code uses cudaMemcpyAsync).
  SQ_CUDA_CHECK(cudaDeviceSynchronize());
  SQ_CUDA_CHECK(cudaMemcpy(dst, src, bytes, kind));
  SQ_CUDA_CHECK(cudaDeviceSynchronize());
#else
  SQ_FAIL("copy involving a CUDA device in a build without CUDA: " << cuda_unavailable_reason());
#endif
}

#define SQ_INSTANTIATE_TENSOR_IO(T)                                             \
  template Tensor Tensor::from_vector<T>(const std::vector<T>&, Shape, Device); \
  template std::vector<T> Tensor::to_vector<T>() const;
SQ_INSTANTIATE_TENSOR_IO(float)
SQ_INSTANTIATE_TENSOR_IO(std::int32_t)
SQ_INSTANTIATE_TENSOR_IO(std::uint8_t)
#undef SQ_INSTANTIATE_TENSOR_IO

}  // namespace sq
