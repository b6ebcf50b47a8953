// Decoding one JPEG or PNG image (libjpeg / libpng, each optional at build time).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tutorial {

enum class ImageFormat { kUnknown, kJpeg, kPng };

// The format named by the first bytes of a file (the extension is not trusted).
ImageFormat detect_image_format(const std::vector<uint8_t>& bytes);

// `bytes` (the contents of `path`, used in messages) -> uint8 [C, H, W], contiguous,
// C = 1 for grayscale or 3 for color; alpha is dropped, palettes expanded and 16-bit
// samples scaled to 8 bits. A corrupt or unsupported image is a UserError naming `path`.
torch::Tensor decode_image(const std::vector<uint8_t>& bytes, const std::string& path);

// Reads and decodes the image file `path`.
torch::Tensor decode_image_file(const std::string& path);

}  // namespace tutorial
