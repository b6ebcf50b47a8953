// How the ranks of a process group agree about checkpoints: rank 0 writes,
// everyone waits for it, and a stop signal seen by any rank stops them all
// at the same step.
#pragma once

#include "distributed/process_group.h"
#include "train/checkpointing.h"

namespace tutorial {

// Stopping is agreed every `stop_check_interval` steps (one one-number
// all-reduce each time): that many steps at most pass between a signal and
// the stop.
RankAgreement rank_agreement(ProcessGroup& group, int64_t stop_check_interval = 10);

}  // namespace tutorial
