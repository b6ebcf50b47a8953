# LibTorch and a C++ library built with different _GLIBCXX_USE_CXX11_ABI
# (PyPI's torch 1.x used the old ABI, Debian's packages the new one) link with
# a wall of "undefined reference to ...std::__cxx11::basic_string..." errors.
# tutorial_check_cxx11_abi(<imported target> <abi 0|1> <what> <fix>) tries to
# link a call with that ABI, and stops configuring with one message if it fails.
function(tutorial_check_cxx11_abi target abi what fix)
  set(dir ${CMAKE_BINARY_DIR}/CMakeFiles/tutorial_abi_check_${abi})
  # testing::TempDir() returns a std::string, whose ABI is in the symbol's name.
  file(WRITE ${dir}/abi_check.cpp
    "#include <gtest/gtest.h>\nint main() { return testing::TempDir().empty() ? 1 : 0; }\n")
  try_compile(linked ${dir} ${dir}/abi_check.cpp
    COMPILE_DEFINITIONS -D_GLIBCXX_USE_CXX11_ABI=${abi}
    LINK_LIBRARIES ${target}
    CXX_STANDARD 17
    OUTPUT_VARIABLE output)
  if(NOT linked)
    message(FATAL_ERROR "${what} was built with another _GLIBCXX_USE_CXX11_ABI than "
      "LibTorch (${abi}), so they cannot be linked together: ${fix}")
  endif()
endfunction()

# LibTorch's ABI, from the flags its package gives (TORCH_CXX_FLAGS); empty if it says none.
function(tutorial_torch_cxx11_abi out_var)
  set(abi "")
  if(TORCH_CXX_FLAGS MATCHES "_GLIBCXX_USE_CXX11_ABI=([01])")
    set(abi ${CMAKE_MATCH_1})
  endif()
  set(${out_var} "${abi}" PARENT_SCOPE)
endfunction()
