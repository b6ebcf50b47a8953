# -DTUTORIAL_SANITIZE=ON: everything built here (not LibTorch itself) with
# AddressSanitizer and UndefinedBehaviorSanitizer; any report stops the
# program. vptr checks stay off: they misfire on classes whose type
# information lives in the uninstrumented LibTorch.
option(TUTORIAL_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
if(TUTORIAL_SANITIZE)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    message(FATAL_ERROR "TUTORIAL_SANITIZE needs GCC or Clang")
  endif()
  set(tutorial_sanitizer_flags -fsanitize=address,undefined -fno-sanitize=vptr
    -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_compile_options(${tutorial_sanitizer_flags})
  add_link_options(${tutorial_sanitizer_flags})
  message(STATUS "  sanitizers: address, undefined")
endif()

# -DTUTORIAL_FUZZ=ON (clang only): libFuzzer targets in tests/fuzz, with
# everything instrumented for coverage and checked by the sanitizers, so the
# same build also runs the unit tests under the sanitizers (scripts/sanitize.sh).
option(TUTORIAL_FUZZ "Build the libFuzzer targets (clang)" OFF)
if(TUTORIAL_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "TUTORIAL_FUZZ needs clang: -DCMAKE_CXX_COMPILER=clang++")
  endif()
  set(tutorial_fuzz_flags -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=vptr
    -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_compile_options(${tutorial_fuzz_flags})
  add_link_options(-fsanitize=address,undefined)
  message(STATUS "  fuzz targets: tests/fuzz")
endif()
