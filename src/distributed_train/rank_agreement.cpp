#include "distributed_train/rank_agreement.h"

namespace tutorial {

RankAgreement rank_agreement(ProcessGroup& group, int64_t stop_check_interval) {
  RankAgreement agreement;
  agreement.writes = group.rank() == 0;
  agreement.barrier = [&group] { group.barrier(); };
  if (group.world_size() == 1) {
    // Alone, a rank agrees with itself: no collective, whose hand-off to
    // Gloo's worker thread would cost every tenth step a context switch.
    agreement.any_rank = [](bool mine) { return mine; };
  } else {
    agreement.any_rank = [&group](bool mine) {
      auto votes = torch::tensor({mine ? 1.0f : 0.0f});
      group.all_reduce_sum(votes);
      return votes.item<float>() > 0;
    };
  }
  agreement.stop_check_interval = stop_check_interval;
  return agreement;
}

}  // namespace tutorial
