// The codec back ends of decode_image() (internal to src/data).
// Each returns uint8 [H, W, C] (interleaved, as the libraries produce it) or
// throws UserError naming `path`; without its library each throws
// "built without lib...: cannot decode <path>".
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tutorial {

torch::Tensor decode_jpeg_hwc(const std::vector<uint8_t>& bytes, const std::string& path);
torch::Tensor decode_png_hwc(const std::vector<uint8_t>& bytes, const std::string& path);

}  // namespace tutorial
