// CIFAR-10 binary batches (the test batch; the batch names file stays absent,
// so the standard names are used).
#include "data/cifar_binary.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tutorial;
  fuzz::write_input("test_batch.bin", data, size);
  return fuzz::expect_success_or_user_error(
      [&] { load_cifar10(fuzz::scratch_folder().string(), Split::kTest); });
}
