#include "data/image_decode.h"

#include "data/data_errors.h"
#include "data/file_bytes.h"
#include "data/image_codecs.h"

#include <algorithm>
#include <cstdio>
#include <initializer_list>

namespace tutorial {

namespace {

bool starts_with(const std::vector<uint8_t>& bytes, std::initializer_list<uint8_t> prefix) {
  return bytes.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), bytes.begin());
}

std::string first_bytes_hex(const std::vector<uint8_t>& bytes) {
  std::string text;
  for (size_t i = 0; i < bytes.size() && i < 4; ++i) {
    char hex[4];
    std::snprintf(hex, sizeof hex, i == 0 ? "%02x" : " %02x", bytes[i]);
    text += hex;
  }
  return text;
}

}  // namespace

ImageFormat detect_image_format(const std::vector<uint8_t>& bytes) {
  if (starts_with(bytes, {0xff, 0xd8, 0xff})) return ImageFormat::kJpeg;
  if (starts_with(bytes, {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'})) return ImageFormat::kPng;
  return ImageFormat::kUnknown;
}

torch::Tensor decode_image(const std::vector<uint8_t>& bytes, const std::string& path) {
  torch::Tensor hwc;
  switch (detect_image_format(bytes)) {
    case ImageFormat::kJpeg: hwc = decode_jpeg_hwc(bytes, path); break;
    case ImageFormat::kPng: hwc = decode_png_hwc(bytes, path); break;
    case ImageFormat::kUnknown:
      if (bytes.empty()) throw file_error(path, "cannot decode an empty file as an image");
      throw file_error(
          path, "not a JPEG or PNG image (it starts with bytes " + first_bytes_hex(bytes) + ")");
  }
  return hwc.permute({2, 0, 1}).contiguous();
}

torch::Tensor decode_image_file(const std::string& path) {
  return decode_image(read_raw_file_bytes(path), path);
}

}  // namespace tutorial
