// The real Fashion-MNIST from Debian's dataset-fashion-mnist package (scripts/common.sh installs it).
#include <gtest/gtest.h>

#include <filesystem>

#include "sq/data/augment.hpp"
#include "sq/data/dataset.hpp"

namespace {

bool package_present() {
  const std::string dir = sq::data::kFashionMnistDefaultDir;
  return std::filesystem::exists(sq::data::find_idx_file(dir, "train-images-idx3-ubyte"));
}

TEST(FashionMnistReal, LoadsBothSplitsWithBalancedClasses) {
  if (!package_present()) {
    GTEST_SKIP() << "Debian package dataset-fashion-mnist is not installed (no files in "
                 << sq::data::kFashionMnistDefaultDir << "); scripts/common.sh installs it";
  }
  const sq::data::Dataset train = sq::data::load_fashion_mnist(sq::data::kFashionMnistDefaultDir, true);
  const sq::data::Dataset test = sq::data::load_fashion_mnist(sq::data::kFashionMnistDefaultDir, false);
  EXPECT_EQ(train.images.shape(), (sq::Shape{60000, 1, 28, 28}));
  EXPECT_EQ(test.images.shape(), (sq::Shape{10000, 1, 28, 28}));
  EXPECT_EQ(train.class_counts(), std::vector<std::int64_t>(10, 6000));
  EXPECT_EQ(test.class_counts(), std::vector<std::int64_t>(10, 1000));
  EXPECT_EQ(train.classes, 10);
  // Published facts: the first training label is 9 (ankle boot), the first test label 9, the second test label 2.
  EXPECT_EQ(train.labels.data<std::int32_t>()[0], 9);
  EXPECT_EQ(test.labels.data<std::int32_t>()[0], 9);
  EXPECT_EQ(test.labels.data<std::int32_t>()[1], 2);
  // Images are not blank: the mean pixel of the training set is about 72.9 (0.286 * 255).
  double sum = 0;
  const std::uint8_t* px = train.images.data<std::uint8_t>();
  for (std::int64_t i = 0; i < train.images.numel(); ++i) sum += px[i];
  EXPECT_NEAR(sum / static_cast<double>(train.images.numel()) / 255.0, 0.2860, 0.0005);
  // The commonly quoted normalisation of Fashion-MNIST: mean 0.2860, standard deviation 0.3530.
  const sq::data::Normalization norm = sq::data::compute_normalization(train);
  EXPECT_NEAR(norm.mean[0], 0.2860, 0.0005);
  EXPECT_NEAR(norm.stddev[0], 0.3530, 0.0005);
}

}  // namespace
