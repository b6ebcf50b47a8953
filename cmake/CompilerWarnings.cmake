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
