// PNG back end of decode_image(), on libpng.
//
// libpng reports errors through a callback that must not return; here it
// longjmp()s back to run_png_decoder(), and decode_png_hwc() throws UserError.
// All state lives in PngDecoder (owned by the caller of the setjmp frame) so no
// local of that frame is changed between setjmp and longjmp.
#include "data/image_codecs.h"

#include "build_config.h"
#include "data/data_errors.h"

#if TUTORIAL_WITH_PNG
#include <png.h>

#include <cstdio>
#include <cstring>
#endif

namespace tutorial {

#if TUTORIAL_WITH_PNG

namespace {

struct PngDecoder {
  png_structp png = nullptr;
  png_infop info = nullptr;
  const std::vector<uint8_t>* bytes = nullptr;
  size_t read_offset = 0;
  char message[256] = {};
  torch::Tensor hwc;
  std::vector<png_bytep> rows;

  PngDecoder() = default;
  PngDecoder(const PngDecoder&) = delete;
  PngDecoder& operator=(const PngDecoder&) = delete;
  ~PngDecoder() {
    if (png != nullptr) png_destroy_read_struct(&png, info != nullptr ? &info : nullptr, nullptr);
  }
};

void on_png_error(png_structp png, png_const_charp message) {
  auto* decoder = static_cast<PngDecoder*>(png_get_error_ptr(png));
  std::snprintf(decoder->message, sizeof decoder->message, "%s", message);
  png_longjmp(png, 1);
}

void on_png_warning(png_structp, png_const_charp) {}

// libpng pulls the file through this callback from the bytes in memory.
void read_png_bytes(png_structp png, png_bytep out, png_size_t count) {
  auto* decoder = static_cast<PngDecoder*>(png_get_io_ptr(png));
  if (count > decoder->bytes->size() - decoder->read_offset) png_error(png, "file ends early");
  std::memcpy(out, decoder->bytes->data() + decoder->read_offset, count);
  decoder->read_offset += count;
}

// Asks libpng for 8-bit gray or RGB whatever the stored format.
void request_8bit_gray_or_rgb(png_structp png, png_infop info) {
  const int color_type = png_get_color_type(png, info);
  const int bit_depth = png_get_bit_depth(png, info);
  if (bit_depth == 16) {
#ifdef PNG_READ_SCALE_16_TO_8_SUPPORTED
    png_set_scale_16(png);  // rounds; libpng older than 1.5.4 only truncates
#else
    png_set_strip_16(png);
#endif
  }
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  // Palette expansion also turns a tRNS chunk into alpha: drop that as well.
  if ((color_type & PNG_COLOR_MASK_ALPHA) != 0 || png_get_valid(png, info, PNG_INFO_tRNS) != 0) {
    png_set_strip_alpha(png);
  }
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
}

// Decodes into decoder.hwc; false (with decoder.message) if libpng failed.
bool run_png_decoder(PngDecoder& decoder) {
  if (setjmp(png_jmpbuf(decoder.png))) return false;
  png_set_read_fn(decoder.png, &decoder, read_png_bytes);
  png_read_info(decoder.png, decoder.info);
  request_8bit_gray_or_rgb(decoder.png, decoder.info);
  const int64_t height = png_get_image_height(decoder.png, decoder.info);
  const int64_t width = png_get_image_width(decoder.png, decoder.info);
  const int64_t channels = png_get_channels(decoder.png, decoder.info);
  if (channels != 1 && channels != 3) png_error(decoder.png, "unexpected channel count");
  decoder.hwc = torch::empty({height, width, channels}, torch::kUInt8);
  decoder.rows.resize(static_cast<size_t>(height));
  for (int64_t y = 0; y < height; ++y) {
    decoder.rows[y] = decoder.hwc.data_ptr<uint8_t>() + y * width * channels;
  }
  png_read_image(decoder.png, decoder.rows.data());
  png_read_end(decoder.png, nullptr);
  return true;
}

}  // namespace

torch::Tensor decode_png_hwc(const std::vector<uint8_t>& bytes, const std::string& path) {
  PngDecoder decoder;
  decoder.bytes = &bytes;
  decoder.png =
      png_create_read_struct(PNG_LIBPNG_VER_STRING, &decoder, on_png_error, on_png_warning);
  if (decoder.png != nullptr) decoder.info = png_create_info_struct(decoder.png);
  if (decoder.png == nullptr || decoder.info == nullptr) {
    throw file_error(path, "cannot start PNG decoding (libpng out of memory)");
  }
  if (!run_png_decoder(decoder)) {
    throw file_error(path, std::string("corrupt or unsupported PNG: ") + decoder.message);
  }
  return decoder.hwc;
}

#else  // !TUTORIAL_WITH_PNG

torch::Tensor decode_png_hwc(const std::vector<uint8_t>&, const std::string& path) {
  throw UserError("built without libpng: cannot decode " + path +
                  " (install libpng-dev and rebuild, or convert the images to JPEG)");
}

#endif

}  // namespace tutorial
