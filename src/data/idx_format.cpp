#include "data/idx_format.h"

#include "data/byte_order.h"
#include "data/data_errors.h"
#include "data/file_bytes.h"

#include <cstdio>
#include <cstring>
#include <filesystem>

namespace fs = std::filesystem;

namespace tutorial {

namespace {

std::string hex32(uint32_t value) {
  char text[11];
  std::snprintf(text, sizeof text, "0x%08x", value);
  return text;
}

struct IdxContents {
  std::vector<uint32_t> dims;  // dims[0] is the item count
  const uint8_t* payload;      // exactly the product of dims bytes
};

// Checks the header of an IDX file holding `what` ("images" or "labels"): the
// payload must hold exactly the product of the dimensions in bytes.
IdxContents parse_idx(const std::vector<uint8_t>& bytes, const std::string& path,
                      uint32_t expected_magic, size_t num_dims, const std::string& what) {
  // The magic number first: on a wrong file it is the most telling complaint.
  const size_t header_size = 4 * (1 + num_dims);
  if (bytes.size() >= 4) {
    const uint32_t magic = read_big_endian_u32(bytes.data());
    if (magic != expected_magic) {
      throw file_error(path, "wrong magic number " + hex32(magic) + " (expected " +
                                 hex32(expected_magic) + " for IDX " + what + ")");
    }
  }
  if (bytes.size() < header_size) {
    throw file_error(path, "truncated: " + std::to_string(bytes.size()) +
                               " bytes is too short for an IDX " + what + " header (" +
                               std::to_string(header_size) + " bytes)");
  }
  std::vector<uint32_t> dims(num_dims);
  for (size_t i = 0; i < num_dims; ++i) dims[i] = read_big_endian_u32(bytes.data() + 4 * (1 + i));
  if (dims[0] == 0) throw file_error(path, "the IDX header declares 0 " + what);

  // Compare counts rather than multiply sizes, so absurd headers cannot overflow.
  uint64_t item_size = 1;
  for (size_t i = 1; i < num_dims; ++i) item_size *= dims[i];
  if (item_size == 0) throw file_error(path, "the IDX header declares an empty item size");
  const uint64_t payload = bytes.size() - header_size;
  const uint64_t whole_items = payload / item_size;
  if (whole_items < dims[0]) {
    throw file_error(path, "truncated: the header declares " + std::to_string(dims[0]) + " " +
                               what + " but the file holds only " + std::to_string(payload) +
                               " bytes of data (" + std::to_string(whole_items) + " " + what + ")");
  }
  const uint64_t extra = payload - uint64_t{dims[0]} * item_size;
  if (extra != 0) {
    throw file_error(path, std::to_string(extra) + " unexpected trailing bytes after the " +
                               std::to_string(dims[0]) + " " + what + " the header declares");
  }
  return {dims, bytes.data() + header_size};
}

const char* split_prefix(Split split) { return split == Split::kTrain ? "train" : "t10k"; }

}  // namespace

torch::Tensor load_idx_images(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  const IdxContents idx = parse_idx(bytes, path, kIdxImagesMagic, 3, "images");
  torch::Tensor images = torch::empty(
      {int64_t{idx.dims[0]}, 1, int64_t{idx.dims[1]}, int64_t{idx.dims[2]}}, torch::kUInt8);
  std::memcpy(images.data_ptr<uint8_t>(), idx.payload, static_cast<size_t>(images.numel()));
  return images;
}

torch::Tensor load_idx_labels(const std::string& path, int64_t num_classes) {
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  const IdxContents idx = parse_idx(bytes, path, kIdxLabelsMagic, 1, "labels");
  const int64_t count = idx.dims[0];
  torch::Tensor labels = torch::empty({count}, torch::kInt64);
  int64_t* out = labels.data_ptr<int64_t>();
  const uint8_t* in = idx.payload;
  for (int64_t i = 0; i < count; ++i) {
    if (in[i] >= num_classes) throw label_out_of_range(path, in[i], i, num_classes);
    out[i] = in[i];
  }
  return labels;
}

std::string find_idx_file(const std::string& dir, const std::string& base_name) {
  const fs::path raw = fs::path(dir) / base_name;
  if (fs::exists(raw)) return raw.string();
  const fs::path gz = fs::path(dir) / (base_name + ".gz");
  if (fs::exists(gz)) return gz.string();
  throw file_error(raw.string() + "[.gz]",
                   "file not found (neither " + base_name + " nor " + base_name + ".gz exists)");
}

ImageDataset load_idx_split(const std::string& dir, Split split,
                            std::vector<std::string> class_names) {
  const std::string prefix = split_prefix(split);
  ImageDataset dataset;
  const std::string images_path = find_idx_file(dir, prefix + "-images-idx3-ubyte");
  dataset.images = load_idx_images(images_path);
  const std::string labels_path = find_idx_file(dir, prefix + "-labels-idx1-ubyte");
  dataset.labels = load_idx_labels(labels_path, static_cast<int64_t>(class_names.size()));
  dataset.class_names = std::move(class_names);
  if (dataset.images.size(0) != dataset.labels.size(0)) {
    throw file_error(labels_path, "holds " + std::to_string(dataset.labels.size(0)) +
                                      " labels but " + images_path + " holds " +
                                      std::to_string(dataset.images.size(0)) + " images");
  }
  return dataset;
}

}  // namespace tutorial
