// Batch sources by data set: the resident loaders of the small sets, or the ImageNet / image-folder streams.
#include "train/run_data.hpp"

#include "sq/core/error.hpp"
#include "sq/data/data.hpp"
#include "sq/data/image_folder_loader.hpp"
#include "train/runner_support.hpp"

namespace sq::train::detail {
namespace {

RunData resident(const RunConfig& config, data::DatasetKind kind, Device device, StreamHandle stream) {
  RunData d;
  d.train_set = data::load_dataset(kind, config.data.dir, /*train=*/true);
  d.test_set = data::load_dataset(kind, config.data.dir, /*train=*/false);
  limit(d.train_set, config.data.train_limit);
  limit(d.test_set, config.data.test_limit);
  SQ_CHECK(d.train_set.size() >= config.optim.batch,
           "the training set has " << d.train_set.size() << " images, fewer than one batch of " << config.optim.batch);
  const data::Normalization norm = data::compute_normalization(d.train_set);
  auto train = std::make_unique<data::BatchLoader>(d.train_set, device, train_augmentation(config, kind), norm,
                                                   config.optim.batch, config.run.seed, /*shuffle=*/true, stream);
  d.image_size = static_cast<int>(train->image_shape()[2]);
  d.train = std::move(train);
  d.test =
      std::make_unique<data::BatchLoader>(d.test_set, device, data::default_augmentation(kind, /*train=*/false), norm,
                                          config.data.eval_batch, config.run.seed, /*shuffle=*/false, stream);
  d.recalibrate = std::make_unique<data::BatchLoader>(d.train_set, device, train_augmentation(config, kind), norm,
                                                      config.optim.batch, config.run.seed + kBnRecalibrationSeed,
                                                      /*shuffle=*/true, stream);
  d.channels = d.train_set.channels();
  d.classes = d.train_set.classes;
  d.train_size = d.train_set.size();
  d.test_size = d.test_set.size();
  return d;
}

RunData streamed(const RunConfig& config, data::DatasetKind kind, Device device, StreamHandle stream) {
  const std::string root = config.data_dir();
  const std::int64_t classes = config.data.classes_limit;
  data::ImageList train = kind == data::DatasetKind::imagenet
                              ? data::scan_imagenet(root, true, classes)
                              : data::scan_class_folders(root + "/train", classes, "image-folder-train");
  data::ImageList test = kind == data::DatasetKind::imagenet
                             ? data::scan_imagenet(root, false, classes)
                             : data::scan_class_folders(root + "/val", classes, "image-folder-val");
  SQ_CHECK(test.classes == train.classes, root << "/val's class folders differ from " << root << "/train's");
  data::limit_images(train, config.data.train_limit);
  data::limit_images(test, config.data.test_limit);
  SQ_CHECK(train.size() >= config.optim.batch,
           "the training set has " << train.size() << " images, fewer than one batch of " << config.optim.batch);
  data::ImageLoaderOptions o;
  o.transform.out_size = config.data.image_size;
  o.transform.flip = config.data.flip;
  o.threads = static_cast<int>(config.data.loader_threads);
  o.on_bad_image = config.data.on_bad_image == "fail" ? data::OnBadImage::fail : data::OnBadImage::skip;
  RunData d;
  d.channels = 3;
  d.classes = static_cast<int>(train.classes.size());
  d.image_size = config.data.image_size;
  d.train_size = train.size();
  d.test_size = test.size();
  data::ImageLoaderOptions train_options = o, test_options = o, recal_options = o;
  train_options.batch = config.optim.batch;
  train_options.seed = config.run.seed;
  test_options.batch = config.data.eval_batch;
  test_options.shuffle = false;
  test_options.transform.train = false;
  recal_options.batch = config.optim.batch;
  recal_options.seed = config.run.seed + kBnRecalibrationSeed;
  d.recalibrate = std::make_unique<data::ImageFolderLoader>(train, device, recal_options, stream);
  d.train = std::make_unique<data::ImageFolderLoader>(std::move(train), device, train_options, stream);
  d.test = std::make_unique<data::ImageFolderLoader>(std::move(test), device, test_options, stream);
  return d;
}

}  // namespace

RunData make_run_data(const RunConfig& config, Device device, StreamHandle stream) {
  const data::DatasetKind kind = data::parse_dataset_kind(config.data.dataset);
  return data::is_streamed(kind) ? streamed(config, kind, device, stream) : resident(config, kind, device, stream);
}

}  // namespace sq::train::detail
