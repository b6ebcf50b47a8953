// Preemption: SIGTERM and SIGUSR1 (what Slurm sends before it preempts or
// ends a job) ask a run to stop at the next step boundary, save a checkpoint
// and exit with kStoppedExitStatus, so that a rerun with --resume auto
// continues it (scripts/slurm_stage3.sbatch requeues on that status).
#pragma once

#include "core/errors.h"  // kStoppedExitStatus

namespace tutorial {

// From now on SIGTERM and SIGUSR1 only set a flag.
void install_stop_signal_handlers();

// The signal received (SIGTERM or SIGUSR1), or 0 if none.
int stop_signal_received();

}  // namespace tutorial
