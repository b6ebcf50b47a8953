// Dynamic loss scaling for float16 autocast (--amp-dtype fp16), with the
// semantics of torch.cuda.amp.GradScaler: float16 gradients of small losses
// underflow to zero, so the loss is multiplied by a large scale before
// backward and the gradients divided by it before the optimizer step. A step
// whose gradients hold an inf or NaN (the scale was too large) is skipped and
// the scale halved; after `growth_interval` good steps in a row it doubles.
//
// Written with plain tensor operations, so it runs (and is tested) on the
// CPU too: LibTorch's fused _amp_* kernels are CUDA-only in 1.13. The scale is
// a power of two kept on the host: scaling and unscaling are exact.
//
// Under DDP every rank reaches the same decision without talking: the
// gradients it checks are the all-reduced ones, the same on every rank, and
// an inf or NaN on any rank makes the sum inf or NaN on all of them.
#pragma once

#include <torch/arg.h>
#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include <cstdint>

namespace tutorial {

// torch.cuda.amp.GradScaler's defaults.
struct GradScalerOptions {
  TORCH_ARG(double, init_scale) = 65536.0;
  TORCH_ARG(double, growth_factor) = 2.0;
  TORCH_ARG(double, backoff_factor) = 0.5;
  TORCH_ARG(int64_t, growth_interval) = 2000;
};

// What a checkpoint keeps of a scaler, so that a resumed run scales as the
// uninterrupted one would (GradScaler.state_dict()'s "scale" and "_growth_tracker").
struct LossScaleState {
  double scale = 0;            // 0: no scaler
  int64_t growth_tracker = 0;  // good steps in a row since the scale last changed
};

class GradScaler {
 public:
  explicit GradScaler(GradScalerOptions options = {});

  // The loss to call backward on: loss x scale.
  torch::Tensor scale(const torch::Tensor& loss) const;

  // scaler.step(optimizer); scaler.update(): divides the gradients of
  // `optimizer`'s parameters by the scale, steps unless any of them holds an
  // inf or NaN, then updates the scale. Returns whether it stepped.
  bool step(torch::optim::Optimizer& optimizer);

  double current_scale() const { return state_.scale; }
  int64_t skipped_steps() const { return skipped_steps_; }  // since construction
  LossScaleState state() const { return state_; }
  // A checkpoint's state; one with scale 0 (written without a scaler) starts afresh.
  void load_state(const LossScaleState& state);

 private:
  GradScalerOptions options_;
  LossScaleState state_;
  int64_t skipped_steps_ = 0;
};

// Divides every defined gradient of `optimizer`'s parameters by `scale` in
// place; true if any of them then holds an inf or NaN (one host sync).
bool unscale_gradients(torch::optim::Optimizer& optimizer, double scale);

}  // namespace tutorial
