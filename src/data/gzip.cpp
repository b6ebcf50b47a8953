#include "data/gzip.h"

#include "build_config.h"
#include "data/data_errors.h"

#include <algorithm>
#include <string>

#if TUTORIAL_WITH_ZLIB
#include <zlib.h>
#endif

namespace tutorial {

bool has_gzip_magic(const std::vector<uint8_t>& bytes) {
  return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

#if TUTORIAL_WITH_ZLIB

namespace {

// Owns a zlib inflate stream so every exit path releases it.
class InflateStream {
 public:
  explicit InflateStream(const std::filesystem::path& path) {
    // 16 + MAX_WBITS: expect a gzip header and trailer, not a raw zlib stream.
    if (inflateInit2(&stream_, 16 + MAX_WBITS) != Z_OK) {
      throw file_error(path, "cannot start gzip decompression (zlib out of memory)");
    }
  }
  ~InflateStream() { inflateEnd(&stream_); }
  InflateStream(const InflateStream&) = delete;
  InflateStream& operator=(const InflateStream&) = delete;

  z_stream& get() { return stream_; }

 private:
  z_stream stream_{};
};

// The first output buffer size: the gzip trailer's ISIZE field (uncompressed size
// mod 2^32), so the usual single-member file decompresses without regrowing. In a
// truncated file those bytes are arbitrary, hence the bound.
size_t initial_output_size(const std::vector<uint8_t>& compressed) {
  constexpr size_t kMin = size_t{1} << 16;
  const size_t n = compressed.size();
  if (n < 18) return kMin;
  const size_t isize = size_t{compressed[n - 4]} | (size_t{compressed[n - 3]} << 8) |
                       (size_t{compressed[n - 2]} << 16) | (size_t{compressed[n - 1]} << 24);
  return std::clamp(isize, kMin, 8 * n + kMin);
}

}  // namespace

std::vector<uint8_t> gunzip(const std::vector<uint8_t>& compressed,
                            const std::filesystem::path& path) {
  if (!has_gzip_magic(compressed)) {
    throw file_error(path, "not a gzip file (it does not start with the gzip magic bytes 1f 8b)");
  }
  // zlib counts in uInt (32 bits): feed and drain at most this much per call.
  constexpr size_t kMaxChunk = size_t{1} << 30;

  std::vector<uint8_t> out(initial_output_size(compressed));
  size_t produced = 0;
  size_t consumed = 0;
  InflateStream inflater(path);
  z_stream& z = inflater.get();
  while (true) {
    if (produced == out.size()) out.resize(out.size() * 2);
    z.next_in = const_cast<Bytef*>(compressed.data() + consumed);
    z.avail_in = static_cast<uInt>(std::min(compressed.size() - consumed, kMaxChunk));
    z.next_out = out.data() + produced;
    z.avail_out = static_cast<uInt>(std::min(out.size() - produced, kMaxChunk));
    const uInt in_before = z.avail_in;
    const uInt out_before = z.avail_out;
    const int rc = inflate(&z, Z_NO_FLUSH);
    consumed += in_before - z.avail_in;
    produced += out_before - z.avail_out;

    if (rc == Z_STREAM_END) {
      // Another gzip member may follow (files made with `cat a.gz b.gz`).
      if (consumed == compressed.size()) break;
      if (compressed.size() - consumed >= 2 && compressed[consumed] == 0x1f &&
          compressed[consumed + 1] == 0x8b) {
        inflateReset(&z);
        continue;
      }
      throw file_error(path, "corrupt gzip file: unexpected data after the end of the stream");
    }
    // Z_BUF_ERROR means no progress was possible: with room left for output,
    // the input ran out before the end of the stream.
    if (rc == Z_OK || (rc == Z_BUF_ERROR && z.avail_out == 0)) continue;
    if (rc == Z_BUF_ERROR) {
      throw file_error(path, "truncated gzip file: the compressed data ends too early");
    }
    const std::string detail = z.msg != nullptr ? z.msg : "zlib error " + std::to_string(rc);
    throw file_error(path, "corrupt gzip file: " + detail);
  }
  out.resize(produced);
  return out;
}

#else  // !TUTORIAL_WITH_ZLIB

std::vector<uint8_t> gunzip(const std::vector<uint8_t>&, const std::filesystem::path& path) {
  throw UserError("built without zlib: cannot decompress " + path.string() +
                  " (install zlib and rebuild, or decompress it with gunzip)");
}

#endif

}  // namespace tutorial
