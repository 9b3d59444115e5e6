// sq::Tensor on the host: shapes, dtypes, copies, and misuse errors.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "sq/core/tensor.hpp"

namespace {

TEST(Tensor, ShapeNumelBytes) {
  sq::Tensor t({2, 3, 4}, sq::DType::f32);
  EXPECT_EQ(t.numel(), 24);
  EXPECT_EQ(t.bytes(), 96u);
  EXPECT_EQ(t.ndim(), 3);
  EXPECT_EQ(t.dim(1), 3);
  EXPECT_THROW(t.dim(3), sq::Error);
  EXPECT_EQ(sq::shape_str(t.shape()), "[2, 3, 4]");
}

TEST(Tensor, RoundTripsValuesForEveryDtype) {
  const std::vector<float> f = {1.5f, -2.f, 0.f, 3.25f};
  EXPECT_EQ(sq::Tensor::from_vector(f, {2, 2}).to_vector<float>(), f);
  const std::vector<std::int32_t> i = {-7, 0, 1 << 30};
  EXPECT_EQ(sq::Tensor::from_vector(i, {3}).to_vector<std::int32_t>(), i);
  const std::vector<std::uint8_t> u = {0, 255, 17};
  EXPECT_EQ(sq::Tensor::from_vector(u, {3}).to_vector<std::uint8_t>(), u);
}

TEST(Tensor, ZerosCloneAndCopy) {
  sq::Tensor z = sq::Tensor::zeros({5}, sq::DType::f32);
  EXPECT_EQ(z.to_vector<float>(), std::vector<float>(5, 0.f));
  sq::Tensor a = sq::Tensor::from_vector<float>({1, 2, 3, 4, 5}, {5});
  sq::Tensor b = a.clone();
  a.data<float>()[0] = 9.f;
  EXPECT_EQ(b.to_vector<float>()[0], 1.f) << "clone must not share storage";
  z.copy_from(a);
  EXPECT_EQ(z.to_vector<float>()[0], 9.f);
}

TEST(Tensor, DataIsAligned) {
  sq::Tensor t({3}, sq::DType::u8);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.raw()) % 64, 0u);
}

TEST(Tensor, MisuseIsAnError) {
  sq::Tensor t({4}, sq::DType::f32);
  EXPECT_THROW(t.data<std::int32_t>(), sq::Error);
  EXPECT_THROW(sq::Tensor::from_vector<float>({1, 2, 3}, {2, 2}), sq::Error);
  sq::Tensor other({5}, sq::DType::f32);
  EXPECT_THROW(t.copy_from(other), sq::Error);
  EXPECT_THROW(t.reshape({3}), sq::Error);
  EXPECT_NO_THROW(t.reshape({2, 2}));
  EXPECT_THROW(sq::Tensor({-1}, sq::DType::f32), sq::Error);
}

TEST(Tensor, CudaTensorWithoutGpuIsAClearError) {
  if (sq::cuda_available()) GTEST_SKIP() << "a GPU is visible";
  EXPECT_THROW(sq::Tensor({4}, sq::DType::f32, sq::Device::cuda(0)), sq::Error);
}

TEST(Tensor, ViewsShareStorageAndOutliveTheirParent) {
  sq::Tensor view;
  {
    sq::Tensor arena = sq::Tensor::from_vector<float>({0, 1, 2, 3, 4, 5}, {6});
    view = arena.view(2, {2, 2});
    arena.data<float>()[3] = 30.f;
    EXPECT_THROW(arena.view(4, {3}), sq::Error);
    EXPECT_THROW(arena.view(-1, {1}), sq::Error);
  }
  EXPECT_EQ(view.to_vector<float>(), (std::vector<float>{2, 30, 4, 5}));
  view.data<float>()[0] = 7.f;
  EXPECT_EQ(view.to_vector<float>()[0], 7.f);
}

TEST(Tensor, EmptyTensorIsValid) {
  sq::Tensor t({0, 3}, sq::DType::f32);
  EXPECT_EQ(t.numel(), 0);
  EXPECT_TRUE(t.to_vector<float>().empty());
}

}  // namespace
