#include "train/pickle_check.h"

#include "core/errors.h"

#include <cstring>
#include <string_view>
#include <vector>

namespace tutorial {
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

// What an opcode does to the stack: it needs `needs` items above the last
// mark and adds `adds` (negative: removes). A `to_mark` opcode first takes
// every item down to the last mark and the mark, then needs and adds as
// above. `unknown`: one this scan leaves to the unpickler.
struct StackEffect {
  int needs = 0, adds = 0;
  bool to_mark = false, unknown = false;
};

StackEffect stack_effect(uint8_t opcode) {
  switch (opcode) {
    case 0x80: case 0x95:  // PROTO, FRAME
      return {0, 0};
    case 'p': case 'q': case 'r': case 0x94:  // PUT, BINPUT, LONG_BINPUT, MEMOIZE
    case 'Q': case 0x85:                      // BINPERSID, TUPLE1
      return {1, 0};
    case '0':  // POP
      return {1, -1};
    case '2':  // DUP
      return {1, 1};
    case 'a': case 'b': case 'R': case 0x81: case 0x86: case 0x93:
      return {2, -1};  // APPEND, BUILD, REDUCE, NEWOBJ, TUPLE2, STACK_GLOBAL
    case 's': case 0x87: case 0x92:
      return {3, -2};  // SETITEM, TUPLE3, NEWOBJ_EX
    case 't': case 'l': case 'd': case 0x91:  // TUPLE, LIST, DICT, FROZENSET
      return {0, 1, true};
    case 'e': case 'u': case 0x90:  // APPENDS, SETITEMS, ADDITEMS: into the item below the mark
      return {1, 0, true};
    case '1':  // POP_MARK
      return {0, 0, true};
    case 'I': case 'J': case 'K': case 'M': case 'L': case 0x8a: case 0x8b: case 'F': case 'G':
    case 'S': case 'T': case 'U': case 'V': case 'X': case 0x8c: case 0x8d: case 'B': case 'C':
    case 0x8e: case 0x96: case 'N': case 0x88: case 0x89: case ']': case ')': case '}':
    case 0x8f: case 'c': case 'g': case 'h': case 'j': case 'P': case 0x82: case 0x83: case 0x84:
      return {0, 1};  // a value, an empty container, a global, a memo entry
    default:  // MARK and STOP are the scan's own; INST, OBJ and the rest: the unpickler's
      return {0, 0, false, true};
  }
}

// Counts the memo entries a pickle makes and refuses a PUT or GET naming one
// beyond them: LibTorch sizes its memo by the index a PUT names, and a
// LONG_BINPUT of 1.9 billion made it allocate 30 GB (found by fuzzing).
// False where the pickle ends inside the index (the unpickler judges).
bool count_memo(uint8_t opcode, const uint8_t* argument, size_t left, size_t opcode_at,
                uint64_t& memoized, const std::string& path) {
  if (opcode == 0x94) ++memoized;  // MEMOIZE
  if (opcode != 'q' && opcode != 'r' && opcode != 'h' && opcode != 'j') return true;
  const int field = opcode == 'q' || opcode == 'h' ? 1 : 4;
  if (left < static_cast<size_t>(field)) return false;
  const uint64_t index = little_endian(argument, field);
  const bool put = opcode == 'q' || opcode == 'r';
  if (put ? index > memoized : index >= memoized) {
    throw UserError(path + ": damaged: its pickle's memo index " + std::to_string(index) +
                    " at byte " + std::to_string(opcode_at) + " is beyond the " +
                    std::to_string(memoized) + " items it memoized");
  }
  if (put && index == memoized) ++memoized;
  return true;
}

}  // namespace

void check_pickle(const uint8_t* pickle, size_t size, const std::string& path) {
  std::vector<size_t> marks;  // the stack's depth at each open MARK
  size_t depth = 0;
  uint64_t memoized = 0;  // memo entries so far: picklers number them 0, 1, 2, ...
  auto above_mark = [&] { return depth - (marks.empty() ? 0 : marks.back()); };
  auto underflow = [&](uint8_t opcode, size_t at) {
    return UserError(path + ": damaged: its pickle's opcode " + std::to_string(opcode) +
                     " at byte " + std::to_string(at) + " takes items it does not hold");
  };
  size_t at = 0;
  while (at < size) {
    const size_t opcode_at = at;
    const uint8_t opcode = pickle[at++];
    if (opcode == '.') {  // STOP: the result is the item on top
      if (above_mark() < 1) throw underflow(opcode, opcode_at);
      return;
    }
    if (opcode == '(') {  // MARK
      marks.push_back(depth);
      continue;
    }
    const StackEffect effect = stack_effect(opcode);
    if (effect.unknown) return;  // the unpickler judges
    if (effect.to_mark) {
      if (marks.empty()) throw underflow(opcode, opcode_at);
      depth = marks.back();
      marks.pop_back();
    }
    if (above_mark() < static_cast<size_t>(effect.needs)) throw underflow(opcode, opcode_at);
    depth = static_cast<size_t>(static_cast<int64_t>(depth) + effect.adds);

    if (!count_memo(opcode, pickle + at, size - at, opcode_at, memoized, path)) return;

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

}  // namespace tutorial
