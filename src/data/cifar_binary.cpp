#include "data/cifar_binary.h"

#include "data/class_names.h"
#include "data/data_errors.h"
#include "data/file_bytes.h"

#include <cstring>
#include <filesystem>

namespace fs = std::filesystem;

namespace tutorial {

namespace {

constexpr int64_t kCifarChannels = 3;
constexpr int64_t kCifarSide = 32;
constexpr int64_t kCifarImageBytes = kCifarChannels * kCifarSide * kCifarSide;  // 3072

// What differs between the two variants of the format.
struct CifarLayout {
  const char* subfolder;       // the folder the official archive unpacks to
  const char* names_file;      // class names, one per line
  int64_t num_label_bytes;     // CIFAR-100 stores coarse then fine label
  int64_t num_classes;         // of the label that is used (the last one)
  int64_t num_coarse_classes;  // of the label before it, checked too (0: none)
  std::vector<std::string> (*standard_names)();
};

const CifarLayout kCifar10{"cifar-10-batches-bin", "batches.meta.txt", 1, 10, 0,
                           &cifar10_class_names};
const CifarLayout kCifar100{"cifar-100-binary",   "fine_label_names.txt", 2, 100, 20,
                            &cifar100_class_names};

// `dir` itself, or its subfolder named like the official archive's when that exists.
fs::path resolve_cifar_dir(const std::string& dir, const CifarLayout& layout) {
  const fs::path nested = fs::path(dir) / layout.subfolder;
  return fs::is_directory(nested) ? nested : fs::path(dir);
}

std::vector<std::string> cifar_class_names(const fs::path& dir, const CifarLayout& layout) {
  const fs::path names_path = dir / layout.names_file;
  if (fs::exists(names_path)) return read_class_names_file(names_path.string(), layout.num_classes);
  return layout.standard_names();
}

// Reads `files` (in order) into one dataset, straight into its tensors.
ImageDataset load_cifar_files(const std::vector<fs::path>& files, const CifarLayout& layout,
                              std::vector<std::string> class_names) {
  const int64_t record_size = layout.num_label_bytes + kCifarImageBytes;
  std::vector<std::vector<uint8_t>> contents;
  int64_t total = 0;
  for (const fs::path& file : files) {
    contents.push_back(read_file_bytes(file.string()));
    const auto size = static_cast<int64_t>(contents.back().size());
    if (size == 0 || size % record_size != 0) {
      throw file_error(file, "size " + std::to_string(size) + " bytes is not a positive multiple " +
                                 "of the " + std::to_string(record_size) +
                                 "-byte record size (truncated or not a CIFAR binary file?)");
    }
    total += size / record_size;
  }

  ImageDataset dataset;
  dataset.images = torch::empty({total, kCifarChannels, kCifarSide, kCifarSide}, torch::kUInt8);
  dataset.labels = torch::empty({total}, torch::kInt64);
  dataset.class_names = std::move(class_names);
  uint8_t* images = dataset.images.data_ptr<uint8_t>();
  int64_t* labels = dataset.labels.data_ptr<int64_t>();
  int64_t index = 0;
  for (size_t f = 0; f < files.size(); ++f) {
    const int64_t count = static_cast<int64_t>(contents[f].size()) / record_size;
    for (int64_t i = 0; i < count; ++i, ++index) {
      const uint8_t* record = contents[f].data() + i * record_size;
      const uint8_t label = record[layout.num_label_bytes - 1];
      if (label >= layout.num_classes) {
        throw label_out_of_range(files[f], label, i, layout.num_classes);
      }
      if (layout.num_coarse_classes > 0 && record[0] >= layout.num_coarse_classes) {
        throw file_error(files[f], "coarse label " + std::to_string(record[0]) + " of sample " +
                                       std::to_string(i) + " is out of range (expected 0.." +
                                       std::to_string(layout.num_coarse_classes - 1) + ")");
      }
      labels[index] = label;
      std::memcpy(images + index * kCifarImageBytes, record + layout.num_label_bytes,
                  kCifarImageBytes);
    }
    contents[f] = {};  // release each file's bytes as soon as it is copied
  }
  return dataset;
}

ImageDataset load_cifar(const std::string& dir, const CifarLayout& layout,
                        const std::vector<std::string>& file_names) {
  const fs::path root = resolve_cifar_dir(dir, layout);
  std::vector<fs::path> files;
  for (const std::string& name : file_names) files.push_back(root / name);
  return load_cifar_files(files, layout, cifar_class_names(root, layout));
}

}  // namespace

ImageDataset load_cifar10(const std::string& dir, Split split) {
  if (split == Split::kTest) return load_cifar(dir, kCifar10, {"test_batch.bin"});
  return load_cifar(dir, kCifar10,
                    {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                     "data_batch_5.bin"});
}

ImageDataset load_cifar100(const std::string& dir, Split split) {
  return load_cifar(dir, kCifar100, {split == Split::kTrain ? "train.bin" : "test.bin"});
}

}  // namespace tutorial
