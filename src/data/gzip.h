// gzip decompression of a file already in memory (zlib, optional at build time).
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace tutorial {

// True if `bytes` start with the gzip magic number 1f 8b.
bool has_gzip_magic(const std::vector<uint8_t>& bytes);

// The decompressed contents of the gzip file `path` whose bytes are `compressed`.
// Concatenated gzip members are joined, as gunzip does. A corrupt or truncated
// stream, or a build without zlib, is a UserError naming `path`.
std::vector<uint8_t> gunzip(const std::vector<uint8_t>& compressed,
                            const std::filesystem::path& path);

}  // namespace tutorial
