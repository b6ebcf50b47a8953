// Reading multi-byte integers stored big-endian (the IDX format's byte order).
#pragma once

#include <cstdint>

namespace tutorial {

inline uint32_t read_big_endian_u32(const uint8_t* bytes) {
  return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) |
         uint32_t{bytes[3]};
}

}  // namespace tutorial
