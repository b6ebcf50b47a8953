// What a launcher tells each process it starts: its rank, how many processes
// there are, and where rank 0 listens. torchrun, Slurm's srun, Open MPI's
// mpirun and scripts/launch_local.sh each say it in environment variables.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace tutorial {

enum class Launcher { kTorchrun, kSlurm, kOpenMpi, kSpawned };  // kSpawned: stage 4 forks its own ranks

struct LaunchEnv {
  Launcher launcher;
  int64_t rank;              // 0 .. world_size - 1, over all nodes
  int64_t local_rank;        // 0 .. local_world_size - 1, on this node
  int64_t world_size;        // processes over all nodes
  int64_t local_world_size;  // processes on this node
  std::string master_addr;   // host of rank 0, where the process group meets
  int master_port;
  // Slurm shows each task only its own GPUs (srun --gpus-per-task: it sets
  // CUDA_VISIBLE_DEVICES per task), so a task's first visible GPU is its own.
  bool gpus_bound_per_task = false;
};

// A function from variable name to value (nullopt when unset), so tests can
// supply their own environment instead of touching the real one.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// The real environment (getenv).
EnvLookup process_environment();

// Reads the launcher's variables, trying in turn:
//  - torchrun / torch.distributed.launch / scripts/launch_local.sh, when RANK is set:
//    RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE (default WORLD_SIZE),
//    MASTER_ADDR (required unless WORLD_SIZE is 1, then 127.0.0.1), MASTER_PORT (29500);
//  - Open MPI's mpirun, when OMPI_COMM_WORLD_RANK is set: OMPI_COMM_WORLD_RANK,
//    _SIZE, _LOCAL_RANK, _LOCAL_SIZE, MASTER_ADDR and MASTER_PORT as above.
//    It comes before Slurm because ranks that mpirun starts inside a Slurm
//    allocation inherit SLURM_PROCID from mpirun's own daemons;
//  - Slurm's srun, when SLURM_PROCID is set: SLURM_PROCID, SLURM_LOCALID,
//    SLURM_NTASKS, SLURM_NTASKS_PER_NODE or this node's (SLURM_NODEID) entry
//    of SLURM_TASKS_PER_NODE; MASTER_ADDR, else the first host of
//    SLURM_STEP_NODELIST, SLURM_NODELIST or SLURM_JOB_NODELIST; MASTER_PORT (29500);
//    SLURM_GPUS_PER_TASK, set with --gpus-per-task, for gpus_bound_per_task.
// Throws a one-line UserError naming the variable and its value for anything
// missing or out of range, and one saying how to launch when no launcher's
// variables are set.
LaunchEnv read_launch_env(const EnvLookup& env = process_environment());

// "torchrun", "Slurm" or "Open MPI", for messages.
std::string launcher_name(Launcher launcher);

}  // namespace tutorial
