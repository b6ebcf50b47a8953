// SyncBatchNorm (--sync-bn), as torch.nn.SyncBatchNorm: in training, a
// BatchNorm layer's batch statistics are those of all ranks' samples
// together, as if one process ran the whole global batch. Worth it when each
// GPU sees only a few samples (detection, segmentation, large models), where
// a rank's own statistics are noisy; it costs one small all-reduce per layer
// in forward and one in backward.
//
// Forward: each rank all-reduces its per-channel sum, sum of squares and
// sample count in one tensor, normalises with the global mean and (biased)
// variance, and updates running_mean, running_var (unbiased) and
// num_batches_tracked as BatchNorm would on the global batch. Backward: one
// all-reduce of the per-channel sums of dy and dy * x_hat, from which each
// rank forms its input's gradient; the layer's weight and bias gradients stay
// the rank's own (DDP averages them). In eval mode, and with one rank, it is
// the layer's own forward: running statistics, no communication.
#pragma once

#include "distributed/process_group.h"

#include <torch/nn/modules/batchnorm.h>

namespace tutorial {

// One BatchNorm2d layer's forward with statistics over every rank of `group`.
// All ranks must call it for the same layers in the same order (they do: the
// same model runs everywhere), as for any collective.
torch::Tensor sync_batch_norm(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x,
                              ProcessGroup& group);

}  // namespace tutorial
