// The global batch (--batch-size) split evenly over the ranks, as the
// tutorial's batch_size // world_size, but refused where it does not divide:
// 64 over 3 ranks would otherwise train with 63 and print 64.
#pragma once

#include <cstdint>

namespace tutorial {

// global_batch / world_size; a UserError naming both when it leaves a remainder.
int64_t batch_per_rank(int64_t global_batch, int64_t world_size);

}  // namespace tutorial
