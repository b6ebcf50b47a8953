#include "distributed_train/distributed_eval.h"

namespace tutorial {

EvalResult all_reduce(const EvalResult& local, ProcessGroup& group) {
  // float64 holds these counts exactly (below 2^53).
  auto sums = torch::tensor({local.loss_sum, static_cast<double>(local.batches),
                             static_cast<double>(local.correct),
                             static_cast<double>(local.samples)},
                            torch::kDouble);
  group.all_reduce_sum(sums);
  auto s = sums.accessor<double, 1>();
  return EvalResult{s[0], static_cast<int64_t>(s[1]), static_cast<int64_t>(s[2]),
                    static_cast<int64_t>(s[3])};
}

}  // namespace tutorial
