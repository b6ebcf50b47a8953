#include "distributed/launch_env.h"

#include "core/errors.h"
#include "distributed/slurm_nodelist.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace tutorial {

namespace {

constexpr int kDefaultMasterPort = 29500;
constexpr const char* kLocalHost = "127.0.0.1";

// A value as it appears in a message: quoted, control characters escaped so
// the message stays one line, and cut short if absurdly long.
std::string quoted(const std::string& value) {
  constexpr std::size_t kMaxShown = 120;
  std::string out = "'";
  for (std::size_t i = 0; i < value.size() && i < kMaxShown; ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c < 0x20 || c == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
      out += escaped;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (value.size() > kMaxShown) out += "...";
  return out + "'";
}

// A number read from the environment, with what to call it in messages
// (e.g. "WORLD_SIZE='4'").
struct Number {
  int64_t value;
  std::string label;
};

// Reads one launcher's variables. `trigger` (the variable that chose the
// launcher) and `launch` name it in the message when a variable is missing.
class Reader {
 public:
  Reader(const EnvLookup& env, std::string trigger, std::string launch)
      : env_(env), trigger_(std::move(trigger)), launch_(std::move(launch)) {}

  std::optional<std::string> get(const std::string& name) const { return env_(name); }

  std::string required(const std::string& name) const {
    auto value = env_(name);
    if (!value) {
      throw UserError("environment variable " + name + " is not set, though " + trigger_ +
                      " is: " + launch_ + " sets both");
    }
    return *value;
  }

  // A whole number >= `minimum`.
  Number integer(const std::string& name, const std::string& text, int64_t minimum) const {
    const std::string label = name + "=" + quoted(text);
    int64_t value = 0;
    const char* end = text.data() + text.size();
    const auto [stop, error] = std::from_chars(text.data(), end, value);
    if (error == std::errc::result_out_of_range) {
      throw UserError("environment variable " + label + " is out of range");
    }
    if (text.empty() || error != std::errc() || stop != end) {
      throw UserError("environment variable " + label + " is not an integer");
    }
    if (value < minimum) {
      throw UserError("environment variable " + label +
                      (minimum == 0 ? " must not be negative"
                                    : " must be at least " + std::to_string(minimum)));
    }
    return {value, label};
  }

  Number required_integer(const std::string& name, int64_t minimum) const {
    return integer(name, required(name), minimum);
  }

 private:
  const EnvLookup& env_;
  std::string trigger_;
  std::string launch_;
};

void check_less(const Number& index, const Number& count) {
  if (index.value >= count.value) {
    throw UserError("environment variable " + index.label + " must be less than " + count.label);
  }
}

// The cross-checks every launcher's numbers must pass.
void check_ranks(const Number& rank, const Number& local_rank, const Number& world_size,
                 const Number& local_world_size) {
  check_less(rank, world_size);
  check_less(local_rank, local_world_size);
  if (local_world_size.value > world_size.value) {
    throw UserError("environment variable " + local_world_size.label + " must not exceed " +
                    world_size.label);
  }
}

int master_port(const Reader& env) {
  const auto text = env.get("MASTER_PORT");
  if (!text) return kDefaultMasterPort;
  const Number port = env.integer("MASTER_PORT", *text, 0);
  if (port.value < 1 || port.value > 65535) {
    throw UserError("environment variable " + port.label + " is not a port number (1 to 65535)");
  }
  return static_cast<int>(port.value);
}

// MASTER_ADDR if set; nullopt if unset (callers decide the fallback).
std::optional<std::string> explicit_master_addr(const Reader& env) {
  auto addr = env.get("MASTER_ADDR");
  if (addr && addr->empty()) throw UserError("environment variable MASTER_ADDR is set but empty");
  return addr;
}

// MASTER_ADDR, or 127.0.0.1 for a single process, which needs no rendezvous host.
std::string master_addr(const Reader& env, const Number& world_size) {
  if (auto addr = explicit_master_addr(env)) return *addr;
  if (world_size.value == 1) return kLocalHost;
  throw UserError("environment variable MASTER_ADDR is not set; with " + world_size.label +
                  " every process must be told the address of rank 0's host");
}

LaunchEnv read_torchrun(const EnvLookup& lookup) {
  const Reader env(lookup, "RANK", "a torchrun launch");
  const Number rank = env.required_integer("RANK", 0);
  const Number world_size = env.required_integer("WORLD_SIZE", 1);
  const Number local_rank = env.required_integer("LOCAL_RANK", 0);
  // torch.distributed.launch and older torchruns may leave it out.
  const auto local_text = env.get("LOCAL_WORLD_SIZE");
  const Number local_world_size =
      local_text ? env.integer("LOCAL_WORLD_SIZE", *local_text, 1) : world_size;
  check_ranks(rank, local_rank, world_size, local_world_size);
  return {Launcher::kTorchrun, rank.value,       local_rank.value,      world_size.value,
          local_world_size.value, master_addr(env, world_size), master_port(env)};
}

LaunchEnv read_open_mpi(const EnvLookup& lookup) {
  const Reader env(lookup, "OMPI_COMM_WORLD_RANK", "an Open MPI launch");
  const Number rank = env.required_integer("OMPI_COMM_WORLD_RANK", 0);
  const Number world_size = env.required_integer("OMPI_COMM_WORLD_SIZE", 1);
  const Number local_rank = env.required_integer("OMPI_COMM_WORLD_LOCAL_RANK", 0);
  const Number local_world_size = env.required_integer("OMPI_COMM_WORLD_LOCAL_SIZE", 1);
  check_ranks(rank, local_rank, world_size, local_world_size);
  return {Launcher::kOpenMpi,     rank.value,       local_rank.value,      world_size.value,
          local_world_size.value, master_addr(env, world_size), master_port(env)};
}

// Tasks on this node: SLURM_NTASKS_PER_NODE (set only with --ntasks-per-node),
// else this node's entry of SLURM_TASKS_PER_NODE ("2(x3),1"), which is right
// even when nodes run different numbers of tasks.
Number slurm_local_world_size(const Reader& env) {
  if (auto text = env.get("SLURM_NTASKS_PER_NODE")) {
    return env.integer("SLURM_NTASKS_PER_NODE", *text, 1);
  }
  const std::string list = env.required("SLURM_TASKS_PER_NODE");
  std::vector<int64_t> counts;
  try {
    counts = expand_slurm_tasks_per_node(list);
  } catch (const UserError& e) {
    throw UserError("environment variable SLURM_TASKS_PER_NODE: " + std::string(e.what()));
  }
  std::size_t node = 0;
  std::string label = "SLURM_TASKS_PER_NODE=" + quoted(list);
  if (counts.size() > 1) {
    if (auto text = env.get("SLURM_NODEID")) {
      const Number node_id = env.integer("SLURM_NODEID", *text, 0);
      if (node_id.value >= static_cast<int64_t>(counts.size())) {
        throw UserError("environment variable " + node_id.label + " has no entry in " + label);
      }
      node = static_cast<std::size_t>(node_id.value);
      label += " on node " + node_id.label;
    }
  }
  if (counts[node] < 1) throw UserError("environment variable " + label + " gives this node no tasks");
  return {counts[node], label};
}

// MASTER_ADDR, else the first host of the step's (or job's) node list: srun
// starts rank 0 on the first node of the step.
std::string slurm_master_addr(const Reader& env, const Number& world_size) {
  if (auto addr = explicit_master_addr(env)) return *addr;
  for (const char* name : {"SLURM_STEP_NODELIST", "SLURM_NODELIST", "SLURM_JOB_NODELIST"}) {
    const auto list = env.get(name);
    if (!list) continue;
    try {
      return expand_slurm_nodelist(*list).front();
    } catch (const UserError& e) {
      throw UserError("environment variable " + std::string(name) + ": " + e.what());
    }
  }
  if (world_size.value == 1) return kLocalHost;
  throw UserError(
      "none of MASTER_ADDR, SLURM_STEP_NODELIST, SLURM_NODELIST, SLURM_JOB_NODELIST is set; "
      "with " +
      world_size.label + " every process must be told the address of rank 0's host");
}

LaunchEnv read_slurm(const EnvLookup& lookup) {
  const Reader env(lookup, "SLURM_PROCID", "a Slurm launch");
  const Number rank = env.required_integer("SLURM_PROCID", 0);
  const Number world_size = env.required_integer("SLURM_NTASKS", 1);
  const Number local_rank = env.required_integer("SLURM_LOCALID", 0);
  const Number local_world_size = slurm_local_world_size(env);
  check_ranks(rank, local_rank, world_size, local_world_size);
  return {Launcher::kSlurm,       rank.value,       local_rank.value,      world_size.value,
          local_world_size.value, slurm_master_addr(env, world_size), master_port(env),
          /*gpus_bound_per_task=*/env.get("SLURM_GPUS_PER_TASK").has_value()};
}

}  // namespace

EnvLookup process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

LaunchEnv read_launch_env(const EnvLookup& env) {
  if (env("RANK")) return read_torchrun(env);
  if (env("OMPI_COMM_WORLD_RANK")) return read_open_mpi(env);
  if (env("SLURM_PROCID")) return read_slurm(env);
  throw UserError(
      "no launcher variables found (RANK, OMPI_COMM_WORLD_RANK or SLURM_PROCID); start one "
      "process per GPU with 'torchrun --no-python --nproc-per-node N PROGRAM ARGS', "
      "'scripts/launch_local.sh --nproc-per-node N PROGRAM ARGS', 'srun' or 'mpirun'");
}

std::string launcher_name(Launcher launcher) {
  switch (launcher) {
    case Launcher::kTorchrun:
      return "torchrun";
    case Launcher::kSlurm:
      return "Slurm";
    case Launcher::kOpenMpi:
      return "Open MPI";
    case Launcher::kSpawned:
      return "spawned";
  }
  return "unknown launcher";
}

}  // namespace tutorial
