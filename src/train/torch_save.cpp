#include "train/torch_save.h"

#include "core/errors.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/import_read.h>
#include <torch/csrc/jit/serialization/pickler.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string_view>

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

uint64_t little_endian(const uint8_t* bytes, int size) {
  uint64_t value = 0;
  for (int i = size - 1; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

// The size of the length field of an opcode followed by that many bytes
// (strings, bytes, long integers), else 0.
int length_field_size(uint8_t opcode) {
  switch (opcode) {
    case 'C': case 'U': case 0x8a: case 0x8c:  // SHORT_BINBYTES, SHORT_BINSTRING, LONG1, SHORT_BINUNICODE
      return 1;
    case 'B': case 'T': case 'X': case 0x8b:  // BINBYTES, BINSTRING, BINUNICODE, LONG4
      return 4;
    case 0x8d: case 0x8e: case 0x96:  // BINUNICODE8, BINBYTES8, BYTEARRAY8
      return 8;
    default:
      return 0;
  }
}

// The size of an opcode's fixed argument; -1: a line argument, -2: two lines
// (GLOBAL, INST); -3: an opcode this scan does not know.
int fixed_argument_size(uint8_t opcode) {
  static constexpr std::string_view kNone = "(.012NRab]d}elost)u\x81\x85\x86\x87\x88\x89Q\x8f\x90\x91\x92\x93\x94\x97\x98";
  switch (opcode) {
    case 'K': case 'q': case 'h': case 0x80: case 0x82:  // BININT1, BINPUT, BINGET, PROTO, EXT1
      return 1;
    case 'M': case 0x83:  // BININT2, EXT2
      return 2;
    case 'J': case 'r': case 'j': case 0x84:  // BININT, LONG_BINPUT, LONG_BINGET, EXT4
      return 4;
    case 'G': case 0x95:  // BINFLOAT, FRAME
      return 8;
    case 'I': case 'L': case 'F': case 'S': case 'V': case 'P': case 'p': case 'g':
      return -1;
    case 'c': case 'i':
      return -2;
    default:
      return kNone.find(static_cast<char>(opcode)) != std::string_view::npos ? 0 : -3;
  }
}


// LibTorch's unpickler allocates and fills whatever length a string or bytes
// item claims before finding that the data is not there: a 1 KB file claiming
// 4 GB made it use 4.4 GB (found by fuzzing). Throws UserError naming `path`
// if an item of `pickle` claims more bytes than are left; opcodes this scan
// does not know end it, for the unpickler to judge.
void check_pickle_lengths(const uint8_t* pickle, size_t size, const std::string& path) {
  size_t at = 0;
  while (at < size) {
    const uint8_t opcode = pickle[at++];
    if (opcode == '.') return;  // STOP
    if (const int field = length_field_size(opcode)) {
      if (size - at < static_cast<size_t>(field)) return;
      const uint64_t length = little_endian(pickle + at, field);
      at += field;
      if (length > size - at) {
        throw UserError(path + ": damaged: an item claims " + std::to_string(length) +
                        " bytes where " + std::to_string(size - at) + " are left");
      }
      at += length;
      continue;
    }
    const int argument = fixed_argument_size(opcode);
    if (argument == -3) return;  // unknown: the unpickler judges
    for (int lines = argument < 0 ? -argument : 0; lines > 0; --lines) {
      const void* end = std::memchr(pickle + at, '\n', size - at);
      if (!end) return;
      at = static_cast<size_t>(static_cast<const uint8_t*>(end) - pickle) + 1;
    }
    if (argument > 0) at += static_cast<size_t>(argument);
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
    if (reader.hasRecord("data.pkl")) {
      const auto [pickle, size] = reader.getRecord("data.pkl");
      check_pickle_lengths(static_cast<const uint8_t*>(pickle.get()), size, path);
    }
    return torch::jit::readArchiveAndTensors("data", /*pickle_prefix=*/"", /*tensor_prefix=*/"",
                                             /*type_resolver=*/c10::nullopt,
                                             /*obj_loader=*/c10::nullopt, /*device=*/c10::nullopt,
                                             reader);
  } catch (const UserError&) {
    throw;
  } catch (const c10::Error& e) {
    throw failed(e.what_without_backtrace());
  } catch (const std::exception& e) {  // LibTorch's unpickler throws std::runtime_error too
    throw failed(e.what());
  }
}

}  // namespace tutorial
