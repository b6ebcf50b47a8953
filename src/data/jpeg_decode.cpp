// JPEG back end of decode_image(), on libjpeg(-turbo).
//
// libjpeg reports errors by calling error_exit(), which by default exits the
// process; here it longjmp()s back to decode_jpeg_hwc(), which throws UserError.
// All state lives in JpegDecoder (owned by the caller of the setjmp frame) so no
// local of that frame is changed between setjmp and longjmp.
#include "data/image_codecs.h"

#include "build_config.h"
#include "data/data_errors.h"

#if TUTORIAL_WITH_JPEG
// jpeglib.h needs size_t and FILE declared first.
#include <csetjmp>
#include <cstdio>

#include <jerror.h>
#include <jpeglib.h>
#endif

namespace tutorial {

#if TUTORIAL_WITH_JPEG

namespace {

struct JpegDecoder {
  jpeg_decompress_struct info{};
  jpeg_error_mgr error_manager{};  // jpeg_std_error() fills it
  std::jmp_buf on_error{};
  char message[JMSG_LENGTH_MAX] = {};
  bool data_ended_early = false;
  torch::Tensor hwc;

  JpegDecoder() = default;
  JpegDecoder(const JpegDecoder&) = delete;
  JpegDecoder& operator=(const JpegDecoder&) = delete;
  ~JpegDecoder() { jpeg_destroy_decompress(&info); }  // safe before jpeg_create too
};

JpegDecoder& decoder_of(j_common_ptr info) { return *static_cast<JpegDecoder*>(info->client_data); }

void on_jpeg_error(j_common_ptr info) {
  JpegDecoder& decoder = decoder_of(info);
  (*info->err->format_message)(info, decoder.message);
  std::longjmp(decoder.on_error, 1);
}

// Warnings are silent, except that data ending early (a truncated file, which
// libjpeg would pad with gray) makes the decode fail.
void on_jpeg_message(j_common_ptr info, int level) {
  if (level < 0 && info->err->msg_code == JWRN_JPEG_EOF) decoder_of(info).data_ended_early = true;
}

// Decodes into decoder.hwc; false (with decoder.message) if libjpeg failed.
bool run_jpeg_decoder(JpegDecoder& decoder, const std::vector<uint8_t>& bytes) {
  if (setjmp(decoder.on_error)) return false;
  jpeg_decompress_struct& info = decoder.info;
  jpeg_create_decompress(&info);
  jpeg_mem_src(&info, bytes.data(), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&info, TRUE);
  // Gray stays one channel; YCbCr and RGB become RGB. (CMYK is not supported and
  // makes jpeg_start_decompress fail with a clear message.)
  info.out_color_space = info.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&info);
  const int64_t row_bytes = int64_t{info.output_width} * info.output_components;
  decoder.hwc = torch::empty(
      {int64_t{info.output_height}, int64_t{info.output_width}, int64_t{info.output_components}},
      torch::kUInt8);
  uint8_t* pixels = decoder.hwc.data_ptr<uint8_t>();
  while (info.output_scanline < info.output_height) {
    JSAMPROW row = pixels + int64_t{info.output_scanline} * row_bytes;
    jpeg_read_scanlines(&info, &row, 1);
  }
  jpeg_finish_decompress(&info);
  return true;
}

}  // namespace

torch::Tensor decode_jpeg_hwc(const std::vector<uint8_t>& bytes, const std::string& path) {
  JpegDecoder decoder;
  decoder.info.err = jpeg_std_error(&decoder.error_manager);
  decoder.error_manager.error_exit = on_jpeg_error;
  decoder.error_manager.emit_message = on_jpeg_message;
  decoder.info.client_data = &decoder;  // jpeg_create_decompress keeps err and client_data
  if (!run_jpeg_decoder(decoder, bytes)) {
    throw file_error(path, std::string("corrupt or unsupported JPEG: ") + decoder.message);
  }
  if (decoder.data_ended_early) throw file_error(path, "truncated JPEG: the image data ends early");
  return decoder.hwc;
}

#else  // !TUTORIAL_WITH_JPEG

torch::Tensor decode_jpeg_hwc(const std::vector<uint8_t>&, const std::string& path) {
  throw UserError("built without libjpeg: cannot decode " + path +
                  " (install libjpeg-dev and rebuild, or convert the images to PNG)");
}

#endif

}  // namespace tutorial
