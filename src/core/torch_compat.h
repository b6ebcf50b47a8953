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

// NCCL's asynchronous error handling (a collective stuck past the timeout
// ends the process instead of hanging it): on by default since 2.0, read
// from NCCL_ASYNC_ERROR_HANDLING before.
namespace tutorial::compat {
inline constexpr bool kNcclAsyncErrorHandlingByDefault = TUTORIAL_TORCH_AT_LEAST(2, 0);
}

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

// Autocast (mixed precision): one switch per device type since 2.4; before,
// separate CUDA ("gpu") and CPU functions.
#ifdef TUTORIAL_COMPAT_AUTOCAST
#include <ATen/autocast_mode.h>
namespace tutorial::compat {
inline bool autocast_enabled(c10::DeviceType type) {
#if TUTORIAL_TORCH_AT_LEAST(2, 4)
  return at::autocast::is_autocast_enabled(type);
#else
  return type == c10::DeviceType::CUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}
inline void set_autocast(c10::DeviceType type, bool enabled, at::ScalarType dtype) {
#if TUTORIAL_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_enabled(type, enabled);
  at::autocast::set_autocast_dtype(type, dtype);
#else
  if (type == c10::DeviceType::CUDA) {
    at::autocast::set_enabled(enabled);
    at::autocast::set_autocast_gpu_dtype(dtype);
  } else {
    at::autocast::set_cpu_enabled(enabled);
    at::autocast::set_autocast_cpu_dtype(dtype);
  }
#endif
}
inline at::ScalarType autocast_dtype(c10::DeviceType type) {
#if TUTORIAL_TORCH_AT_LEAST(2, 4)
  return at::autocast::get_autocast_dtype(type);
#else
  return type == c10::DeviceType::CUDA ? at::autocast::get_autocast_gpu_dtype()
                                       : at::autocast::get_autocast_cpu_dtype();
#endif
}
}  // namespace tutorial::compat
#endif

// An optimizer's per-parameter state is keyed by the parameter's
// TensorImpl: as a string of its address in 1.13, as the address since 2.0.
#ifdef TUTORIAL_COMPAT_OPTIMIZER_STATE
#include <c10/util/string_utils.h>
#include <torch/types.h>
namespace tutorial::compat {
#if TUTORIAL_TORCH_AT_LEAST(2, 0)
inline void* optimizer_state_key(const at::Tensor& parameter) {
  return parameter.unsafeGetTensorImpl();
}
#else
inline std::string optimizer_state_key(const at::Tensor& parameter) {
  return c10::guts::to_string(parameter.unsafeGetTensorImpl());
}
#endif
}  // namespace tutorial::compat
#endif

// CUDA graph capture: "thread local" mode (only the capturing thread is barred
// from unsafe CUDA calls, so a data loader thread may keep copying batches)
// can be chosen since 2.1; 1.13 always captures in global mode.
#ifdef TUTORIAL_COMPAT_CUDA_GRAPH
#include "build_config.h"
#if TUTORIAL_WITH_CUDA
#include <ATen/cuda/CUDAGraph.h>
namespace tutorial::compat {
inline void begin_thread_local_capture(at::cuda::CUDAGraph& graph) {
#if TUTORIAL_TORCH_AT_LEAST(2, 1)
  graph.capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
#else
  graph.capture_begin();
#endif
}
}  // namespace tutorial::compat
#endif
#endif

// params -= lr * steps with lr a one-element tensor on the parameters'
// device: one multi-tensor kernel pair since 2.1 (_foreach_mul by a tensor);
// before, a multiply and subtract per parameter.
#ifdef TUTORIAL_COMPAT_FOREACH_TENSOR_LR
#include <ATen/ops/_foreach_mul.h>
#include <ATen/ops/_foreach_sub.h>
#include <torch/types.h>
namespace tutorial::compat {
inline void foreach_sub_scaled_(at::TensorList params, at::TensorList steps, const at::Tensor& lr) {
#if TUTORIAL_TORCH_AT_LEAST(2, 1)
  at::_foreach_sub_(params, at::_foreach_mul(steps, lr));
#else
  for (size_t i = 0; i < params.size(); ++i) params[i].sub_(steps[i] * lr);
#endif
}
}  // namespace tutorial::compat
#endif
