// Evaluation over all ranks: each rank evaluates its shard, then the sums are
// added up, so every rank reports the accuracy of the whole test set. (The
// Python tutorial divides one rank's correct count by the full test-set size
// and prints 8.2% for a model that is 65% right.)
#pragma once

#include "distributed/process_group.h"
#include "train/engine.h"

namespace tutorial {

EvalResult all_reduce(const EvalResult& local, ProcessGroup& group);

}  // namespace tutorial
