// ImageFolderLoader on the CPU: batches are functions of (seed, epoch, position) whatever the thread count,
// skip(n) lands where n next() calls do, evaluation returns every sample once in file order (the last batch
// smaller), and bad files are skipped and reported by path, or fail the pass naming the file.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "sq/core/error.hpp"
#include "sq/data/image_folder_loader.hpp"
#include "tiny_imagenet.hpp"

namespace {

using sq_imagenet_test::tiny_imagenet;

sq::data::ImageLoaderOptions options(int threads, bool train) {
  sq::data::ImageLoaderOptions o;
  o.transform.out_size = 32;
  o.transform.train = train;
  o.shuffle = train;
  o.batch = 4;
  o.seed = 5;
  o.threads = threads;
  return o;
}

std::vector<float> copy_of(const sq::data::Batch& b) {
  const float* p = b.images.data<float>();
  std::vector<float> v(p, p + b.images.numel());
  const std::int32_t* l = b.labels.data<std::int32_t>();
  for (std::int64_t i = 0; i < b.size; ++i) v.push_back(static_cast<float>(l[i]));
  return v;
}

std::vector<std::vector<float>> epoch(sq::data::ImageFolderLoader& loader, std::uint64_t e) {
  std::vector<std::vector<float>> out;
  loader.start_epoch(e);
  while (const sq::data::Batch* b = loader.next()) out.push_back(copy_of(*b));
  return out;
}

TEST(ImageLoader, BatchesDoNotDependOnThreadsAndChangeWithTheEpoch) {
  sq::data::ImageFolderLoader one(sq::data::scan_imagenet(tiny_imagenet(), true, 0), sq::Device::cpu(),
                                  options(1, true));
  sq::data::ImageFolderLoader three(sq::data::scan_imagenet(tiny_imagenet(), true, 0), sq::Device::cpu(),
                                    options(3, true));
  EXPECT_EQ(one.batches_per_epoch(), 7);  // 28 files, batch 4
  EXPECT_EQ(one.image_shape(), (sq::Shape{4, 3, 32, 32}));
  const auto a0 = epoch(one, 0), b0 = epoch(three, 0);
  ASSERT_EQ(a0.size(), 7u);
  EXPECT_EQ(a0, b0) << "the thread count changed a batch";
  const auto a1 = epoch(one, 1);
  EXPECT_NE(a0, a1) << "epoch 1 has the order and crops of epoch 0";
  EXPECT_EQ(epoch(three, 1), a1);
  // Every pixel finite and normalised into a plausible range.
  for (const auto& batch : a0) {
    for (std::size_t i = 0; i < 4 * 3 * 32 * 32; ++i) {
      ASSERT_TRUE(std::isfinite(batch[i]));
      ASSERT_LT(std::fabs(batch[i]), 3.f);
    }
  }
}

TEST(ImageLoader, SkipLandsWhereNextWould) {
  sq::data::ImageFolderLoader loader(sq::data::scan_imagenet(tiny_imagenet(), true, 0), sq::Device::cpu(),
                                     options(2, true));
  const auto full = epoch(loader, 3);
  loader.start_epoch(3);
  loader.skip_batches(2);
  const sq::data::Batch* b = loader.next();
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->index, 2);
  EXPECT_EQ(copy_of(*b), full[2]);
  loader.skip_batches(10);  // past the end: the epoch is over
  EXPECT_EQ(loader.next(), nullptr);
}

TEST(ImageLoader, EvaluationSeesEverySampleOnceInOrder) {
  const sq::data::ImageList val = sq::data::scan_imagenet(tiny_imagenet(), false, 0);
  sq::data::ImageFolderLoader loader(val, sq::Device::cpu(), options(2, false));
  EXPECT_EQ(loader.batches_per_epoch(), 2);
  loader.start_epoch(0);
  std::vector<std::int32_t> labels;
  std::vector<std::int64_t> sizes;
  std::vector<float> first;
  while (const sq::data::Batch* b = loader.next()) {
    sizes.push_back(b->size);
    if (first.empty()) first = copy_of(*b);
    for (std::int64_t i = 0; i < b->size; ++i) labels.push_back(b->labels.data<std::int32_t>()[i]);
  }
  EXPECT_EQ(sizes, (std::vector<std::int64_t>{4, 3}));
  EXPECT_EQ(labels, val.labels);
  // No randomness in evaluation: another epoch, another seed, the same batches.
  sq::data::ImageLoaderOptions o = options(1, false);
  o.seed = 99;
  sq::data::ImageFolderLoader other(val, sq::Device::cpu(), o);
  other.start_epoch(7);
  EXPECT_EQ(copy_of(*other.next()), first);
}

TEST(ImageLoader, BadFilesAreSkippedAndReportedOrFailNamingTheFile) {
  sq::data::ImageList cls = sq::data::scan_class_folders(tiny_imagenet() + "/train", 0, "train");
  sq::data::ImageList odd;
  odd.classes = cls.classes;
  odd.name = "odd";
  for (std::size_t i = 0; i < cls.paths.size(); ++i) {
    if (cls.labels[i] == 1) {
      odd.paths.push_back(cls.paths[i]);
      odd.labels.push_back(1);
    }
  }
  ASSERT_EQ(odd.size(), 10);
  sq::data::ImageLoaderOptions o = options(2, false);
  o.batch = 5;
  {
    sq::data::ImageFolderLoader loader(odd, sq::Device::cpu(), o);
    EXPECT_EQ(epoch(loader, 0).size(), 2u);
    const std::vector<std::string> bad = loader.bad_images();
    ASSERT_EQ(bad.size(), 2u);
    EXPECT_NE(bad[0].find("corrupt"), std::string::npos);
    EXPECT_NE(bad[1].find("png"), std::string::npos);
  }
  o.on_bad_image = sq::data::OnBadImage::fail;
  sq::data::ImageFolderLoader loader(odd, sq::Device::cpu(), o);
  loader.start_epoch(0);
  try {
    while (loader.next()) {
    }
    FAIL() << "no error for the bad files";
  } catch (const sq::Error& e) {
    const std::string what = e.what();
    EXPECT_TRUE(what.find("_corrupt.JPEG") != std::string::npos || what.find("_png.JPEG") != std::string::npos) << what;
  }
}

}  // namespace

namespace {

TEST(ImageLoader, ShardsAreTheRowsOfTheGlobalBatch) {
  const sq::data::ImageList list = sq::data::scan_imagenet(tiny_imagenet(), true, 0);
  sq::data::ImageFolderLoader whole(list, sq::Device::cpu(), options(2, true));
  sq::data::ImageFolderLoader rank0(list, sq::Device::cpu(), options(1, true));
  sq::data::ImageFolderLoader rank1(list, sq::Device::cpu(), options(1, true));
  rank0.set_shard(0, 2);
  rank1.set_shard(1, 2);
  whole.start_epoch(2);
  rank0.start_epoch(2);
  rank1.start_epoch(2);
  const sq::data::Batch* w = whole.next();
  const std::vector<float> all(w->images.data<float>(), w->images.data<float>() + w->images.numel());
  const sq::data::Batch* a = rank0.next();
  const sq::data::Batch* b = rank1.next();
  ASSERT_EQ(a->size, 2);
  ASSERT_EQ(b->size, 2);
  std::vector<float> joined(a->images.data<float>(), a->images.data<float>() + a->images.numel());
  joined.insert(joined.end(), b->images.data<float>(), b->images.data<float>() + b->images.numel());
  EXPECT_EQ(joined, all);
  EXPECT_EQ(b->labels.data<std::int32_t>()[1], w->labels.data<std::int32_t>()[3]);
}

}  // namespace
