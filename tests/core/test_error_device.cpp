// sq::Error formatting and the device-selection rule on a machine that may have no GPU.
#include <gtest/gtest.h>

#include <string>

#include "sq/core/device.hpp"
#include "sq/core/error.hpp"

namespace {

TEST(Error, CarriesMessageLocationAndExpression) {
  try {
    const int n = -3;
    SQ_CHECK(n > 0, "n must be positive, got " << n);
    FAIL() << "SQ_CHECK did not throw";
  } catch (const sq::Error& e) {
    EXPECT_EQ(e.message(), "n must be positive, got -3");
    EXPECT_EQ(e.expression(), "n > 0");
    EXPECT_NE(std::string(e.file()).find("test_error_device.cpp"), std::string::npos);
    EXPECT_GT(e.line(), 0);
    const std::string what = e.what();
    EXPECT_NE(what.find("n must be positive, got -3"), std::string::npos);
    EXPECT_NE(what.find("test_error_device.cpp:"), std::string::npos);
    EXPECT_NE(what.find("n > 0"), std::string::npos);
  }
}

TEST(Error, PassingCheckDoesNotThrow) {
  EXPECT_NO_THROW(SQ_CHECK(1 + 1 == 2, "arithmetic"));
}

TEST(Error, IsARuntimeError) {
  EXPECT_THROW(SQ_FAIL("boom"), std::runtime_error);
}

TEST(Device, NamesAndEquality) {
  EXPECT_EQ(sq::Device::cpu().str(), "cpu");
  EXPECT_EQ(sq::Device::cuda(1).str(), "cuda:1");
  EXPECT_NE(sq::Device::cpu(), sq::Device::cuda(0));
}

TEST(Device, CountIsConsistentWithReason) {
  const int n = sq::cuda_device_count();
  EXPECT_GE(n, 0);
  EXPECT_EQ(sq::cuda_available(), n > 0);
  EXPECT_EQ(sq::cuda_unavailable_reason().empty(), n > 0);
}

TEST(Device, SelectCpuAndAuto) {
  EXPECT_EQ(sq::select_device("cpu"), sq::Device::cpu());
  const sq::Device automatic = sq::select_device("auto");
  EXPECT_EQ(automatic.is_cuda(), sq::cuda_available());
}

TEST(Device, CudaRequestedWithoutGpuGivesClearError) {
  if (sq::cuda_available()) GTEST_SKIP() << "a GPU is visible; this checks the no-GPU message";
  try {
    sq::select_device("cuda");
    FAIL() << "expected sq::Error";
  } catch (const sq::Error& e) {
    EXPECT_NE(e.message().find("was requested but"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("--device cpu"), std::string::npos) << e.message();
  }
  EXPECT_THROW(sq::select_device("cuda:0"), sq::Error);
}

TEST(Device, RejectsUnknownRules) {
  EXPECT_THROW(sq::select_device("gpu"), sq::Error);
  EXPECT_THROW(sq::select_device("cuda:x"), sq::Error);
  EXPECT_THROW(sq::select_device("cuda:-1"), sq::Error);
  EXPECT_THROW(sq::select_device(""), sq::Error);
}

TEST(Device, OutOfRangeCudaIndexIsRefused) {
  EXPECT_THROW(sq::select_device("cuda:4096"), sq::Error);
}

}  // namespace
