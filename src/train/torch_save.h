// Bytes in the file format of Python's torch.save, for values made of dicts,
// strings, numbers and tensors.
#pragma once

#include <ATen/core/ivalue.h>
#include <torch/serialize/input-archive.h>

#include <string>
#include <vector>

namespace tutorial {

// What torch.save(value, path) would write: a zip archive with data.pkl and
// one record per tensor storage. Unlike LibTorch's torch::pickle_save, dicts
// carry no type tag (the global torch.jit._pickle.restore_type_tag), which
// Python's torch.load(path, weights_only=True) refuses; that is its default
// since torch 2.6. torch::pickle_load reads these files as well.
std::vector<char> torch_save_bytes(const c10::IValue& value);

// Reads a file that torch.save or torch_save_bytes wrote, as
// torch::pickle_load does, but guarded against what fuzzing found it doing
// with damaged files: reading past its buffer, filling gigabytes a tiny file
// claims, freeing memory it never allocated, throwing std::runtime_error
// (train/pickle_check.h). Every failure is a one-line UserError: "PATH:
// cannot read (...)", "PATH: damaged: ...", or "PATH: FAILURE (LibTorch's
// first line)".
c10::IValue read_torch_file(const std::string& path, const std::string& failure);

// Loads `archive` from `bytes` (uint8) that a torch::serialize::OutputArchive
// wrote (a checkpoint holds the optimizer's state so), with read_torch_file's
// guards; failures are "PATH: FAILURE (...)" or "PATH: damaged: ...".
void load_archive_bytes(torch::serialize::InputArchive& archive, const torch::Tensor& bytes,
                        c10::optional<c10::Device> device, const std::string& path,
                        const std::string& failure);

}  // namespace tutorial
