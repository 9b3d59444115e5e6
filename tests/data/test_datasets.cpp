// Data sets by name: parsing, default folders and augmentation, and loading through the name.
#include <gtest/gtest.h>

#include <filesystem>

#include "data_files.hpp"
#include "sq/data/data.hpp"

namespace {

TEST(Datasets, NamesRoundTripAndUnknownNamesAreListed) {
  for (const std::string& name : sq::data::dataset_names()) {
    EXPECT_EQ(sq::data::to_string(sq::data::parse_dataset_kind(name)), name);
  }
  sq::test::expect_error_mentions([] { sq::data::parse_dataset_kind("mnist"); },
                                  {"\"mnist\"", "cifar10", "fashion-mnist"});
}

TEST(Datasets, DefaultsPerDataSet) {
  using sq::data::DatasetKind;
  EXPECT_EQ(sq::data::default_data_dir(DatasetKind::fashion_mnist), sq::data::kFashionMnistDefaultDir);
  const auto cifar_train = sq::data::default_augmentation(DatasetKind::cifar10, true);
  EXPECT_TRUE(cifar_train.crop && cifar_train.flip && cifar_train.pad == 4);
  const auto cifar_eval = sq::data::default_augmentation(DatasetKind::cifar100, false);
  EXPECT_TRUE(!cifar_eval.crop && !cifar_eval.flip && cifar_eval.pad == 0);
  const auto fashion = sq::data::default_augmentation(DatasetKind::fashion_mnist, true);
  EXPECT_TRUE(!fashion.crop && !fashion.flip && fashion.pad == 2);
  const auto fashion_aug = sq::data::default_augmentation(DatasetKind::fashion_mnist, true, true);
  EXPECT_TRUE(fashion_aug.crop && fashion_aug.flip);
  const auto fashion_eval = sq::data::default_augmentation(DatasetKind::fashion_mnist, false, true);
  EXPECT_TRUE(!fashion_eval.crop && !fashion_eval.flip && fashion_eval.pad == 2);
}

TEST(Datasets, LoadByNameReadsTheFolderAndReportsMissingFiles) {
  sq::test::ScratchDir dir;
  sq::test::expect_error_mentions(
      [&] { sq::data::load_dataset(sq::data::DatasetKind::cifar100_coarse, dir.str(), false); },
      {dir.file("test.bin"), "get-cifar.sh"});
  sq::test::Bytes bytes(10000 * (2 + 3072), 0);
  for (std::size_t r = 0; r < 10000; ++r) {
    bytes[r * (2 + 3072)] = static_cast<std::uint8_t>(r % 20);
    bytes[r * (2 + 3072) + 1] = static_cast<std::uint8_t>(r % 100);
  }
  sq::test::write_file(dir.file("test.bin"), bytes);
  const auto coarse = sq::data::load_dataset(sq::data::DatasetKind::cifar100_coarse, dir.str(), false);
  EXPECT_EQ(coarse.classes, 20);
  EXPECT_EQ(coarse.labels.data<std::int32_t>()[45], 5);
}

}  // namespace
