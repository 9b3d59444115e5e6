// Indexing ImageNet / ImageFolder trees: class folders and labels, flat val + val.txt equals val in class folders,
// class subsets, spread-out limits, and the messages for missing pieces.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "sq/core/error.hpp"
#include "sq/data/image_folder.hpp"
#include "tiny_imagenet.hpp"

namespace {

using sq_imagenet_test::tiny_imagenet;

TEST(ImageFolder, ClassFoldersAreSortedLabelsAndOnlyJpegNamesCount) {
  const sq::data::ImageList train = sq::data::scan_imagenet(tiny_imagenet(), true, 0);
  ASSERT_EQ(train.classes,
            (std::vector<std::string>{"n00000000", "n00000001", "n00000002", "n00000003", "n00000004", "n00000005"}));
  // 6 per class in 0-2 and 2 in 3-5, plus class 1's greyscale, CMYK, PNG-named-.JPEG and corrupt files.
  EXPECT_EQ(train.size(), 28);
  std::vector<int> per_class(6, 0);
  for (std::size_t i = 0; i < train.paths.size(); ++i) {
    ++per_class[static_cast<std::size_t>(train.labels[i])];
    EXPECT_NE(train.paths[i].find("/" + train.classes[static_cast<std::size_t>(train.labels[i])] + "/"),
              std::string::npos)
        << train.paths[i];
  }
  EXPECT_EQ(per_class, (std::vector<int>{6, 10, 6, 2, 2, 2}));
}

TEST(ImageFolder, FlatValidationWithGroundTruthEqualsClassFolders) {
  const std::string root = tiny_imagenet();
  const sq::data::ImageList flat = sq::data::scan_imagenet(root, false, 0);
  ASSERT_EQ(flat.size(), 7);
  const sq::data::ImageList folders = sq::data::scan_class_folders(root + "/val_folders", 0, "val");
  ASSERT_EQ(folders.size(), 7);
  // Same file names with the same labels.
  std::map<std::string, int> a, b;
  for (std::size_t i = 0; i < 7; ++i) {
    a[std::filesystem::path(flat.paths[i]).filename().string()] = flat.labels[i];
    b[std::filesystem::path(folders.paths[i]).filename().string()] = folders.labels[i];
  }
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.at("ILSVRC2012_val_00000002.JPEG"), 1);
}

TEST(ImageFolder, ClassSubsetDropsOtherClassesInBothSplits) {
  const sq::data::ImageList train = sq::data::scan_imagenet(tiny_imagenet(), true, 2);
  const sq::data::ImageList val = sq::data::scan_imagenet(tiny_imagenet(), false, 2);
  EXPECT_EQ(train.classes.size(), 2u);
  EXPECT_EQ(train.size(), 16);
  for (int label : val.labels) EXPECT_LT(label, 2);
  EXPECT_EQ(val.size(), 3);  // labels 0 1 2 3 4 5 0: 0 1 0 stay
}

TEST(ImageFolder, LimitKeepsImagesSpreadOverClasses) {
  sq::data::ImageList train = sq::data::scan_imagenet(tiny_imagenet(), true, 0);
  sq::data::limit_images(train, 6);
  ASSERT_EQ(train.size(), 6);
  std::vector<int> per_class(6, 0);
  for (int label : train.labels) ++per_class[static_cast<std::size_t>(label)];
  EXPECT_EQ(per_class, (std::vector<int>{1, 1, 1, 1, 1, 1}));
}

TEST(ImageFolder, MissingPiecesAreNamed) {
  try {
    sq::data::scan_imagenet("/nonexistent/imagenet", true, 0);
    FAIL() << "no error";
  } catch (const sq::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/imagenet/train"), std::string::npos) << e.what();
  }
  // A flat val/ without a ground-truth file says what to add.
  const std::string root = (std::filesystem::temp_directory_path() / "sq_imagenet_no_truth").string();
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root + "/train/a");
  std::filesystem::create_directories(root + "/val");
  std::filesystem::copy_file(tiny_imagenet() + "/train/n00000000/n00000000_0.JPEG", root + "/train/a/x.JPEG");
  std::filesystem::copy_file(tiny_imagenet() + "/train/n00000000/n00000000_0.JPEG", root + "/val/y.JPEG");
  try {
    sq::data::scan_imagenet(root, false, 0);
    FAIL() << "no error";
  } catch (const sq::Error& e) {
    EXPECT_NE(std::string(e.what()).find("val.txt"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(root);
}

}  // namespace
