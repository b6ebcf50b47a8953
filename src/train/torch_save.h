// Bytes in the file format of Python's torch.save, for values made of dicts,
// strings, numbers and tensors.
#pragma once

#include <ATen/core/ivalue.h>

#include <vector>

namespace tutorial {

// What torch.save(value, path) would write: a zip archive with data.pkl and
// one record per tensor storage. Unlike LibTorch's torch::pickle_save, dicts
// carry no type tag (the global torch.jit._pickle.restore_type_tag), which
// Python's torch.load(path, weights_only=True) refuses; that is its default
// since torch 2.6. torch::pickle_load reads these files as well.
std::vector<char> torch_save_bytes(const c10::IValue& value);

// Guards LibTorch's unpickler (torch::pickle_load), which allocates and fills
// whatever length a string or bytes item in data.pkl claims before finding
// that the data is not there: a 1 KB file claiming 4 GB made it use 4.4 GB
// (found by fuzzing). Throws UserError naming `source` if an item claims more
// bytes than data.pkl holds. A file that is no zip archive, or a pickle with
// opcodes this scan does not know, is left to pickle_load to judge.
void check_pickle_lengths(const std::vector<char>& file, const std::string& source);

// torch::pickle_load, reading the archive through a bounds-checked stream:
// LibTorch 1.13's pickle_load reads a damaged zip directory's offsets past
// the end of its buffer (found by fuzzing, under AddressSanitizer). Throws
// c10::Error or std::runtime_error for a file it cannot read.
c10::IValue pickle_load_checked(const std::vector<char>& file);

}  // namespace tutorial
