#include "core/cpu_features.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace tutorial {
namespace {

std::vector<std::string> split_words(const std::string& text) {
  std::istringstream words(text);
  std::vector<std::string> result;
  for (std::string word; words >> word;) result.push_back(word);
  return result;
}

bool has_flag(const std::vector<std::string>& flags, const std::string& flag) {
  return std::find(flags.begin(), flags.end(), flag) != flags.end();
}

}  // namespace

std::optional<std::vector<std::string>> parse_cpu_flags(const std::string& cpuinfo) {
  std::istringstream lines(cpuinfo);
  for (std::string line; std::getline(lines, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const auto key = split_words(line.substr(0, colon));
    if (key.size() == 1 && (key[0] == "flags" || key[0] == "Features")) {
      return split_words(line.substr(colon + 1));
    }
  }
  return std::nullopt;
}

std::optional<std::vector<std::string>> this_cpu_flags() {
  if (const char* injected = std::getenv("TUTORIAL_CPU_FLAGS")) return split_words(injected);
  std::ifstream file("/proc/cpuinfo");
  if (!file) return std::nullopt;
  std::stringstream text;
  text << file.rdbuf();
  return parse_cpu_flags(text.str());
}

bool has_native_bf16(const std::vector<std::string>& cpu_flags) {
  // amx_tile alone is the tile registers; amx_bf16 is their bf16 arithmetic.
  return has_flag(cpu_flags, "avx512_bf16") || has_flag(cpu_flags, "amx_bf16") ||
         has_flag(cpu_flags, "bf16");
}

bool has_fast_bf16_kernels(const std::vector<std::string>& cpu_flags) {
  // LibTorch hands bf16 convolutions and matrix products to oneDNN only where
  // these three are present (mkldnn_bf16_device_check), native bf16 or not.
  const bool avx512_core = has_flag(cpu_flags, "avx512bw") && has_flag(cpu_flags, "avx512vl") &&
                           has_flag(cpu_flags, "avx512dq");
  return has_native_bf16(cpu_flags) || avx512_core;
}

}  // namespace tutorial
