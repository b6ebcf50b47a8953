// The global batch (--batch-size) split evenly over the ranks, as the
// tutorial's batch_size // world_size, but refused where it does not divide:
// 64 over 3 ranks would otherwise train with 63 and print 64. With
// --accumulate-steps N each rank's share is split again into N micro-batches,
// so the batch must divide by world size x N.
#pragma once

#include <cstdint>

namespace tutorial {

// global_batch / world_size; a UserError naming both (and N where N > 1)
// when global_batch is not a multiple of world_size * accumulate_steps.
int64_t batch_per_rank(int64_t global_batch, int64_t world_size, int64_t accumulate_steps = 1);

}  // namespace tutorial
