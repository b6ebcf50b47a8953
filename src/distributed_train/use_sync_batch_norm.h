// --sync-bn for the factory's models, as Python's
// torch.nn.SyncBatchNorm.convert_sync_batchnorm(model).
#pragma once

#include "distributed/process_group.h"
#include "models/model_factory.h"

#include <cstdint>

namespace tutorial {

// From now on the model's BatchNorm layers compute their training statistics
// over all ranks of `group` (distributed/sync_batch_norm.h), which must
// outlive the model's use. Call it before DDP wraps the model. Returns how
// many layers that is; a model without BatchNorm (the MLP) keeps training as
// it was, with a note on rank 0 that there is nothing to synchronize.
int64_t use_sync_batch_norm(Classifier& model, ProcessGroup& group);

}  // namespace tutorial
