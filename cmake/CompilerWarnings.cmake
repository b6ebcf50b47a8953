# Warnings for the project's own targets (LibTorch headers are included as
# system headers, so their warnings stay out of our logs).
function(tutorial_set_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-unused-parameter)
    # A local that hides another local: GCC's and clang's spellings.
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      target_compile_options(${target} PRIVATE -Wshadow=local)
    else()
      target_compile_options(${target} PRIVATE -Wshadow-uncaptured-local)
    endif()
    if(TUTORIAL_WARNINGS_AS_ERRORS)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()
endfunction()

# One precompiled <torch/torch.h> for the whole project: the first target
# builds it, the others reuse it (every target compiles with the same flags).
function(tutorial_use_precompiled_torch target)
  if(NOT TUTORIAL_PRECOMPILED_HEADERS)
    return()
  endif()
  if(NOT TARGET tutorial_pch)
    add_library(tutorial_pch STATIC ${PROJECT_SOURCE_DIR}/cmake/pch_anchor.cpp)
    target_link_libraries(tutorial_pch PUBLIC tutorial::torch)
    tutorial_set_warnings(tutorial_pch)
    target_precompile_headers(tutorial_pch PRIVATE <torch/torch.h>)
  endif()
  target_precompile_headers(${target} REUSE_FROM tutorial_pch)
endfunction()
