#include "core/host_memory.h"

#include <cstdlib>  // defines __GLIBC__ (through <features.h>), tested below

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace tutorial {

void keep_freed_host_memory_for_reuse() {
#if defined(__GLIBC__)
  // 32 MB is the largest mmap threshold glibc accepts on 64-bit machines.
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
#endif
}

}  // namespace tutorial
