// Reading the CPU's feature flags and deciding from them whether bf16 math
// (--amp) is fast: with flag lists of CPUs that are not this one.
#include "core/cpu_features.h"
#include "environment_variable.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

using namespace tutorial;

namespace {

using Flags = std::vector<std::string>;

// Excerpts of /proc/cpuinfo: an x86 core (with the "vmx flags" and "bugs"
// lines that are not its flags) and an Arm Neoverse V1 core.
const char* const kX86CpuInfo =
    "processor\t: 0\n"
    "model name\t: AMD EPYC\n"
    "flags\t\t: fpu sse2 avx2 fma avx512f avx512bw avx512vl avx512dq avx512_bf16\n"
    "vmx flags\t: vnmi\n"
    "bugs\t\t: sysret_ss_attrs\n"
    "\n"
    "processor\t: 1\n"
    "flags\t\t: fpu\n";
const char* const kArmCpuInfo =
    "processor\t: 0\n"
    "BogoMIPS\t: 2100.00\n"
    "Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 sve bf16 i8mm\n"
    "CPU implementer\t: 0x41\n";

// TUTORIAL_CPU_FLAGS set to `value` (nullptr: unset) while alive.
struct CpuFlagsVariable : testdata::ScopedEnvironmentVariable {
  explicit CpuFlagsVariable(const char* value)
      : ScopedEnvironmentVariable("TUTORIAL_CPU_FLAGS", value) {}
};

}  // namespace

TEST(CpuFeatures, ReadsTheFirstFlagsLineOnX86AndTheFeaturesLineOnArm) {
  EXPECT_EQ(parse_cpu_flags(kX86CpuInfo),
            (Flags{"fpu", "sse2", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq",
                   "avx512_bf16"}));
  const auto arm = parse_cpu_flags(kArmCpuInfo);
  ASSERT_TRUE(arm);
  EXPECT_EQ(arm->size(), 11u);
  EXPECT_EQ(arm->at(9), "bf16");
  EXPECT_EQ(parse_cpu_flags("processor\t: 0\ncpu\t\t: POWER9\n"), std::nullopt) << "no flags line";
  EXPECT_EQ(parse_cpu_flags(""), std::nullopt);
}

TEST(CpuFeatures, NativeBf16IsAvx512Bf16OrAmxBf16OrArmsBf16) {
  EXPECT_TRUE(has_native_bf16(*parse_cpu_flags(kX86CpuInfo)));
  EXPECT_TRUE(has_native_bf16({"avx2", "amx_tile", "amx_bf16"}));
  EXPECT_TRUE(has_native_bf16(*parse_cpu_flags(kArmCpuInfo)));
  EXPECT_FALSE(has_native_bf16({"avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq"}));
  EXPECT_FALSE(has_native_bf16({"avx2", "amx_tile"})) << "tile registers, no bf16 arithmetic";
  EXPECT_FALSE(has_native_bf16({"fp", "asimd", "sve"}));
  EXPECT_FALSE(has_native_bf16({}));
}

TEST(CpuFeatures, FastBf16KernelsNeedNativeBf16OrAvx512BwVlDq) {
  EXPECT_TRUE(has_fast_bf16_kernels(*parse_cpu_flags(kX86CpuInfo)));
  EXPECT_TRUE(has_fast_bf16_kernels(*parse_cpu_flags(kArmCpuInfo)));
  // Skylake-SP or Cascade Lake: oneDNN widens bf16 to float32 in AVX-512 registers.
  EXPECT_TRUE(has_fast_bf16_kernels({"avx2", "avx512f", "avx512dq", "avx512bw", "avx512vl"}));
  // AVX2 only (Zen 1-3, Intel client chips): generic loops.
  EXPECT_FALSE(has_fast_bf16_kernels({"fpu", "sse2", "avx2", "fma"}));
  EXPECT_FALSE(has_fast_bf16_kernels({"avx2", "avx512f", "avx512bw", "avx512vl"}))
      << "no avx512dq: LibTorch does not hand bf16 to oneDNN";
  EXPECT_FALSE(has_fast_bf16_kernels({"fp", "asimd"}));
}

TEST(CpuFeatures, TheTestVariableStandsInForThisCpusFlags) {
  {
    CpuFlagsVariable injected("avx2  fma");
    EXPECT_EQ(this_cpu_flags(), (Flags{"avx2", "fma"}));
  }
  {
    CpuFlagsVariable empty("");
    EXPECT_EQ(this_cpu_flags(), Flags{}) << "set but empty: a CPU without any flags";
  }
  CpuFlagsVariable unset(nullptr);
  if (!std::ifstream("/proc/cpuinfo")) GTEST_SKIP() << "no /proc/cpuinfo";
  const auto flags = this_cpu_flags();
  ASSERT_TRUE(flags) << "/proc/cpuinfo has a flags (x86) or Features (Arm) line";
#if defined(__x86_64__)
  EXPECT_NE(std::find(flags->begin(), flags->end(), "sse2"), flags->end()) << "every x86-64 has it";
#endif
}
