#include "data/image_folder.h"

#include "data/data_errors.h"
#include "data/image_decode.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstring>
#include <exception>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <thread>

namespace fs = std::filesystem;

namespace tutorial {

namespace {

void require_directory(const fs::path& dir) {
  if (!fs::exists(dir)) throw file_error(dir, "image folder does not exist");
  if (!fs::is_directory(dir)) throw file_error(dir, "is not a directory");
}

// The entries of `dir`, hidden ones left out, sorted by name.
std::vector<fs::directory_entry> visible_entries(const fs::path& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) throw file_error(dir, "cannot list the folder: " + ec.message());
  std::vector<fs::directory_entry> entries;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) throw file_error(dir, "cannot list the folder: " + ec.message());
    if (it->path().filename().string().rfind('.', 0) != 0) entries.push_back(*it);
  }
  if (ec) throw file_error(dir, "cannot list the folder: " + ec.message());
  std::sort(entries.begin(), entries.end());
  return entries;
}

// The images of one class folder, sorted by name.
std::vector<fs::path> list_images(const fs::path& class_dir) {
  std::vector<fs::path> images;
  for (const fs::directory_entry& entry : visible_entries(class_dir)) {
    if (entry.is_regular_file() && is_image_file_name(entry.path().filename().string())) {
      images.push_back(entry.path());
    }
  }
  if (images.empty())
    throw file_error(class_dir, "class folder holds no .jpg, .jpeg or .png images");
  return images;
}

void require_same_classes(const fs::path& root, const std::vector<std::string>& expected) {
  const std::vector<std::string> found = list_class_folders(root.string());
  for (const std::string& name : expected) {
    if (!std::binary_search(found.begin(), found.end(), name)) {
      throw file_error(root, "has no folder for class '" + name + "'");
    }
  }
  for (const std::string& name : found) {
    if (std::find(expected.begin(), expected.end(), name) == expected.end()) {
      throw file_error(root / name, "is not one of the " + std::to_string(expected.size()) +
                                        " expected classes");
    }
  }
}

std::string shape_text(const torch::Tensor& chw) {
  return std::to_string(chw.size(0)) + "x" + std::to_string(chw.size(1)) + "x" +
         std::to_string(chw.size(2));
}

// Decodes files[index] into images[index], which must match the first image's size.
void decode_into(const std::vector<fs::path>& files, int64_t index, torch::Tensor& images) {
  const torch::Tensor image = decode_image_file(files[index].string());
  if (!image.sizes().equals(images.sizes().slice(1))) {
    throw file_error(files[index], "image size " + shape_text(image) + " (CxHxW) differs from " +
                                       shape_text(images[0]) + " of " + files[0].string() +
                                       "; all images must have the same size");
  }
  const size_t image_bytes = static_cast<size_t>(image.numel());
  std::memcpy(images.data_ptr<uint8_t>() + index * image_bytes, image.data_ptr<uint8_t>(),
              image_bytes);
}

// Decodes files[1..] on all cores. Workers take blocks of indices in increasing
// order and skip only indices past a known failure, so the error reported is
// always that of the first bad file, as a serial loop would report it.
void decode_rest_in_parallel(const std::vector<fs::path>& files, torch::Tensor& images) {
  constexpr int64_t kBlock = 64;
  const auto count = static_cast<int64_t>(files.size());
  std::atomic<int64_t> next_block{1};
  std::atomic<int64_t> first_failure{count};
  std::mutex failure_mutex;
  std::exception_ptr failure;

  auto work = [&] {
    while (true) {
      const int64_t begin = next_block.fetch_add(kBlock);
      if (begin >= count) return;
      for (int64_t i = begin; i < std::min(begin + kBlock, count); ++i) {
        if (i > first_failure.load()) return;
        try {
          decode_into(files, i, images);
        } catch (...) {
          const std::lock_guard<std::mutex> lock(failure_mutex);
          if (i < first_failure.load()) {
            first_failure = i;
            failure = std::current_exception();
          }
          return;  // this worker's later indices are all larger
        }
      }
    }
  };

  const int64_t wanted = std::max<int64_t>(1, std::thread::hardware_concurrency());
  const int64_t num_threads = std::min(wanted, (count + kBlock - 1) / kBlock);
  std::vector<std::thread> helpers;
  for (int64_t t = 1; t < num_threads; ++t) {
    try {
      helpers.emplace_back(work);
    } catch (const std::system_error&) {
      break;  // no more threads to be had: the ones running finish the work
    }
  }
  work();
  for (std::thread& helper : helpers) helper.join();
  if (failure) std::rethrow_exception(failure);
}

// Loads root/<class_names[i]>/* with label i.
ImageDataset load_classes(const fs::path& root, const std::vector<std::string>& class_names) {
  std::vector<fs::path> files;
  std::vector<int64_t> class_ends;  // files of class c: [class_ends[c-1], class_ends[c])
  for (const std::string& name : class_names) {
    const std::vector<fs::path> images = list_images(root / name);
    files.insert(files.end(), images.begin(), images.end());
    class_ends.push_back(static_cast<int64_t>(files.size()));
  }

  ImageDataset dataset;
  dataset.class_names = class_names;
  const auto count = static_cast<int64_t>(files.size());
  dataset.labels = torch::empty({count}, torch::kInt64);
  int64_t* labels = dataset.labels.data_ptr<int64_t>();
  for (int64_t c = 0, i = 0; c < static_cast<int64_t>(class_ends.size()); ++c) {
    for (; i < class_ends[c]; ++i) labels[i] = c;
  }

  // The first image fixes the size every other image must have.
  const torch::Tensor first = decode_image_file(files[0].string());
  dataset.images =
      torch::empty({count, first.size(0), first.size(1), first.size(2)}, torch::kUInt8);
  dataset.images[0].copy_(first);
  decode_rest_in_parallel(files, dataset.images);
  return dataset;
}

}  // namespace

bool is_image_file_name(const std::string& file_name) {
  std::string lower = file_name;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string extension = fs::path(lower).extension().string();
  return extension == ".jpg" || extension == ".jpeg" || extension == ".png";
}

std::vector<std::string> list_class_folders(const std::string& root) {
  require_directory(root);
  std::vector<std::string> classes;
  for (const fs::directory_entry& entry : visible_entries(root)) {
    if (entry.is_directory()) classes.push_back(entry.path().filename().string());
  }
  if (classes.empty()) {
    throw file_error(root,
                     "no class folders found (expected " + root + "/<class name>/<image files>)");
  }
  return classes;
}

ImageDataset load_image_folder(const std::string& root,
                               const std::vector<std::string>& class_names) {
  require_same_classes(root, class_names);
  return load_classes(root, class_names);
}

ImageDataset load_image_folder(const std::string& root) {
  return load_classes(root, list_class_folders(root));
}

}  // namespace tutorial
