# Third-party packages besides LibTorch. Required: cxxopts (command lines).
# Optional, each reported at configure time: zlib (.gz files), libjpeg and
# libpng (image folders), GoogleTest (tests).

find_path(CXXOPTS_INCLUDE_DIR cxxopts.hpp
  HINTS ${CXXOPTS_ROOT} $ENV{CXXOPTS_ROOT} PATH_SUFFIXES include)
if(NOT CXXOPTS_INCLUDE_DIR)
  message(FATAL_ERROR "cxxopts.hpp not found: install libcxxopts-dev "
    "or pass -DCXXOPTS_INCLUDE_DIR=<folder holding cxxopts.hpp>")
endif()
add_library(tutorial_cxxopts INTERFACE)
target_include_directories(tutorial_cxxopts SYSTEM INTERFACE ${CXXOPTS_INCLUDE_DIR})

find_package(ZLIB QUIET)
find_package(JPEG QUIET)
find_package(PNG QUIET)
set(TUTORIAL_WITH_ZLIB ${ZLIB_FOUND})
set(TUTORIAL_WITH_JPEG ${JPEG_FOUND})
set(TUTORIAL_WITH_PNG ${PNG_FOUND})

# GoogleTest: its sources when GTEST_SOURCE_DIR names them (e.g. /usr/src/googletest,
# built here with LibTorch's flags), else an installed package, which must
# have been built with LibTorch's C++ ABI (cmake/AbiCheck.cmake).
if(TUTORIAL_BUILD_TESTS)
  if(GTEST_SOURCE_DIR AND EXISTS "${GTEST_SOURCE_DIR}/CMakeLists.txt")
    set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
    set(BUILD_GMOCK OFF CACHE BOOL "" FORCE)
    add_subdirectory(${GTEST_SOURCE_DIR} ${CMAKE_BINARY_DIR}/googletest EXCLUDE_FROM_ALL)
    add_library(GTest::gtest ALIAS gtest)
    add_library(GTest::gtest_main ALIAS gtest_main)
    set(GTest_FOUND TRUE)
  else()
    find_package(GTest QUIET)
    tutorial_torch_cxx11_abi(_torch_abi)
    if(GTest_FOUND AND NOT _torch_abi STREQUAL "")
      set(TUTORIAL_GTEST_ABI ${_torch_abi})  # checked: for the check's own tests
      tutorial_check_cxx11_abi(GTest::gtest ${_torch_abi} "GoogleTest (${GTEST_LIBRARY}${GTest_DIR})"
        "pass -DGTEST_SOURCE_DIR=/usr/src/googletest (its sources, built with LibTorch's ABI), "
        "or -DTUTORIAL_BUILD_TESTS=OFF")
    endif()
  endif()
endif()

message(STATUS "  zlib (.gz): ${TUTORIAL_WITH_ZLIB}")
message(STATUS "  libjpeg:    ${TUTORIAL_WITH_JPEG}")
message(STATUS "  libpng:     ${TUTORIAL_WITH_PNG}")
message(STATUS "  cxxopts:    ${CXXOPTS_INCLUDE_DIR}")
