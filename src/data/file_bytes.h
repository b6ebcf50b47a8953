// Whole files into memory: every loader reads its files through here, so a
// missing, unreadable or corrupt file is reported the same way everywhere.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tutorial {

// The bytes of `path` exactly as stored.
std::vector<uint8_t> read_raw_file_bytes(const std::string& path);

// The contents of `path`, decompressed when it is gzip-compressed (its name ends
// in ".gz" or it starts with the gzip magic bytes 1f 8b).
std::vector<uint8_t> read_file_bytes(const std::string& path);

}  // namespace tutorial
