// The entry point to the data layer: which datasets exist, where their files
// are, and loading one split of one into memory.
#pragma once

#include "data/dataset.h"

#include <string>
#include <vector>

namespace tutorial {

enum class DatasetKind { kFashionMnist, kMnist, kCifar10, kCifar100, kImageFolder };

// "fashion-mnist", "mnist", "cifar10", "cifar100" or "image-folder"; anything
// else is a UserError listing those names.
DatasetKind parse_dataset_kind(const std::string& name);
std::string dataset_kind_name(DatasetKind kind);
std::vector<DatasetKind> all_dataset_kinds();

// One split of the dataset in `data_dir`:
//   fashion-mnist, mnist: the four IDX files (raw or .gz), see idx_format.h;
//   cifar10, cifar100: the binary version, see cifar_binary.h;
//   image-folder: data_dir/train and data_dir/test, each <class>/<images>, see
//   image_folder.h (the test split must have the training split's classes).
ImageDataset load_dataset(DatasetKind kind, const std::string& data_dir, Split split);

// Where `kind` is installed when no --data-dir is given: Debian's
// dataset-fashion-mnist (and a dataset-mnist, if present) under /usr/share/datasets.
// A UserError saying how to get the data when there is none.
std::string default_data_dir(DatasetKind kind);

// Per-channel statistics of images / 255, for input normalization.
struct NormalizationStats {
  std::vector<double> mean;
  std::vector<double> std;  // population standard deviation
};

NormalizationStats channel_stats(const ImageDataset& dataset);

}  // namespace tutorial
