// IDX files (MNIST, Fashion-MNIST), raw or gzip-compressed.
#include "data/idx_format.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tutorial;
  const auto path = fuzz::write_input("input-idx3-ubyte", data, size);
  fuzz::expect_success_or_user_error([&] { load_idx_images(path); });
  return fuzz::expect_success_or_user_error([&] { load_idx_labels(path, 10); });
}
