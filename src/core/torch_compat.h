// Every difference between LibTorch 1.13 and 2.x that this project meets,
// in one place, so the rest of the code is written once.
#pragma once

#include <torch/version.h>

#define TUTORIAL_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) ||           \
   (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

// c10::optional / c10::nullopt name std::optional in 2.x and a look-alike in
// 1.13; both spellings work with either, so the code uses c10:: at LibTorch
// call sites and std:: elsewhere.

// c10d: the collectives of a process group live in ProcessGroup in 1.13 and
// in Backend (which ProcessGroupGloo/NCCL derive from) since 2.0.
#ifdef TUTORIAL_COMPAT_C10D
#if TUTORIAL_TORCH_AT_LEAST(2, 0)
#include <torch/csrc/distributed/c10d/Backend.hpp>
namespace tutorial::compat {
using CollectiveGroup = c10d::Backend;
}
#else
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
namespace tutorial::compat {
using CollectiveGroup = c10d::ProcessGroup;
}
#endif
#endif
