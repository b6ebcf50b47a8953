#include "distributed/batch_split.h"

#include "core/errors.h"

#include <string>

namespace tutorial {

int64_t batch_per_rank(int64_t global_batch, int64_t world_size, int64_t accumulate_steps) {
  const int64_t shares = world_size * accumulate_steps;
  if (world_size < 1 || accumulate_steps < 1 || global_batch % shares != 0) {
    // The multiples of the number of shares on either side, where there are two.
    const int64_t below = shares > 0 ? global_batch / shares * shares : 0;
    const std::string above = std::to_string(below + shares);
    const std::string divisor =
        accumulate_steps == 1
            ? "the world size " + std::to_string(world_size)
            : "the world size " + std::to_string(world_size) + " x --accumulate-steps " +
                  std::to_string(accumulate_steps) + " = " + std::to_string(shares);
    throw UserError("--batch-size " + std::to_string(global_batch) + " is not divisible by " +
                    divisor + ": every rank takes an equal share of each " +
                    (accumulate_steps == 1 ? "batch" : "micro-batch") + " (use " +
                    (below > 0 ? std::to_string(below) + " or " + above : above) + ")");
  }
  return global_batch / world_size;
}

}  // namespace tutorial
