#include "data/datasets.h"

#include "core/errors.h"
#include "data/cifar_binary.h"
#include "data/class_names.h"
#include "data/idx_format.h"
#include "data/image_folder.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace fs = std::filesystem;

namespace tutorial {

namespace {

constexpr const char* kDebianDatasetsDir = "/usr/share/datasets";

std::string split_folder_name(Split split) { return split == Split::kTrain ? "train" : "test"; }

// How to get each dataset, for the message when none is found.
std::string how_to_get(DatasetKind kind) {
  switch (kind) {
    case DatasetKind::kFashionMnist:
      return "install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist) "
             "or pass --data-dir";
    case DatasetKind::kMnist:
      return "download the four IDX files from http://yann.lecun.com/exdb/mnist/ "
             "and pass --data-dir";
    case DatasetKind::kCifar10:
      return "download and unpack https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz "
             "and pass --data-dir";
    case DatasetKind::kCifar100:
      return "download and unpack https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz "
             "and pass --data-dir";
    case DatasetKind::kImageFolder:
      return "pass --data-dir holding train/<class>/<images> and test/<class>/<images>";
  }
  return "pass --data-dir";
}

}  // namespace

std::vector<DatasetKind> all_dataset_kinds() {
  return {DatasetKind::kFashionMnist, DatasetKind::kMnist, DatasetKind::kCifar10,
          DatasetKind::kCifar100, DatasetKind::kImageFolder};
}

std::string dataset_kind_name(DatasetKind kind) {
  switch (kind) {
    case DatasetKind::kFashionMnist: return "fashion-mnist";
    case DatasetKind::kMnist: return "mnist";
    case DatasetKind::kCifar10: return "cifar10";
    case DatasetKind::kCifar100: return "cifar100";
    case DatasetKind::kImageFolder: return "image-folder";
  }
  return "unknown";
}

DatasetKind parse_dataset_kind(const std::string& name) {
  std::string valid;
  for (const DatasetKind kind : all_dataset_kinds()) {
    if (dataset_kind_name(kind) == name) return kind;
    valid += (valid.empty() ? "" : ", ") + dataset_kind_name(kind);
  }
  throw UserError("unknown dataset '" + name + "' (expected one of: " + valid + ")");
}

ImageDataset load_dataset(DatasetKind kind, const std::string& data_dir, Split split) {
  if (!fs::exists(data_dir)) throw UserError("data directory " + data_dir + " does not exist");
  if (!fs::is_directory(data_dir))
    throw UserError("data directory " + data_dir + " is not a directory");
  switch (kind) {
    case DatasetKind::kFashionMnist:
      return load_idx_split(data_dir, split, fashion_mnist_class_names());
    case DatasetKind::kMnist: return load_idx_split(data_dir, split, numbered_class_names(10));
    case DatasetKind::kCifar10: return load_cifar10(data_dir, split);
    case DatasetKind::kCifar100: return load_cifar100(data_dir, split);
    case DatasetKind::kImageFolder: {
      // Class names (so labels) come from the training split in both splits.
      const fs::path train_dir = fs::path(data_dir) / split_folder_name(Split::kTrain);
      const std::vector<std::string> classes = list_class_folders(train_dir.string());
      return load_image_folder((fs::path(data_dir) / split_folder_name(split)).string(), classes);
    }
  }
  throw UserError("unsupported dataset kind");
}

std::string default_data_dir(DatasetKind kind) {
  const bool installable = kind == DatasetKind::kFashionMnist || kind == DatasetKind::kMnist;
  const std::string name = dataset_kind_name(kind);
  if (!installable) {
    throw UserError("no --data-dir given and " + name +
                    " has no default location: " + how_to_get(kind));
  }
  const std::string dir = std::string(kDebianDatasetsDir) + "/" + name;
  if (fs::is_directory(dir)) return dir;
  throw UserError("no --data-dir given and " + dir + " is missing: " + how_to_get(kind));
}

NormalizationStats channel_stats(const ImageDataset& dataset) {
  // A histogram of the 256 byte values per channel gives exact sums without
  // converting the (possibly gigabyte-sized) image tensor to floating point.
  NormalizationStats stats;
  const torch::Tensor values = torch::arange(256, torch::kFloat64) / 255.0;
  for (int64_t c = 0; c < dataset.channels(); ++c) {
    const torch::Tensor channel = dataset.images.select(1, c).reshape({-1});
    const torch::Tensor counts = torch::bincount(channel, {}, 256).to(torch::kFloat64);
    const double total = counts.sum().item<double>();
    const double mean = (counts * values).sum().item<double>() / total;
    const double mean_square = (counts * values * values).sum().item<double>() / total;
    stats.mean.push_back(mean);
    stats.std.push_back(std::sqrt(std::max(0.0, mean_square - mean * mean)));
  }
  return stats;
}

}  // namespace tutorial
