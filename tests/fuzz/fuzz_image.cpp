// Images of an image folder: JPEG and PNG, told apart by their first bytes.
#include "data/image_decode.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tutorial;
  const std::vector<uint8_t> bytes(data, data + size);
  return fuzz::expect_success_or_user_error([&] { decode_image(bytes, "input"); });
}
