// A check of a torch file's pickle before LibTorch's unpickler sees it.
// LibTorch 1.13's unpickler trusts what it reads; fuzzing found it
// - allocating and filling whatever length a string claims (4 GB for a 1 KB
//   file), and
// - popping items its stack does not hold (BUILD on an empty stack), then
//   freeing memory it never allocated, and
// - sizing its memo by whatever index a PUT names (30 GB for one).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace tutorial {

// Throws UserError "PATH: damaged: ..." if an item of `pickle` claims more
// bytes than are left, an opcode takes more items than the stack holds above
// the last mark (as Python's unpickler counts them), or a memo index skips
// ahead of the entries memoized so far (picklers number them in order).
// Opcodes the scan does not know end it, for the unpickler to judge.
void check_pickle(const uint8_t* pickle, size_t size, const std::string& path);

}  // namespace tutorial
