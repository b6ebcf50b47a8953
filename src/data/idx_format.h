// MNIST / Fashion-MNIST files in the IDX format (http://yann.lecun.com/exdb/mnist/):
// a big-endian header (magic number, then one uint32 per dimension) followed by
// the uint8 payload. Files may be gzip-compressed.
#pragma once

#include "data/dataset.h"

#include <string>
#include <vector>

namespace tutorial {

constexpr uint32_t kIdxImagesMagic = 0x00000803;  // uint8 data, 3 dimensions
constexpr uint32_t kIdxLabelsMagic = 0x00000801;  // uint8 data, 1 dimension

// An IDX image file -> uint8 [N, 1, H, W].
torch::Tensor load_idx_images(const std::string& path);

// An IDX label file -> int64 [N]; every label must be below `num_classes`.
torch::Tensor load_idx_labels(const std::string& path, int64_t num_classes);

// The IDX file `<dir>/<base_name>`, or `<dir>/<base_name>.gz` when only that
// exists; a UserError when neither does.
std::string find_idx_file(const std::string& dir, const std::string& base_name);

// One split of an MNIST-style folder: train-{images-idx3,labels-idx1}-ubyte or
// t10k-... (each optionally .gz). Image and label counts must agree.
ImageDataset load_idx_split(const std::string& dir, Split split,
                            std::vector<std::string> class_names);

}  // namespace tutorial
