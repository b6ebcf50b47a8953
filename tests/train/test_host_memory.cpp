// Host memory reuse: a freed block of a few MB is kept for the next one
// instead of being mapped afresh (core/host_memory.h).
#include "core/host_memory.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define TUTORIAL_UNDER_ADDRESS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TUTORIAL_UNDER_ADDRESS_SANITIZER 1
#endif
#endif
#ifndef TUTORIAL_UNDER_ADDRESS_SANITIZER
#define TUTORIAL_UNDER_ADDRESS_SANITIZER 0
#endif

TEST(HostMemory, BlocksOfAFewMegabytesComeFromTheHeapNotFreshMappings) {
#if !defined(__GLIBC__) || !(__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  GTEST_SKIP() << "needs glibc 2.33's mallinfo2";
#elif TUTORIAL_UNDER_ADDRESS_SANITIZER
  GTEST_SKIP() << "AddressSanitizer replaces malloc (mallopt and mallinfo2 do not see it)";
#else
  tutorial::keep_freed_host_memory_for_reuse();
  const size_t bytes = 8u << 20;  // 8 MB: mapped afresh under glibc's defaults
  const size_t mapped_before = mallinfo2().hblkhd;
  void* block = std::malloc(bytes);
  ASSERT_NE(block, nullptr);
  std::memset(block, 1, bytes);
  EXPECT_LT(mallinfo2().hblkhd, mapped_before + bytes) << "the block was mapped afresh";
  std::free(block);
  // Freed, it stays in the heap for the next block.
  EXPECT_GE(mallinfo2().fordblks, bytes);
#endif
}
