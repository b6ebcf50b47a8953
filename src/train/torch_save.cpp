#include "train/torch_save.h"

#include "core/errors.h"
#include "train/pickle_check.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/import_read.h>
#include <torch/csrc/jit/serialization/pickler.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace tutorial {

std::vector<char> torch_save_bytes(const c10::IValue& value) {
  std::vector<char> pickle;
  // LibTorch's pickle_save, less the type tags (the last argument).
  torch::jit::Pickler pickler(
      [&](const char* bytes, size_t size) { pickle.insert(pickle.end(), bytes, bytes + size); },
      /*tensor_table=*/nullptr, /*type_renamer=*/nullptr, /*memoized_class_types=*/nullptr,
      /*get_tensor_id=*/nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(value);
  pickler.stop();

  std::vector<char> archive;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t size) {
    const char* bytes = static_cast<const char*>(data);
    archive.insert(archive.end(), bytes, bytes + size);
    return size;
  });
  torch::jit::writeArchiveAndTensors("data", pickle.data(), pickle.size(), pickler.tensorData(),
                                     writer);
  writer.writeEndOfFile();
  return archive;
}

namespace {

// Every pickle of the archive `reader` reads, checked (train/pickle_check.h).
void check_pickles(caffe2::serialize::PyTorchStreamReader& reader, const std::string& path) {
  for (const auto& name : reader.getAllRecords()) {
    if (name.size() < 4 || name.compare(name.size() - 4, 4, ".pkl") != 0) continue;
    const auto [pickle, size] = reader.getRecord(name);
    check_pickle(static_cast<const uint8_t*>(pickle.get()), size, path);
  }
}

// LibTorch 1.13 builds a tensor of whatever sizes, strides and offset the
// pickle names over a storage record of any length: reading it then reads
// past the storage (found by fuzzing). Throws UserError if one of `value`'s
// tensors reaches beyond its storage.
void check_tensors_fit(const c10::IValue& value, const std::string& path) {
  if (value.isTensor()) {
    const auto& tensor = value.toTensor();
    if (!tensor.defined() || tensor.numel() == 0) return;
    // Sizes and strides of any magnitude: each product and sum checked, so
    // one that overflows is refused instead of wrapping into a small number.
    const auto overflow = [&] {
      return UserError(path + ": damaged: a tensor reaches beyond 2^63 elements");
    };
    if (tensor.storage_offset() < 0) throw UserError(path + ": damaged: a negative storage offset");
    int64_t last = tensor.storage_offset();  // the furthest element it reaches
    for (int64_t d = 0; d < tensor.dim(); ++d) {
      if (tensor.stride(d) < 0) throw UserError(path + ": damaged: a tensor with a negative stride");
      int64_t reach = 0;
      if (__builtin_mul_overflow(tensor.size(d) - 1, tensor.stride(d), &reach) ||
          __builtin_add_overflow(last, reach, &last)) {
        throw overflow();
      }
    }
    uint64_t needed = 0;
    if (__builtin_mul_overflow(static_cast<uint64_t>(last) + 1,
                               static_cast<uint64_t>(tensor.element_size()), &needed)) {
      throw overflow();
    }
    if (needed > tensor.storage().nbytes() || tensor.storage().data() == nullptr) {
      throw UserError(path + ": damaged: a tensor needs " + std::to_string(needed) +
                      " bytes of a storage of " + std::to_string(tensor.storage().nbytes()));
    }
  } else if (value.isGenericDict()) {
    for (const auto& entry : value.toGenericDict()) {
      check_tensors_fit(entry.key(), path);
      check_tensors_fit(entry.value(), path);
    }
  } else if (value.isList()) {
    for (const auto& item : value.toListRef()) check_tensors_fit(item, path);
  } else if (value.isTuple()) {
    for (const auto& item : value.toTupleRef().elements()) check_tensors_fit(item, path);
  }
}

}  // namespace

c10::IValue read_torch_file(const std::string& path, const std::string& failure) {
  // A file stream, not torch::pickle_load's buffer: LibTorch 1.13 reads a
  // damaged zip directory's offsets past the end of that buffer (found by
  // fuzzing, under AddressSanitizer); reads from a stream fail instead.
  std::ifstream stream(path, std::ios::binary);
  if (!stream) throw UserError(path + ": cannot read (" + std::strerror(errno) + ")");
  const auto failed = [&](const std::string& why) {
    return UserError(path + ": " + failure + " (" + first_line(why) + ")");
  };
  try {
    caffe2::serialize::PyTorchStreamReader reader(&stream);
    check_pickles(reader, path);
    auto value = torch::jit::readArchiveAndTensors(
        "data", /*pickle_prefix=*/"", /*tensor_prefix=*/"", /*type_resolver=*/c10::nullopt,
        /*obj_loader=*/c10::nullopt, /*device=*/c10::nullopt, reader);
    check_tensors_fit(value, path);
    return value;
  } catch (const UserError&) {
    throw;
  } catch (const c10::Error& e) {
    throw failed(e.what_without_backtrace());
  } catch (const std::exception& e) {  // LibTorch's unpickler throws std::runtime_error too
    throw failed(e.what());
  }
}

void load_archive_bytes(torch::serialize::InputArchive& archive, const torch::Tensor& bytes,
                        c10::optional<c10::Device> device, const std::string& path,
                        const std::string& failure) {
  const auto failed = [&](const std::string& why) {
    return UserError(path + ": " + failure + " (" + first_line(why) + ")");
  };
  try {
    const auto contiguous = bytes.contiguous();
    const std::string copy(reinterpret_cast<const char*>(contiguous.data_ptr<uint8_t>()),
                           static_cast<size_t>(contiguous.numel()));
    {
      std::istringstream stream(copy);
      caffe2::serialize::PyTorchStreamReader reader(&stream);
      check_pickles(reader, path);
    }
    // A stream, not load_from's buffer: LibTorch 1.13 reads a damaged zip
    // directory's offsets past the end of that buffer (found by fuzzing).
    std::istringstream stream(copy);
    archive.load_from(stream, device);
  } catch (const UserError&) {
    throw;
  } catch (const c10::Error& e) {
    throw failed(e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw failed(e.what());
  }
}

}  // namespace tutorial
