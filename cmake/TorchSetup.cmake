# Finds LibTorch and reports what it can do.
#
# Search order:
#   1. Torch_DIR or CMAKE_PREFIX_PATH (an unpacked official LibTorch),
#   2. the torch package of a python3 on PATH (torch.utils.cmake_prefix_path),
#   3. the system (Debian's libtorch-dev).
# Sets TUTORIAL_TORCH_VERSION, TUTORIAL_WITH_CUDA, TUTORIAL_WITH_NCCL,
# TUTORIAL_WITH_GLOO and the interface target tutorial::torch.

find_package(Torch CONFIG QUIET
  NO_SYSTEM_ENVIRONMENT_PATH NO_CMAKE_SYSTEM_PATH NO_CMAKE_PACKAGE_REGISTRY
  NO_CMAKE_SYSTEM_PACKAGE_REGISTRY)
set(_torch_origin "Torch_DIR/CMAKE_PREFIX_PATH")

if(NOT Torch_FOUND)
  find_program(TUTORIAL_PYTHON3 NAMES python3)
  if(TUTORIAL_PYTHON3)
    execute_process(
      COMMAND "${TUTORIAL_PYTHON3}" -c "import torch.utils; print(torch.utils.cmake_prefix_path)"
      OUTPUT_VARIABLE _torch_python_prefix OUTPUT_STRIP_TRAILING_WHITESPACE
      RESULT_VARIABLE _torch_python_rc ERROR_QUIET)
    if(_torch_python_rc EQUAL 0 AND EXISTS "${_torch_python_prefix}/Torch/TorchConfig.cmake")
      # TorchConfig looks for libc10 with find_library(PATHS <torch>/lib), which
      # searches the prefix path first: put this torch there, or a system
      # LibTorch's libc10 would be mixed in.
      get_filename_component(_torch_python_root "${_torch_python_prefix}/../.." ABSOLUTE)
      list(PREPEND CMAKE_PREFIX_PATH "${_torch_python_root}")
      find_package(Torch CONFIG QUIET PATHS "${_torch_python_prefix}" NO_DEFAULT_PATH)
      set(_torch_origin "python3 torch package (${TUTORIAL_PYTHON3})")
    endif()
  endif()
endif()

if(NOT Torch_FOUND)
  find_package(Torch CONFIG QUIET)
  set(_torch_origin "system")
endif()

# A later configure finds Torch through the cached Torch_DIR: keep reporting
# where the first one found it.
if(TUTORIAL_TORCH_ORIGIN AND TUTORIAL_TORCH_ORIGIN_DIR STREQUAL Torch_DIR)
  set(_torch_origin "${TUTORIAL_TORCH_ORIGIN}")
endif()
set(TUTORIAL_TORCH_ORIGIN "${_torch_origin}" CACHE INTERNAL "")
set(TUTORIAL_TORCH_ORIGIN_DIR "${Torch_DIR}" CACHE INTERNAL "")

if(NOT Torch_FOUND)
  message(FATAL_ERROR
    "LibTorch not found. Install Debian's libtorch-dev (scripts/install_deps.sh), "
    "or pass -DCMAKE_PREFIX_PATH=/path/to/libtorch, or put a python3 with torch on PATH.")
endif()

# Two LibTorch installations side by side (Debian's and an unpacked one) can
# get mixed: TorchConfig finds libc10 on the system path before its own.
if(c10_LIBRARY AND TORCH_INSTALL_PREFIX)
  get_filename_component(_torch_root "${TORCH_INSTALL_PREFIX}" ABSOLUTE)
  string(FIND "${c10_LIBRARY}" "${_torch_root}/" _c10_in_torch_root)
  if(NOT _c10_in_torch_root EQUAL 0)
    message(FATAL_ERROR "LibTorch in ${TORCH_INSTALL_PREFIX} was found, but its libc10 "
      "came from ${c10_LIBRARY}: pass -DCMAKE_PREFIX_PATH=${TORCH_INSTALL_PREFIX} "
      "(the LibTorch folder itself, not its share/cmake) in a fresh build folder")
  endif()
endif()

set(TUTORIAL_TORCH_VERSION "${Torch_VERSION}")
if(NOT TUTORIAL_TORCH_VERSION)
  set(TUTORIAL_TORCH_VERSION "unknown")
endif()
if(TUTORIAL_TORCH_VERSION VERSION_LESS 1.13)
  message(FATAL_ERROR "LibTorch ${TUTORIAL_TORCH_VERSION} is too old: 1.13 or newer is supported")
endif()

# CUDA: a CUDA LibTorch ships the torch_cuda library.
set(TUTORIAL_WITH_CUDA OFF)
if(TARGET torch_cuda OR TORCH_CUDA_LIBRARIES)
  set(TUTORIAL_WITH_CUDA ON)
endif()

# Header locations: the include directories torch exports.
get_target_property(_torch_includes torch INTERFACE_INCLUDE_DIRECTORIES)
if(NOT _torch_includes)
  set(_torch_includes ${TORCH_INCLUDE_DIRS})
endif()

# NCCL: needs a CUDA build and nccl.h (in LibTorch's include dir or the CUDA toolkit).
set(TUTORIAL_WITH_NCCL OFF)
if(TUTORIAL_WITH_CUDA)
  find_path(TUTORIAL_NCCL_INCLUDE_DIR nccl.h
    HINTS ${_torch_includes} ${CUDAToolkit_INCLUDE_DIRS} $ENV{CUDA_HOME}/include /usr/local/cuda/include)
  if(TUTORIAL_NCCL_INCLUDE_DIR)
    set(TUTORIAL_WITH_NCCL ON)
  endif()
endif()

# Gloo: pip wheels of torch link Gloo in but do not ship its headers (Debian's
# libgloo-dev does), so the C++ Gloo backend needs headers from elsewhere.
# Headers beside LibTorch's own come first. Else, for the LibTorch versions
# whose Gloo is known to be the commit of third_party/gloo (its README says
# how that was checked), those headers: a deliberate exception to "only Gloo
# beside LibTorch counts", since another Gloo's classes may not match the
# compiled library's. Any other LibTorch without them has no Gloo backend.
set(TUTORIAL_GLOO_HEADERS_FOR 2.11)
set(TUTORIAL_WITH_GLOO OFF)
set(TUTORIAL_GLOO_ORIGIN "")
find_path(TUTORIAL_GLOO_INCLUDE_DIR gloo/config.h PATHS ${_torch_includes} NO_DEFAULT_PATH)
find_path(TUTORIAL_C10D_GLOO_HEADER_DIR torch/csrc/distributed/c10d/ProcessGroupGloo.hpp
  PATHS ${_torch_includes} NO_DEFAULT_PATH)
set(_gloo_include_dir "${TUTORIAL_GLOO_INCLUDE_DIR}")
string(REGEX MATCH "^[0-9]+\\.[0-9]+" _torch_minor "${TUTORIAL_TORCH_VERSION}")
if(NOT TUTORIAL_GLOO_INCLUDE_DIR AND _torch_minor IN_LIST TUTORIAL_GLOO_HEADERS_FOR)
  set(_gloo_include_dir "${PROJECT_SOURCE_DIR}/third_party/gloo")
  set(TUTORIAL_GLOO_ORIGIN " (third_party/gloo, Gloo's headers for LibTorch ${_torch_minor})")
endif()
if(_gloo_include_dir AND TUTORIAL_C10D_GLOO_HEADER_DIR)
  set(TUTORIAL_WITH_GLOO ON)
endif()

add_library(tutorial_torch INTERFACE)
add_library(tutorial::torch ALIAS tutorial_torch)
target_link_libraries(tutorial_torch INTERFACE ${TORCH_LIBRARIES})
if(TUTORIAL_WITH_NCCL)
  target_include_directories(tutorial_torch SYSTEM INTERFACE ${TUTORIAL_NCCL_INCLUDE_DIR})
endif()
if(TUTORIAL_WITH_GLOO)
  # Only process_group.cpp includes Gloo: an installed package needs none of it.
  target_include_directories(tutorial_torch SYSTEM INTERFACE $<BUILD_INTERFACE:${_gloo_include_dir}>)
endif()

message(STATUS "LibTorch:     ${TUTORIAL_TORCH_VERSION} from ${_torch_origin} (${Torch_DIR})")
message(STATUS "  CUDA:       ${TUTORIAL_WITH_CUDA}")
message(STATUS "  NCCL:       ${TUTORIAL_WITH_NCCL}")
message(STATUS "  Gloo headers: ${TUTORIAL_WITH_GLOO}${TUTORIAL_GLOO_ORIGIN}")
