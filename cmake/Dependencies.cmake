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

# GoogleTest: an installed package, or its sources (GTEST_SOURCE_DIR, e.g.
# /usr/src/googletest carried to a machine that lacks the package).
if(TUTORIAL_BUILD_TESTS)
  find_package(GTest QUIET)
  if(NOT GTest_FOUND AND GTEST_SOURCE_DIR AND EXISTS "${GTEST_SOURCE_DIR}/CMakeLists.txt")
    set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
    set(BUILD_GMOCK OFF CACHE BOOL "" FORCE)
    add_subdirectory(${GTEST_SOURCE_DIR} ${CMAKE_BINARY_DIR}/googletest EXCLUDE_FROM_ALL)
    add_library(GTest::gtest ALIAS gtest)
    add_library(GTest::gtest_main ALIAS gtest_main)
    set(GTest_FOUND TRUE)
  endif()
endif()

message(STATUS "  zlib (.gz): ${TUTORIAL_WITH_ZLIB}")
message(STATUS "  libjpeg:    ${TUTORIAL_WITH_JPEG}")
message(STATUS "  libpng:     ${TUTORIAL_WITH_PNG}")
message(STATUS "  cxxopts:    ${CXXOPTS_INCLUDE_DIR}")
