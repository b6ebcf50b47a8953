// What torchrun, srun and mpirun set, read from a map instead of the real
// environment: the happy paths, defaults, precedence, Slurm's compressed
// lists, and one clear UserError naming the variable for every bad value.
#include "distributed/batch_split.h"
#include "distributed/launch_env.h"
#include "distributed/rank_device.h"
#include "distributed/slurm_nodelist.h"

#include "user_error_assertions.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

using namespace tutorial;
using tutorial::testdata::throws_user_error;

namespace {

using Vars = std::map<std::string, std::string>;

EnvLookup lookup(const Vars& vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

LaunchEnv read(const Vars& vars) { return read_launch_env(lookup(vars)); }

// Rank 1 of 4, two per node, as torchrun --nnodes 2 --nproc-per-node 2 sets it.
Vars torchrun_vars() {
  return {{"RANK", "1"},           {"LOCAL_RANK", "1"},          {"WORLD_SIZE", "4"},
          {"LOCAL_WORLD_SIZE", "2"}, {"MASTER_ADDR", "10.0.0.5"}, {"MASTER_PORT", "1234"}};
}

// Task 5 of 8 on the second of two nodes, as srun -N2 --ntasks-per-node 4 sets it.
Vars slurm_vars() {
  return {{"SLURM_PROCID", "5"},          {"SLURM_LOCALID", "1"},
          {"SLURM_NTASKS", "8"},          {"SLURM_TASKS_PER_NODE", "4(x2)"},
          {"SLURM_NODEID", "1"},          {"SLURM_NODELIST", "gpu[07-08]"},
          {"SLURM_JOB_NODELIST", "gpu[07-08]"}};
}

// Rank 2 of 3 as mpirun -np 3 sets it.
Vars open_mpi_vars() {
  return {{"OMPI_COMM_WORLD_RANK", "2"},       {"OMPI_COMM_WORLD_SIZE", "3"},
          {"OMPI_COMM_WORLD_LOCAL_RANK", "2"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "3"},
          {"MASTER_ADDR", "head"}};
}

Vars with(Vars vars, const std::string& name, const std::string& value) {
  vars[name] = value;
  return vars;
}

Vars without(Vars vars, const std::string& name) {
  vars.erase(name);
  return vars;
}

using Hosts = std::vector<std::string>;

}  // namespace

// --- torchrun ---

TEST(LaunchEnv, ReadsTorchrun) {
  const LaunchEnv e = read(torchrun_vars());
  EXPECT_EQ(e.launcher, Launcher::kTorchrun);
  EXPECT_EQ(e.rank, 1);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.world_size, 4);
  EXPECT_EQ(e.local_world_size, 2);
  EXPECT_EQ(e.master_addr, "10.0.0.5");
  EXPECT_EQ(e.master_port, 1234);
  EXPECT_EQ(launcher_name(e.launcher), "torchrun");
}

TEST(LaunchEnv, TorchrunDefaults) {
  // LOCAL_WORLD_SIZE defaults to WORLD_SIZE, MASTER_PORT to 29500.
  const LaunchEnv e = read(without(without(torchrun_vars(), "LOCAL_WORLD_SIZE"), "MASTER_PORT"));
  EXPECT_EQ(e.local_world_size, 4);
  EXPECT_EQ(e.master_port, 29500);
  EXPECT_EQ(e.master_addr, "10.0.0.5");
}

TEST(LaunchEnv, SingleProcessNeedsNoMasterAddr) {
  const LaunchEnv e = read({{"RANK", "0"}, {"LOCAL_RANK", "0"}, {"WORLD_SIZE", "1"}});
  EXPECT_EQ(e.world_size, 1);
  EXPECT_EQ(e.local_world_size, 1);
  EXPECT_EQ(e.master_addr, "127.0.0.1");
  EXPECT_EQ(e.master_port, 29500);
}

TEST(LaunchEnv, SeveralProcessesNeedMasterAddr) {
  EXPECT_TRUE(throws_user_error([] { read(without(torchrun_vars(), "MASTER_ADDR")); },
                                {"MASTER_ADDR", "WORLD_SIZE='4'"}));
}

TEST(LaunchEnv, RejectsNonIntegers) {
  for (const char* bad : {"abc", "1x", "", " 1", "1.0", "+1", "0x1"}) {
    EXPECT_TRUE(throws_user_error([&] { read(with(torchrun_vars(), "RANK", bad)); },
                                  {"RANK='" + std::string(bad) + "'", "not an integer"}))
        << bad;
  }
  EXPECT_TRUE(throws_user_error([] { read(with(torchrun_vars(), "LOCAL_RANK", "one")); },
                                {"LOCAL_RANK='one'", "not an integer"}));
  EXPECT_TRUE(throws_user_error([] { read(with(torchrun_vars(), "WORLD_SIZE", "4 ")); },
                                {"WORLD_SIZE='4 '", "not an integer"}));
  EXPECT_TRUE(throws_user_error(
      [] { read(with(torchrun_vars(), "WORLD_SIZE", "99999999999999999999")); },
      {"WORLD_SIZE='99999999999999999999'", "out of range"}));
}

TEST(LaunchEnv, RejectsNegativeNumbers) {
  EXPECT_TRUE(throws_user_error([] { read(with(torchrun_vars(), "RANK", "-1")); },
                                {"RANK='-1'", "negative"}));
  EXPECT_TRUE(throws_user_error([] { read(with(torchrun_vars(), "LOCAL_RANK", "-2")); },
                                {"LOCAL_RANK='-2'", "negative"}));
}

TEST(LaunchEnv, RejectsEmptyWorld) {
  EXPECT_TRUE(throws_user_error([] { read(with(torchrun_vars(), "WORLD_SIZE", "0")); },
                                {"WORLD_SIZE='0'", "at least 1"}));
  EXPECT_TRUE(throws_user_error([] { read(with(torchrun_vars(), "LOCAL_WORLD_SIZE", "0")); },
                                {"LOCAL_WORLD_SIZE='0'", "at least 1"}));
}

TEST(LaunchEnv, RejectsRankOutsideWorld) {
  EXPECT_TRUE(throws_user_error([] { read(with(torchrun_vars(), "RANK", "4")); },
                                {"RANK='4'", "WORLD_SIZE='4'"}));
  EXPECT_TRUE(throws_user_error([] { read(with(torchrun_vars(), "LOCAL_RANK", "2")); },
                                {"LOCAL_RANK='2'", "LOCAL_WORLD_SIZE='2'"}));
  EXPECT_TRUE(throws_user_error([] { read(with(torchrun_vars(), "LOCAL_WORLD_SIZE", "8")); },
                                {"LOCAL_WORLD_SIZE='8'", "WORLD_SIZE='4'"}));
}

TEST(LaunchEnv, RejectsBadPorts) {
  for (const char* bad : {"0", "65536", "-1", "http"}) {
    EXPECT_TRUE(throws_user_error([&] { read(with(torchrun_vars(), "MASTER_PORT", bad)); },
                                  {"MASTER_PORT='" + std::string(bad) + "'"}))
        << bad;
  }
  EXPECT_EQ(read(with(torchrun_vars(), "MASTER_PORT", "65535")).master_port, 65535);
  EXPECT_EQ(read(with(torchrun_vars(), "MASTER_PORT", "1")).master_port, 1);
}

TEST(LaunchEnv, RejectsEmptyMasterAddr) {
  EXPECT_TRUE(throws_user_error([] { read(with(torchrun_vars(), "MASTER_ADDR", "")); },
                                {"MASTER_ADDR", "empty"}));
  // Even for one process: an empty value is a mistake, not "unset".
  EXPECT_TRUE(throws_user_error(
      [] { read({{"RANK", "0"}, {"LOCAL_RANK", "0"}, {"WORLD_SIZE", "1"}, {"MASTER_ADDR", ""}}); },
      {"MASTER_ADDR", "empty"}));
}

TEST(LaunchEnv, RankWithoutWorldSizeNamesWorldSize) {
  EXPECT_TRUE(throws_user_error([] { read(without(torchrun_vars(), "WORLD_SIZE")); },
                                {"WORLD_SIZE", "not set", "RANK"}));
  EXPECT_TRUE(throws_user_error([] { read(without(torchrun_vars(), "LOCAL_RANK")); },
                                {"LOCAL_RANK", "not set"}));
}

TEST(LaunchEnv, MessagesStayOneLine) {
  // throws_user_error fails on a multi-line message; the value is escaped.
  EXPECT_TRUE(throws_user_error([] { read(with(torchrun_vars(), "RANK", "1\n2")); },
                                {"RANK='1\\x0a2'"}));
}

// --- Slurm ---

TEST(LaunchEnv, ReadsSlurm) {
  const LaunchEnv e = read(slurm_vars());
  EXPECT_EQ(e.launcher, Launcher::kSlurm);
  EXPECT_EQ(e.rank, 5);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.world_size, 8);
  EXPECT_EQ(e.local_world_size, 4);
  EXPECT_EQ(e.master_addr, "gpu07");  // the first host, zero padding kept
  EXPECT_EQ(e.master_port, 29500);
  EXPECT_EQ(launcher_name(e.launcher), "Slurm");
}

TEST(LaunchEnv, SlurmMasterFromCompressedNodeLists) {
  const Vars base = without(without(slurm_vars(), "SLURM_NODELIST"), "SLURM_JOB_NODELIST");
  EXPECT_EQ(read(with(base, "SLURM_NODELIST", "node[01-04,07]")).master_addr, "node01");
  EXPECT_EQ(read(with(base, "SLURM_NODELIST", "a[1-2],b3")).master_addr, "a1");
  EXPECT_EQ(read(with(base, "SLURM_NODELIST", "gpu-[3-4]-ib")).master_addr, "gpu-3-ib");
  EXPECT_EQ(read(with(base, "SLURM_JOB_NODELIST", "login1,node2")).master_addr, "login1");
  // The step's list is where srun put rank 0; SLURM_NODELIST beats the job's.
  EXPECT_EQ(read(with(with(base, "SLURM_STEP_NODELIST", "n[5-6]"), "SLURM_NODELIST", "n[1-6]"))
                .master_addr,
            "n5");
  EXPECT_EQ(read(with(with(base, "SLURM_NODELIST", "x1"), "SLURM_JOB_NODELIST", "y1")).master_addr,
            "x1");
}

TEST(LaunchEnv, SlurmMasterAddrAndPortOverride) {
  const LaunchEnv e =
      read(with(with(slurm_vars(), "MASTER_ADDR", "10.1.1.1"), "MASTER_PORT", "40000"));
  EXPECT_EQ(e.master_addr, "10.1.1.1");
  EXPECT_EQ(e.master_port, 40000);
  // MASTER_ADDR makes even an unusual node list irrelevant.
  EXPECT_EQ(read(with(with(slurm_vars(), "MASTER_ADDR", "h"), "SLURM_NODELIST", "r[1-2]-n[1-2]"))
                .master_addr,
            "h");
}

TEST(LaunchEnv, SlurmTasksPerNode) {
  // --ntasks-per-node wins over the per-node list.
  EXPECT_EQ(read(with(slurm_vars(), "SLURM_NTASKS_PER_NODE", "6")).local_world_size, 6);
  // Uneven nodes: this node's entry, not the first.
  const Vars uneven = with(with(slurm_vars(), "SLURM_TASKS_PER_NODE", "5,3"), "SLURM_NTASKS", "8");
  EXPECT_EQ(read(uneven).local_world_size, 3);
  EXPECT_EQ(read(with(uneven, "SLURM_NODEID", "0")).local_world_size, 5);
  // Without SLURM_NODEID, the first entry.
  EXPECT_EQ(read(without(uneven, "SLURM_NODEID")).local_world_size, 5);
  EXPECT_TRUE(throws_user_error([&] { read(with(uneven, "SLURM_NODEID", "2")); },
                                {"SLURM_NODEID='2'", "SLURM_TASKS_PER_NODE='5,3'"}));
  EXPECT_TRUE(throws_user_error(
      [] { read(with(slurm_vars(), "SLURM_TASKS_PER_NODE", "4(x")); },
      {"SLURM_TASKS_PER_NODE", "4(x"}));
  EXPECT_TRUE(throws_user_error([] { read(without(slurm_vars(), "SLURM_TASKS_PER_NODE")); },
                                {"SLURM_TASKS_PER_NODE", "not set"}));
}

TEST(LaunchEnv, SlurmSingleTaskNeedsNoNodeList) {
  const LaunchEnv e = read({{"SLURM_PROCID", "0"},
                            {"SLURM_LOCALID", "0"},
                            {"SLURM_NTASKS", "1"},
                            {"SLURM_TASKS_PER_NODE", "1"}});
  EXPECT_EQ(e.master_addr, "127.0.0.1");
}

TEST(LaunchEnv, SlurmBadValuesNameTheVariable) {
  EXPECT_TRUE(throws_user_error([] { read(with(slurm_vars(), "SLURM_PROCID", "8")); },
                                {"SLURM_PROCID='8'", "SLURM_NTASKS='8'"}));
  EXPECT_TRUE(throws_user_error([] { read(with(slurm_vars(), "SLURM_LOCALID", "4")); },
                                {"SLURM_LOCALID='4'", "SLURM_TASKS_PER_NODE='4(x2)'"}));
  EXPECT_TRUE(throws_user_error([] { read(with(slurm_vars(), "SLURM_NTASKS", "x")); },
                                {"SLURM_NTASKS='x'", "not an integer"}));
  EXPECT_TRUE(throws_user_error([] { read(without(slurm_vars(), "SLURM_NTASKS")); },
                                {"SLURM_NTASKS", "not set", "SLURM_PROCID"}));
  EXPECT_TRUE(throws_user_error([] { read(with(slurm_vars(), "SLURM_STEP_NODELIST", "gpu[1-")); },
                                {"SLURM_STEP_NODELIST", "gpu[1-"}));
  EXPECT_TRUE(throws_user_error(
      [] { read(without(without(slurm_vars(), "SLURM_NODELIST"), "SLURM_JOB_NODELIST")); },
      {"MASTER_ADDR", "SLURM_NODELIST", "SLURM_NTASKS='8'"}));
  EXPECT_TRUE(throws_user_error([] { read(with(slurm_vars(), "MASTER_PORT", "0")); },
                                {"MASTER_PORT='0'"}));
}

// --- Open MPI ---

TEST(LaunchEnv, SlurmGpusPerTaskMeansEachTaskSeesOnlyItsOwnGpus) {
  EXPECT_FALSE(read(slurm_vars()).gpus_bound_per_task);
  EXPECT_TRUE(read(with(slurm_vars(), "SLURM_GPUS_PER_TASK", "1")).gpus_bound_per_task);
  EXPECT_FALSE(read(with(torchrun_vars(), "SLURM_GPUS_PER_TASK", "1")).gpus_bound_per_task)
      << "only srun binds GPUs to tasks";
}

TEST(RankDevice, EachRankTakesTheGpuOfItsLocalRankWhereItSeesThemAll) {
  const LaunchEnv torchrun = read(torchrun_vars());  // local rank 1 of 2
  EXPECT_EQ(rank_gpu_index(torchrun, 2), 1);
  EXPECT_EQ(rank_gpu_index(torchrun, 8), 1);
  const LaunchEnv slurm = read(slurm_vars());  // local rank 1 of 4, GPUs not bound to tasks
  EXPECT_EQ(rank_gpu_index(slurm, 4), 1);
}

TEST(RankDevice, ASlurmTaskThatSeesOnlyItsOwnGpuTakesIt) {
  // srun --ntasks-per-node 4 --gpus-per-task 1: CUDA_VISIBLE_DEVICES holds one
  // GPU per task, so every local rank sees exactly one, as cuda:0.
  Vars vars = with(slurm_vars(), "SLURM_GPUS_PER_TASK", "1");
  for (const std::string local_rank : {"0", "1", "3"}) {
    EXPECT_EQ(rank_gpu_index(read(with(vars, "SLURM_LOCALID", local_rank)), 1), 0) << local_rank;
  }
  // --gpus-per-task 2: each task's first GPU.
  EXPECT_EQ(rank_gpu_index(read(with(vars, "SLURM_GPUS_PER_TASK", "2")), 2), 0);
}

TEST(RankDevice, MoreRanksThanGpusIsAUserErrorOnEveryRank) {
  // Local rank 0 and 1 of 2 with one GPU between them: never both on cuda:0.
  for (const std::string local_rank : {"0", "1"}) {
    EXPECT_TRUE(throws_user_error(
        [&] { rank_gpu_index(read(with(torchrun_vars(), "LOCAL_RANK", local_rank)), 1); },
        {"2 ranks run on this node, and each sees 1 GPU(s)"}))
        << local_rank;
  }
  EXPECT_TRUE(throws_user_error(
      [&] { rank_gpu_index(read(with(slurm_vars(), "SLURM_GPUS_PER_TASK", "1")), 0); },
      {"has no GPU of its own"}));
}

TEST(LaunchEnv, ReadsOpenMpi) {
  const LaunchEnv e = read(open_mpi_vars());
  EXPECT_EQ(e.launcher, Launcher::kOpenMpi);
  EXPECT_EQ(e.rank, 2);
  EXPECT_EQ(e.local_rank, 2);
  EXPECT_EQ(e.world_size, 3);
  EXPECT_EQ(e.local_world_size, 3);
  EXPECT_EQ(e.master_addr, "head");
  EXPECT_EQ(e.master_port, 29500);
  EXPECT_EQ(launcher_name(e.launcher), "Open MPI");
}

TEST(LaunchEnv, OpenMpiBadValuesNameTheVariable) {
  EXPECT_TRUE(throws_user_error([] { read(without(open_mpi_vars(), "MASTER_ADDR")); },
                                {"MASTER_ADDR", "OMPI_COMM_WORLD_SIZE='3'"}));
  EXPECT_TRUE(throws_user_error([] { read(with(open_mpi_vars(), "OMPI_COMM_WORLD_RANK", "3")); },
                                {"OMPI_COMM_WORLD_RANK='3'", "OMPI_COMM_WORLD_SIZE='3'"}));
  EXPECT_TRUE(throws_user_error(
      [] { read(with(open_mpi_vars(), "OMPI_COMM_WORLD_LOCAL_RANK", "3")); },
      {"OMPI_COMM_WORLD_LOCAL_RANK='3'", "OMPI_COMM_WORLD_LOCAL_SIZE='3'"}));
  EXPECT_TRUE(throws_user_error([] { read(with(open_mpi_vars(), "OMPI_COMM_WORLD_SIZE", "0")); },
                                {"OMPI_COMM_WORLD_SIZE='0'"}));
  EXPECT_TRUE(throws_user_error([] { read(without(open_mpi_vars(), "OMPI_COMM_WORLD_LOCAL_SIZE")); },
                                {"OMPI_COMM_WORLD_LOCAL_SIZE", "not set"}));
  const LaunchEnv single = read({{"OMPI_COMM_WORLD_RANK", "0"},
                                 {"OMPI_COMM_WORLD_SIZE", "1"},
                                 {"OMPI_COMM_WORLD_LOCAL_RANK", "0"},
                                 {"OMPI_COMM_WORLD_LOCAL_SIZE", "1"}});
  EXPECT_EQ(single.master_addr, "127.0.0.1");
}

// --- which launcher ---

TEST(LaunchEnv, RankWinsOverSlurmAndOpenMpi) {
  // torchrun inside a Slurm job: the processes see both.
  Vars both = torchrun_vars();
  for (const auto& [name, value] : slurm_vars()) both[name] = value;
  for (const auto& [name, value] : open_mpi_vars()) both[name] = value;
  const LaunchEnv e = read(both);
  EXPECT_EQ(e.launcher, Launcher::kTorchrun);
  EXPECT_EQ(e.rank, 1);
}

TEST(LaunchEnv, OpenMpiWinsOverSlurm) {
  // mpirun inside a Slurm allocation: its ranks inherit its daemons' SLURM_PROCID.
  Vars both = open_mpi_vars();
  for (const auto& [name, value] : slurm_vars()) both[name] = value;
  const LaunchEnv e = read(both);
  EXPECT_EQ(e.launcher, Launcher::kOpenMpi);
  EXPECT_EQ(e.rank, 2);
}

TEST(LaunchEnv, NoLauncherSaysHowToLaunch) {
  EXPECT_TRUE(throws_user_error([] { read({{"MASTER_ADDR", "h"}, {"LOCAL_RANK", "0"}}); },
                                {"no launcher variables", "torchrun --no-python", "srun",
                                 "mpirun", "scripts/launch_local.sh"}));
}

TEST(LaunchEnv, ProcessEnvironmentReadsGetenv) {
  // Only reads: PATH is set in any test run, this name in none.
  EXPECT_TRUE(process_environment()("PATH").has_value());
  EXPECT_FALSE(process_environment()("TUTORIAL_SURELY_UNSET_VARIABLE_1b7e").has_value());
}

// --- Slurm's compressed lists ---

TEST(SlurmNodelist, Expands) {
  EXPECT_EQ(expand_slurm_nodelist("node01"), Hosts({"node01"}));
  EXPECT_EQ(expand_slurm_nodelist("node[01-04,07]"),
            Hosts({"node01", "node02", "node03", "node04", "node07"}));
  EXPECT_EQ(expand_slurm_nodelist("a[1-2],b3"), Hosts({"a1", "a2", "b3"}));
  EXPECT_EQ(expand_slurm_nodelist("gpu-[1-3]-ib"), Hosts({"gpu-1-ib", "gpu-2-ib", "gpu-3-ib"}));
  EXPECT_EQ(expand_slurm_nodelist("n[8-11]"), Hosts({"n8", "n9", "n10", "n11"}));
  EXPECT_EQ(expand_slurm_nodelist("n[098-101]"), Hosts({"n098", "n099", "n100", "n101"}));
  EXPECT_EQ(expand_slurm_nodelist("n[5]"), Hosts({"n5"}));
  EXPECT_EQ(expand_slurm_nodelist("x[1-2],y,z[09-10]"), Hosts({"x1", "x2", "y", "z09", "z10"}));
  EXPECT_EQ(expand_slurm_nodelist("node1.cluster.org,node2.cluster.org"),
            Hosts({"node1.cluster.org", "node2.cluster.org"}));
}

TEST(SlurmNodelist, RejectsMalformedLists) {
  for (const char* bad : {"", "node[1-2", "node1-2]", "node[[1-2]]", "node[5-2]", "node[]",
                          "node[1-]", "node[-2]", "node[a-b]", "node[1,,2]", "a,,b", "a,",
                          ",a", "node[1-2:2]"}) {
    EXPECT_TRUE(throws_user_error([&] { expand_slurm_nodelist(bad); },
                                  {"'" + std::string(bad) + "'"}))
        << bad;
  }
  EXPECT_TRUE(throws_user_error([] { expand_slurm_nodelist("node[5-2]"); }, {"reversed"}));
  EXPECT_TRUE(throws_user_error([] { expand_slurm_nodelist("r[1-2]-n[1-4]"); },
                                {"one bracket", "MASTER_ADDR"}));
  EXPECT_TRUE(throws_user_error([] { expand_slurm_nodelist("n[0-999999999]"); }, {"hosts"}));
}

TEST(SlurmNodelist, ExpandsTasksPerNode) {
  using Counts = std::vector<int64_t>;
  EXPECT_EQ(expand_slurm_tasks_per_node("4"), Counts({4}));
  EXPECT_EQ(expand_slurm_tasks_per_node("2(x3),1"), Counts({2, 2, 2, 1}));
  EXPECT_EQ(expand_slurm_tasks_per_node("1,2(x2)"), Counts({1, 2, 2}));
  for (const char* bad : {"", "x", "2(x)", "2(3)", "2(x0)", "2(x3", "(x3)", "2,", "-1"}) {
    EXPECT_TRUE(throws_user_error([&] { expand_slurm_tasks_per_node(bad); },
                                  {"'" + std::string(bad) + "'"}))
        << bad;
  }
}

// The global batch over the ranks: an equal share each, or one line saying
// which batch sizes would divide (64 over 3 ranks used to train with 63).
TEST(BatchSplit, EachRankTakesAnEqualShare) {
  EXPECT_EQ(batch_per_rank(64, 1), 64);
  EXPECT_EQ(batch_per_rank(64, 2), 32);
  EXPECT_EQ(batch_per_rank(64, 8), 8);
}

TEST(BatchSplit, ABatchTheRanksDoNotDivideIsRefusedNamingBoth) {
  EXPECT_TRUE(throws_user_error([] { batch_per_rank(64, 3); },
                                {"--batch-size 64 is not divisible by the world size 3",
                                 "use 63 or 66"}));
  EXPECT_TRUE(throws_user_error([] { batch_per_rank(1, 2); },
                                {"--batch-size 1 is not divisible by the world size 2", "(use 2)"}));
}

// --accumulate-steps N splits each rank's share again: 64 over 2 ranks x 4
// micro-batches is 8 samples a micro-batch; over 3 x 2 it does not divide.
TEST(BatchSplit, AccumulationSplitsEachRanksShareAgain) {
  EXPECT_EQ(batch_per_rank(64, 2, 4), 32);
  EXPECT_EQ(batch_per_rank(64, 1, 64), 64);
  EXPECT_TRUE(throws_user_error([] { batch_per_rank(64, 3, 2); },
                                {"--batch-size 64 is not divisible by the world size 3 x "
                                 "--accumulate-steps 2 = 6",
                                 "equal share of each micro-batch", "use 60 or 66"}));
  EXPECT_TRUE(throws_user_error([] { batch_per_rank(32, 2, 32); },
                                {"x --accumulate-steps 32 = 64", "(use 64)"}));
}
