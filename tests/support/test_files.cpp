#include "test_files.h"

#include "build_config.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <stdexcept>
#include <ftw.h>
#include <unistd.h>

#if TUTORIAL_WITH_ZLIB
#include <zlib.h>
#endif
#if TUTORIAL_WITH_PNG
#include <png.h>
#endif
#if TUTORIAL_WITH_JPEG
#include <jpeglib.h>
#endif

namespace fs = std::filesystem;

namespace tutorial::testdata {

namespace {

[[noreturn, maybe_unused]] void missing_library(const char* library) {
  throw std::runtime_error(std::string("test_files: built without ") + library);
}

// uint8 [C, H, W] -> the interleaved H, W, C bytes the codecs take.
[[maybe_unused]] std::vector<uint8_t> interleaved(const torch::Tensor& chw) {
  const torch::Tensor hwc = chw.permute({1, 2, 0}).contiguous();
  const uint8_t* data = hwc.data_ptr<uint8_t>();
  return std::vector<uint8_t>(data, data + hwc.numel());
}

void append_u32_big_endian(std::vector<uint8_t>& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(value >> shift));
}

std::vector<uint8_t> cifar_bytes(const torch::Tensor& images,
                                 const std::vector<torch::Tensor>& label_columns) {
  const torch::Tensor flat = images.contiguous().reshape({images.size(0), -1});
  std::vector<uint8_t> out;
  for (int64_t i = 0; i < flat.size(0); ++i) {
    for (const torch::Tensor& labels : label_columns) {
      out.push_back(static_cast<uint8_t>(labels[i].item<int64_t>()));
    }
    const uint8_t* pixels = flat[i].data_ptr<uint8_t>();
    out.insert(out.end(), pixels, pixels + flat.size(1));
  }
  return out;
}

}  // namespace

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  path_ = fs::temp_directory_path() /
          ("tutorial_data_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  remove_tree(path_);
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ignored);
  remove_tree(path_);
}

bool remove_tree(const fs::path& path) {
  std::error_code error;
  if (!fs::exists(fs::symlink_status(path, error))) return true;
  // Depth first, links not followed: contents before their folder.
  const auto remove_one = [](const char* name, const struct stat*, int, struct FTW*) {
    return std::remove(name) == 0 ? 0 : -1;
  };
  return ::nftw(path.c_str(), remove_one, 16, FTW_DEPTH | FTW_PHYS) == 0;
}

void write_bytes(const fs::path& path, const std::vector<uint8_t>& bytes) {
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("test_files: cannot write " + path.string());
}

void write_gzip(const fs::path& path, const std::vector<uint8_t>& bytes) {
#if TUTORIAL_WITH_ZLIB
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  gzFile file = gzopen(path.c_str(), "wb");
  if (file == nullptr) throw std::runtime_error("test_files: cannot gzopen " + path.string());
  const int written =
      bytes.empty() ? 0 : gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size()));
  const int closed = gzclose(file);
  if (written != static_cast<int>(bytes.size()) || closed != Z_OK) {
    throw std::runtime_error("test_files: cannot write " + path.string());
  }
#else
  (void)path;
  (void)bytes;
  missing_library("zlib");
#endif
}

std::vector<uint8_t> gzip_bytes(const std::vector<uint8_t>& bytes) {
  static std::atomic<int> counter{0};
  const fs::path scratch =
      fs::temp_directory_path() /
      ("tutorial_gzip_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".gz");
  write_gzip(scratch, bytes);
  std::ifstream in(scratch, std::ios::binary);
  std::vector<uint8_t> compressed((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  fs::remove(scratch);
  return compressed;
}

torch::Tensor random_images(int64_t n, int64_t c, int64_t h, int64_t w, uint64_t seed) {
  std::mt19937_64 rng(seed);
  torch::Tensor images = torch::empty({n, c, h, w}, torch::kUInt8);
  uint8_t* data = images.data_ptr<uint8_t>();
  for (int64_t i = 0; i < images.numel(); ++i) data[i] = static_cast<uint8_t>(rng() >> 56);
  return images;
}

torch::Tensor smooth_image(int64_t c, int64_t h, int64_t w) {
  torch::Tensor image = torch::empty({c, h, w}, torch::kUInt8);
  auto a = image.accessor<uint8_t, 3>();
  for (int64_t k = 0; k < c; ++k) {
    for (int64_t y = 0; y < h; ++y) {
      for (int64_t x = 0; x < w; ++x) {
        a[k][y][x] = static_cast<uint8_t>(20 + 40 * k + 100 * y / h + 50 * x / w);  // <= 250
      }
    }
  }
  return image;
}

std::vector<uint8_t> idx_images_bytes(const torch::Tensor& images) {
  const torch::Tensor nhw = images.dim() == 4 ? images.squeeze(1) : images;
  std::vector<uint8_t> out;
  append_u32_big_endian(out, 0x00000803);
  for (int64_t d = 0; d < 3; ++d) append_u32_big_endian(out, static_cast<uint32_t>(nhw.size(d)));
  const torch::Tensor data = nhw.contiguous();
  out.insert(out.end(), data.data_ptr<uint8_t>(), data.data_ptr<uint8_t>() + data.numel());
  return out;
}

std::vector<uint8_t> idx_labels_bytes(const torch::Tensor& labels) {
  std::vector<uint8_t> out;
  append_u32_big_endian(out, 0x00000801);
  append_u32_big_endian(out, static_cast<uint32_t>(labels.size(0)));
  for (int64_t i = 0; i < labels.size(0); ++i) {
    out.push_back(static_cast<uint8_t>(labels[i].item<int64_t>()));
  }
  return out;
}

std::vector<uint8_t> cifar10_bytes(const torch::Tensor& images, const torch::Tensor& labels) {
  return cifar_bytes(images, {labels});
}

std::vector<uint8_t> cifar100_bytes(const torch::Tensor& images, const torch::Tensor& coarse_labels,
                                    const torch::Tensor& fine_labels) {
  return cifar_bytes(images, {coarse_labels, fine_labels});
}

#if TUTORIAL_WITH_PNG

namespace {

void append_png_bytes(png_structp png, png_bytep data, png_size_t size) {
  auto* out = static_cast<std::vector<uint8_t>*>(png_get_io_ptr(png));
  out->insert(out->end(), data, data + size);
}

void flush_nothing(png_structp) {}

}  // namespace

std::vector<uint8_t> png_bytes(const PngImage& image) {
  std::vector<uint8_t> out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    throw std::runtime_error("test_files: libpng failed to encode");
  }
  png_set_write_fn(png, &out, append_png_bytes, flush_nothing);
  png_set_IHDR(png, info, image.width, image.height, image.bit_depth, image.color_type,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  std::vector<png_color> palette;
  for (size_t i = 0; i + 2 < image.palette_rgb.size(); i += 3) {
    palette.push_back({image.palette_rgb[i], image.palette_rgb[i + 1], image.palette_rgb[i + 2]});
  }
  if (!palette.empty()) png_set_PLTE(png, info, palette.data(), static_cast<int>(palette.size()));
  if (!image.palette_alpha.empty()) {
    png_set_tRNS(png, info, image.palette_alpha.data(),
                 static_cast<int>(image.palette_alpha.size()), nullptr);
  }
  png_write_info(png, info);
  const size_t row_bytes = image.rows.size() / static_cast<size_t>(image.height);
  for (int y = 0; y < image.height; ++y) {
    png_write_row(png, image.rows.data() + static_cast<size_t>(y) * row_bytes);
  }
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

std::vector<uint8_t> png_bytes(const torch::Tensor& chw) {
  PngImage image;
  image.height = static_cast<int>(chw.size(1));
  image.width = static_cast<int>(chw.size(2));
  image.color_type = chw.size(0) == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB;
  image.rows = interleaved(chw);
  return png_bytes(image);
}

#else

std::vector<uint8_t> png_bytes(const PngImage&) { missing_library("libpng"); }
std::vector<uint8_t> png_bytes(const torch::Tensor&) { missing_library("libpng"); }

#endif

#if TUTORIAL_WITH_JPEG

std::vector<uint8_t> jpeg_bytes(const torch::Tensor& chw, int quality) {
  const std::vector<uint8_t> pixels = interleaved(chw);
  jpeg_compress_struct info{};
  jpeg_error_mgr errors{};
  info.err = jpeg_std_error(&errors);  // default: errors exit, fine for test inputs
  jpeg_create_compress(&info);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&info, &buffer, &size);
  info.image_height = static_cast<JDIMENSION>(chw.size(1));
  info.image_width = static_cast<JDIMENSION>(chw.size(2));
  info.input_components = static_cast<int>(chw.size(0));
  info.in_color_space = chw.size(0) == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&info);
  jpeg_set_quality(&info, quality, TRUE);
  jpeg_start_compress(&info, TRUE);
  const size_t row_bytes = static_cast<size_t>(chw.size(0) * chw.size(2));
  while (info.next_scanline < info.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(pixels.data()) + info.next_scanline * row_bytes;
    jpeg_write_scanlines(&info, &row, 1);
  }
  jpeg_finish_compress(&info);
  std::vector<uint8_t> out(buffer, buffer + size);
  jpeg_destroy_compress(&info);
  std::free(buffer);
  return out;
}

#else

std::vector<uint8_t> jpeg_bytes(const torch::Tensor&, int) { missing_library("libjpeg"); }

#endif

}  // namespace tutorial::testdata
