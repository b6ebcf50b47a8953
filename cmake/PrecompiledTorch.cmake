# One precompiled <torch/torch.h> for the whole project: the first target
# builds it, the others reuse it (every target compiles with the same flags).
#
# Only the files that include LibTorch get it. Loading it costs about 4 s a
# file, while a file of ours that includes no LibTorch header (the launcher
# variables, the console, gzip, ...) compiles in under 1 s without it: the four
# stages build in 141 s with it on every file, 121 s with it on none (2 cores).

# Sets `out_var` to TRUE when `file` includes a LibTorch header (<torch/...>,
# <ATen/...>), itself or through a header of ours. A header found nowhere
# counts as including LibTorch: the precompiled header is the safe side.
function(tutorial_includes_torch file out_var)
  get_property(known GLOBAL PROPERTY "tutorial_includes_torch:${file}" SET)
  if(known)
    get_property(result GLOBAL PROPERTY "tutorial_includes_torch:${file}")
    set(${out_var} ${result} PARENT_SCOPE)
    return()
  endif()
  set_property(GLOBAL PROPERTY "tutorial_includes_torch:${file}" FALSE)  # ends include cycles
  set(result FALSE)
  get_filename_component(file_dir "${file}" DIRECTORY)
  file(STRINGS "${file}" includes REGEX "^[ \t]*#[ \t]*include")
  foreach(line IN LISTS includes)
    if(line MATCHES "<(torch|ATen)/")
      set(result TRUE)
    elseif(line MATCHES "\"([^\"]+)\"")
      set(header "${CMAKE_MATCH_1}")
      set(found "")
      foreach(dir "${file_dir}" "${PROJECT_SOURCE_DIR}/src" "${PROJECT_BINARY_DIR}/generated"
          "${PROJECT_SOURCE_DIR}/tests/support")
        if(NOT found AND EXISTS "${dir}/${header}")
          set(found "${dir}/${header}")
        endif()
      endforeach()
      if(found)
        tutorial_includes_torch("${found}" result)
      else()
        set(result TRUE)
      endif()
    endif()
    if(result)
      break()
    endif()
  endforeach()
  set_property(GLOBAL PROPERTY "tutorial_includes_torch:${file}" ${result})
  set(${out_var} ${result} PARENT_SCOPE)
endfunction()

# Call in the folder that creates `target`, after its sources are listed.
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
  get_target_property(sources ${target} SOURCES)
  foreach(source IN LISTS sources)
    get_filename_component(path "${source}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    if(path MATCHES "\\.cpp$" AND EXISTS "${path}")
      tutorial_includes_torch("${path}" heavy)
      if(NOT heavy)
        set_source_files_properties("${source}" PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
      endif()
    endif()
  endforeach()
endfunction()
