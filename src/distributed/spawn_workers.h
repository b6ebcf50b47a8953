// The C++ counterpart of torch.multiprocessing.spawn: fork one worker
// process per local rank and supervise them. When a worker fails, the others
// are stopped and the parent reports which one and how it ended, so a crash
// never leaves ranks waiting forever in a collective.
#pragma once

#include <chrono>
#include <functional>

namespace tutorial {

// Runs `worker(local_rank)` in `num_workers` forked processes; a worker's
// return value is its exit status. Their stderr comes through this process,
// a line that several workers print once (distributed/stderr_relay.h); a
// worker that fails with a user error (status 2) has said why, so only other
// failures get a line of the parent's ("worker 1 was killed by signal 9 ..."). Fork before any CUDA or OpenMP work in
// this process: neither survives a fork. Returns 0 when every worker
// succeeds; else the first failure's status (128 + signal for a signal),
// after stopping the others (SIGTERM, then SIGKILL after `grace`). SIGINT,
// SIGTERM and SIGUSR1 sent to the parent are passed on to the workers, which
// get `signal_grace` to save a checkpoint and exit (SIGKILL after that); if
// every worker then exits with kStoppedExitStatus (stopped and saved,
// core/errors.h), so does this.
int spawn_workers(int64_t num_workers, const std::function<int(int64_t local_rank)>& worker,
                  std::chrono::milliseconds grace = std::chrono::seconds(5),
                  std::chrono::milliseconds signal_grace = std::chrono::seconds(60));

}  // namespace tutorial
