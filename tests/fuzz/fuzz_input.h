// Shared by the libFuzzer targets: the fuzzer's bytes as a file (the parsers
// read files), and the rule every target checks: a parser either succeeds or
// throws UserError (one line for the user); anything else (another exception,
// a crash, a sanitizer report) is a bug the fuzzer reports.
#pragma once

#include "core/errors.h"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace tutorial::fuzz {

// A folder of this process's own under /tmp, created once.
inline const std::filesystem::path& scratch_folder() {
  static const std::filesystem::path folder = [] {
    auto path = std::filesystem::temp_directory_path() /
                ("tutorial_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
    return path;
  }();
  return folder;
}

inline std::string write_input(const std::string& name, const uint8_t* data, size_t size) {
  const auto path = scratch_folder() / name;
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(data),
                                              static_cast<std::streamsize>(size));
  return path.string();
}

template <typename Parse>
int expect_success_or_user_error(Parse parse) {
  try {
    parse();
  } catch (const UserError&) {
  }
  return 0;
}

}  // namespace tutorial::fuzz
