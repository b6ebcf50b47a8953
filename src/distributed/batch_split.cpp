#include "distributed/batch_split.h"

#include "core/errors.h"

#include <string>

namespace tutorial {

int64_t batch_per_rank(int64_t global_batch, int64_t world_size) {
  if (world_size < 1 || global_batch % world_size != 0) {
    // The multiples of the world size on either side, where there are two.
    const int64_t below = world_size > 0 ? global_batch / world_size * world_size : 0;
    const std::string above = std::to_string(below + world_size);
    throw UserError("--batch-size " + std::to_string(global_batch) +
                    " is not divisible by the world size " + std::to_string(world_size) +
                    ": every rank takes an equal share of each batch (use " +
                    (below > 0 ? std::to_string(below) + " or " + above : above) + ")");
  }
  return global_batch / world_size;
}

}  // namespace tutorial
