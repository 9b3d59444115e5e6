// Data sets by name ("cifar10", "cifar100", "cifar100-coarse", "fashion-mnist"), with their default folders and
// augmentation, so a training app can offer --dataset / --data with one call each.
#pragma once

#include <string>
#include <vector>

#include "sq/data/augment.hpp"
#include "sq/data/dataset.hpp"

namespace sq::data {

// imagenet and image_folder are JPEG folders streamed from disk (ImageFolderLoader, docs/IMAGENET.md), not loaded
// into memory: load_dataset refuses them.
enum class DatasetKind { cifar10, cifar100, cifar100_coarse, fashion_mnist, imagenet, image_folder };
bool is_streamed(DatasetKind kind);

DatasetKind parse_dataset_kind(const std::string& name);  // throws sq::Error listing the known names
std::string to_string(DatasetKind kind);
std::vector<std::string> dataset_names();

// The folder used when --data is not given: Fashion-MNIST's Debian location, "data" for CIFAR (get-cifar.sh's).
std::string default_data_dir(DatasetKind kind);

// Loads the split from `dir` (its default folder when empty), validated as load_cifar10 & co. do.
Dataset load_dataset(DatasetKind kind, const std::string& dir, bool train);

// The standard augmentation: CIFAR training pad 4 + crop + flip; Fashion-MNIST padded to 32x32, with crop and flip
// only when `fashion_augment` asks for them (off by default, as the issue says). Evaluation: no randomness.
AugmentOptions default_augmentation(DatasetKind kind, bool train, bool fashion_augment = false);

}  // namespace sq::data
