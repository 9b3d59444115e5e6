// Data sets by name: parse, default folders, loading and the default augmentation for each.
#include "sq/data/datasets.hpp"

namespace sq::data {

namespace {
struct Entry {
  DatasetKind kind;
  const char* name;
};
constexpr Entry kEntries[] = {{DatasetKind::cifar10, "cifar10"},
                              {DatasetKind::cifar100, "cifar100"},
                              {DatasetKind::cifar100_coarse, "cifar100-coarse"},
                              {DatasetKind::fashion_mnist, "fashion-mnist"},
                              {DatasetKind::imagenet, "imagenet"},
                              {DatasetKind::image_folder, "image-folder"}};
}  // namespace

DatasetKind parse_dataset_kind(const std::string& name) {
  for (const Entry& e : kEntries) {
    if (name == e.name) return e.kind;
  }
  std::string known;
  for (const Entry& e : kEntries) known += std::string(known.empty() ? "" : ", ") + e.name;
  SQ_FAIL("unknown data set \"" << name << "\"; known: " << known);
}

std::string to_string(DatasetKind kind) {
  for (const Entry& e : kEntries) {
    if (kind == e.kind) return e.name;
  }
  SQ_FAIL("unknown DatasetKind " << static_cast<int>(kind));
}

std::vector<std::string> dataset_names() {
  std::vector<std::string> names;
  for (const Entry& e : kEntries) names.emplace_back(e.name);
  return names;
}

bool is_streamed(DatasetKind kind) {
  return kind == DatasetKind::imagenet || kind == DatasetKind::image_folder;
}

std::string default_data_dir(DatasetKind kind) {
  if (kind == DatasetKind::imagenet) return "data/imagenet";
  return kind == DatasetKind::fashion_mnist ? kFashionMnistDefaultDir : "data";
}

Dataset load_dataset(DatasetKind kind, const std::string& dir, bool train) {
  const std::string root = dir.empty() ? default_data_dir(kind) : dir;
  switch (kind) {
    case DatasetKind::cifar10: return load_cifar10(root, train);
    case DatasetKind::cifar100: return load_cifar100(root, train, true);
    case DatasetKind::cifar100_coarse: return load_cifar100(root, train, false);
    case DatasetKind::fashion_mnist: return load_fashion_mnist(root, train);
    case DatasetKind::imagenet:
    case DatasetKind::image_folder:
      SQ_FAIL(to_string(kind) << " is streamed from its folder, not loaded into memory: use ImageFolderLoader");
  }
  SQ_FAIL("unknown DatasetKind " << static_cast<int>(kind));
}

AugmentOptions default_augmentation(DatasetKind kind, bool train, bool fashion_augment) {
  if (kind == DatasetKind::fashion_mnist) {
    return train && fashion_augment ? fashion_mnist_augmentation(true, true) : fashion_mnist_augmentation();
  }
  return cifar_augmentation(train);
}

}  // namespace sq::data
