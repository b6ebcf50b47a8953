// Writers for the data formats, so the tests make their own small input files.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace tutorial::testdata {

// A new empty directory under the system temp directory, deleted with its contents.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // path() / name, as a string (the form the loaders take).
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Deletes `path` and everything under it, like std::filesystem::remove_all,
// which must not be called: PyPI's libtorch.so exports its own copy of
// remove_all, and that copy jumps to address 0 (it refers weakly to
// recursive_directory_iterator members that it does not bring). Returns
// false if something could not be removed.
bool remove_tree(const std::filesystem::path& path);

// Writes `bytes` to `path`, creating missing parent folders.
void write_bytes(const std::filesystem::path& path, const std::vector<uint8_t>& bytes);

// Writes `bytes` gzip-compressed (zlib's gzopen/gzwrite). Needs TUTORIAL_WITH_ZLIB.
void write_gzip(const std::filesystem::path& path, const std::vector<uint8_t>& bytes);

// gzip-compressed `bytes` in memory. Needs TUTORIAL_WITH_ZLIB.
std::vector<uint8_t> gzip_bytes(const std::vector<uint8_t>& bytes);

// Deterministic random uint8 images [n, c, h, w].
torch::Tensor random_images(int64_t n, int64_t c, int64_t h, int64_t w, uint64_t seed = 1);

// A smooth uint8 [c, h, w] image (gradients), which JPEG keeps almost exactly.
torch::Tensor smooth_image(int64_t c, int64_t h, int64_t w);

// IDX files: images uint8 [N, 1, H, W] or [N, H, W]; labels integer [N].
std::vector<uint8_t> idx_images_bytes(const torch::Tensor& images);
std::vector<uint8_t> idx_labels_bytes(const torch::Tensor& labels);

// CIFAR binary records: images uint8 [N, 3, 32, 32]; labels integer [N].
std::vector<uint8_t> cifar10_bytes(const torch::Tensor& images, const torch::Tensor& labels);
std::vector<uint8_t> cifar100_bytes(const torch::Tensor& images, const torch::Tensor& coarse_labels,
                                    const torch::Tensor& fine_labels);

// A PNG in any of its storage formats. color_type and bit_depth take the PNG
// specification's values (0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA);
// rows are packed as the specification stores them (16-bit samples big-endian).
struct PngImage {
  int width = 0;
  int height = 0;
  int color_type = 0;
  int bit_depth = 8;
  std::vector<uint8_t> rows;
  std::vector<uint8_t> palette_rgb;    // 3 bytes per entry (color type 3)
  std::vector<uint8_t> palette_alpha;  // tRNS: alpha per palette entry, optional
};

// Needs TUTORIAL_WITH_PNG.
std::vector<uint8_t> png_bytes(const PngImage& image);
// An 8-bit gray (C = 1) or RGB (C = 3) PNG of uint8 [C, H, W]. Needs TUTORIAL_WITH_PNG.
std::vector<uint8_t> png_bytes(const torch::Tensor& chw);

// A baseline JPEG of uint8 [C, H, W], C = 1 or 3. Needs TUTORIAL_WITH_JPEG.
std::vector<uint8_t> jpeg_bytes(const torch::Tensor& chw, int quality = 95);

}  // namespace tutorial::testdata
