// What a DDP stage needs besides the wrapper itself, as Python's
// `import torch.distributed as dist`: the launcher's environment, the rank's
// device, the process group, and the rank-aware pieces of a training run.
#pragma once

#include "distributed/batch_split.h"                // the global batch split over the ranks
#include "distributed/launch_env.h"                 // RANK, WORLD_SIZE, ... from the launcher
#include "distributed/process_group.h"              // c10d: NCCL on GPUs, Gloo on CPUs
#include "distributed/rank_device.h"                // a rank's GPU
#include "distributed/world_rows.h"                 // the configuration table's world rows
#include "distributed_train/ddp_options.h"          // bucket caps, --trace: a timeline per rank
#include "distributed_train/distributed_eval.h"     // evaluation summed over ranks
#include "distributed_train/rank_agreement.h"       // checkpoints: rank 0 writes, all agree to stop
#include "distributed_train/training_settings.h"    // the settings every rank must share
#include "distributed_train/use_sync_batch_norm.h"  // --sync-bn: BatchNorm over all ranks
