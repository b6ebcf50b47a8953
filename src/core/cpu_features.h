// What the CPU offers for bfloat16 math, read from its feature flags, so that
// --amp can say when it would be much slower than float32 (train/fast_path.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace tutorial {

// The flags of the first "flags" line (x86) or "Features" line (Arm) of
// /proc/cpuinfo's text: {"fpu", "avx2", "avx512_bf16", ...}; nullopt if none.
std::optional<std::vector<std::string>> parse_cpu_flags(const std::string& cpuinfo);

// This CPU's flags: those of TUTORIAL_CPU_FLAGS (space-separated) where it is
// set, which lets tests stand in for another CPU; else /proc/cpuinfo's;
// nullopt where neither can be read.
std::optional<std::vector<std::string>> this_cpu_flags();

// bf16 arithmetic in hardware: AVX512-BF16 or AMX-BF16 (x86), BF16 (Arm).
bool has_native_bf16(const std::vector<std::string>& cpu_flags);

// Whether LibTorch's bf16 kernels are fast here: with native bf16, or with
// AVX-512 (BW, VL, DQ), where oneDNN widens bf16 to float32 in registers
// (measured at float32's speed for ResNet-20). Without either, LibTorch
// computes bf16 in generic loops: 5-15x slower than float32.
bool has_fast_bf16_kernels(const std::vector<std::string>& cpu_flags);

}  // namespace tutorial
