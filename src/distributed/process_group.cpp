#include "distributed/process_group.h"

#include "build_config.h"
#include "core/errors.h"
#include "distributed/network.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#if TUTORIAL_WITH_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#if TUTORIAL_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>

namespace tutorial {
namespace {

// How long the heartbeat's store operations may take before they count as
// "the store does not answer".
constexpr std::chrono::milliseconds kHeartbeatStoreTimeout{3000};

// Backends this build of LibTorch can create: "gloo" and/or "nccl".
std::vector<std::string> available_backends() {
  std::vector<std::string> backends;
  if (TUTORIAL_WITH_GLOO) backends.push_back("gloo");
  if (TUTORIAL_WITH_NCCL) backends.push_back("nccl");
  return backends;
}

std::string choose_backend(const std::string& requested, const torch::Device& device) {
  const auto available = available_backends();
  auto has = [&](const std::string& name) {
    return std::find(available.begin(), available.end(), name) != available.end();
  };
  std::string backend = requested;
  if (requested == "auto") backend = device.is_cuda() ? "nccl" : "gloo";
  if (backend != "nccl" && backend != "gloo") {
    throw UserError("--backend must be auto, nccl or gloo, got '" + requested + "'");
  }
  if (!has(backend)) {
    throw UserError("backend " + backend + " is not available in this build (" +
                    (backend == "gloo" ? "LibTorch's Gloo headers were not found"
                                       : "LibTorch was built without CUDA/NCCL") +
                    ")");
  }
  if (backend == "nccl" && !device.is_cuda()) {
    throw UserError("the nccl backend needs a CUDA device, not " + device.str());
  }
  return backend;
}

// While alive, the process's stderr goes to /dev/null. LibTorch logs every
// failed connection attempt of the rendezvous there (through glog or its own
// logger, depending on the build); its failures are reported in one line instead.
class QuietStderr {
 public:
  QuietStderr() : saved_(::dup(STDERR_FILENO)) {
    const int null_fd = ::open("/dev/null", O_WRONLY);
    if (saved_ >= 0 && null_fd >= 0) ::dup2(null_fd, STDERR_FILENO);
    if (null_fd >= 0) ::close(null_fd);
  }
  ~QuietStderr() {
    if (saved_ < 0) return;
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
  }

 private:
  int saved_;
};

enum class StoreRole {
  kRendezvous,  // rank 0 hosts the store (unless torchrun's agent does); all ranks wait for all
  kClient,      // one more connection to it, for the heartbeat
};

// TCPStore failures (timeouts, ports in use) arrive as c10::Error with a
// backtrace: say what they mean in one line.
c10::intrusive_ptr<c10d::Store> connect_store(const LaunchEnv& env,
                                              std::chrono::milliseconds timeout, StoreRole role) {
  // Under torchrun the agent already hosts a store at MASTER_PORT: every rank
  // is its client, in a namespace of its own per restart, as Python does.
  const char* agent_store = std::getenv("TORCHELASTIC_USE_AGENT_STORE");
  const bool use_agent_store = agent_store && std::string(agent_store) == "True";
  const bool rendezvous = role == StoreRole::kRendezvous;
  c10d::TCPStoreOptions options;
  options.port = static_cast<uint16_t>(env.master_port);
  options.isServer = rendezvous && env.rank == 0 && !use_agent_store;
  // No count of workers to wait for: wait_for_every_rank() waits, and says how
  // many ranks came; LibTorch 2.x's own wait in the constructor would only say
  // that not all did (numWorkers is read by that wait alone).
  options.waitWorkers = false;
  options.timeout = timeout;
  const std::string where = env.master_addr + ":" + std::to_string(env.master_port);
  if (!resolves(env.master_addr)) {  // else TCPStore would retry it until the timeout
    throw UserError("rank " + std::to_string(env.rank) + ": the master host '" + env.master_addr +
                    "' does not resolve to an address (set MASTER_ADDR to one every node "
                    "reaches)");
  }
  try {
    QuietStderr quiet;
    c10::intrusive_ptr<c10d::Store> store =
        c10::make_intrusive<c10d::TCPStore>(env.master_addr, options);
    if (use_agent_store) {
      const char* restart = std::getenv("TORCHELASTIC_RESTART_COUNT");
      store = c10::make_intrusive<c10d::PrefixStore>(
          "/worker/attempt_" + std::string(restart ? restart : "0"), store);
    }
    return store;
  } catch (const std::exception& e) {
    const std::string what = e.what();
    if (what.find("ddress already in use") != std::string::npos) {
      throw UserError("rank 0 cannot listen on " + where +
                      ": MASTER_PORT " + std::to_string(env.master_port) + " is already in use");
    }
    throw UserError("rank " + std::to_string(env.rank) + " could not meet the other " +
                    std::to_string(env.world_size - 1) + " rank(s) at " + where + " within " +
                    std::to_string(timeout.count() / 1000) +
                    " s (check MASTER_ADDR, MASTER_PORT and that every rank was started)");
  }
}

// Every rank checks in at the store and waits until all have. Without this a
// rank that was never started shows up only later, as the backend's own
// connection timeout ("Socket Timeout"), which reads like a network problem.
void wait_for_every_rank(c10d::Store& store, const LaunchEnv& env,
                         std::chrono::milliseconds timeout, std::chrono::milliseconds time_left) {
  const std::string joined = "tutorial/ranks_joined", everyone = "tutorial/every_rank_joined";
  try {
    QuietStderr quiet;
    if (store.add(joined, 1) == env.world_size) store.set(everyone, std::vector<uint8_t>{1});
    store.wait({everyone}, time_left);
    return;
  } catch (const std::exception&) {
  }
  std::string count = "not every rank";
  try {
    QuietStderr quiet;
    count = "only " + std::to_string(store.add(joined, 0)) + " of " +
            std::to_string(env.world_size) + " ranks";
  } catch (const std::exception&) {  // the store itself is gone (rank 0 ended)
  }
  throw UserError("rank " + std::to_string(env.rank) + " waited " +
                  std::to_string(timeout.count() / 1000) + " s at " + env.master_addr + ":" +
                  std::to_string(env.master_port) + " and " + count +
                  " joined (check that every rank was started, with the same WORLD_SIZE, "
                  "MASTER_ADDR and MASTER_PORT)");
}

// Gloo says a timeout in two ways: "Timed out waiting ..." from the waiting
// side, "Application timeout caused pair closure" when its connection was
// closed for one first (seen on a loaded machine).
bool is_timeout(const std::string& cause) {
  return cause.find("imed out") != std::string::npos ||
         cause.find("Application timeout") != std::string::npos;
}

}  // namespace

std::optional<std::pair<std::string, std::string>> nccl_error_handling_setting(
    const EnvLookup& env, bool on_by_default) {
  if (on_by_default || env("NCCL_ASYNC_ERROR_HANDLING") || env("TORCH_NCCL_ASYNC_ERROR_HANDLING")) {
    return std::nullopt;
  }
  return std::make_pair(std::string("NCCL_ASYNC_ERROR_HANDLING"), std::string("1"));
}

ProcessGroup::ProcessGroup(const LaunchEnv& env, const std::string& backend,
                           torch::Device device, std::chrono::milliseconds timeout,
                           const Settings& must_agree)
    : rank_(env.rank),
      world_size_(env.world_size),
      backend_name_(choose_backend(backend, device)),
      device_(device),
      timeout_(timeout),
      where_(env.master_addr + ":" + std::to_string(env.master_port)) {
  const auto start = std::chrono::steady_clock::now();
  store_ = connect_store(env, timeout, StoreRole::kRendezvous);
  // What is left of the timeout (rank 0's store may have spent it waiting).
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      timeout - (std::chrono::steady_clock::now() - start));
  wait_for_every_rank(*store_, env, timeout, std::max(left, std::chrono::milliseconds(100)));
  // Before any collective: ranks that disagree would crash in one.
  agree_on_settings(*store_, rank_, world_size_, must_agree);
  const int rank = static_cast<int>(rank_), size = static_cast<int>(world_size_);
#if TUTORIAL_WITH_GLOO
  if (backend_name_ == "gloo") {
    auto options = c10d::ProcessGroupGloo::Options::create();
    options->timeout = timeout;
    // GLOO_SOCKET_IFNAME if set, else the local address on the route to the
    // master (loopback for a one-machine run). Gloo's own default, the address
    // the hostname resolves to, may be one the other nodes cannot reach.
    std::string bound_to = "its default address";
    try {
      if (const char* interface = std::getenv("GLOO_SOCKET_IFNAME")) {
        bound_to = std::string("GLOO_SOCKET_IFNAME=") + interface;
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(interface));
      } else if (const auto address = local_address_towards(env.master_addr)) {
        bound_to = *address;
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(*address));
      } else {
        options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      }
      group_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store_, rank, size, options);
    } catch (const std::exception& e) {  // c10::Error, or gloo's own exceptions
      // Met at the store, but the ranks' own connections failed: a network setup problem.
      throw UserError("rank " + std::to_string(rank) + " (Gloo on " + bound_to +
                      ") could not connect to the other ranks: " + first_line(e.what()) +
                      "; set GLOO_SOCKET_IFNAME to the interface that reaches the other nodes");
    }
  }
#endif
#if TUTORIAL_WITH_NCCL
  if (backend_name_ == "nccl") {
    if (const auto setting = nccl_error_handling_setting(process_environment(),
                                                         compat::kNcclAsyncErrorHandlingByDefault)) {
      ::setenv(setting->first.c_str(), setting->second.c_str(), /*overwrite=*/0);
    }
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = timeout;
    group_ = c10::make_intrusive<c10d::ProcessGroupNCCL>(store_, rank, size, options);
  }
#endif
  if (!group_) throw UserError("backend " + backend_name_ + " is not available in this build");
  // Short store timeouts: the heartbeat must not hang on a store that stopped answering.
  heartbeat_ = std::make_unique<Heartbeat>(
      connect_store(env, kHeartbeatStoreTimeout, StoreRole::kClient), rank_, world_size_);
}

ProcessGroup::~ProcessGroup() {
  // Every rank stops beating before the barrier, so none talks to rank 0's
  // store once rank 0 is past it and gone.
  heartbeat_.reset();
  if (!failed_) {
    try {
      group_->barrier()->wait();
    } catch (const std::exception& e) {
      // A rank failed or left early: nothing to wait for. Say so once, briefly.
      std::cerr << "rank " << rank_ << ": final barrier failed: " << first_line(e.what())
                << std::endl;
    }
  }
  group_.reset();
  store_.reset();
}

void ProcessGroup::barrier() { wait(group_->barrier(), "a barrier"); }

void ProcessGroup::wait(const c10::intrusive_ptr<c10d::Work>& work, const std::string& what) {
  try {
    work->wait();
  } catch (const std::exception& e) {  // c10::Error, or Gloo's own exceptions
    failed_ = true;
    throw UserError(explain_failure(what, e.what()));
  }
}

std::string ProcessGroup::explain_failure(const std::string& what, const std::string& cause) const {
  const std::string failed = "rank " + std::to_string(rank_) + ": " + what + " " +
                             (is_timeout(cause)
                                  ? "timed out after " + std::to_string(timeout_.count() / 1000) + " s"
                                  : "failed (" + first_line(cause) + ")");
  if (!heartbeat_) return failed;
  std::vector<SilentRank> silent;
  try {
    silent = heartbeat_->silent_ranks();
  } catch (const std::exception&) {
    return failed + ", and the store at " + where_ +
           " does not answer: rank 0, which hosts it, has ended or stopped answering";
  }
  if (silent.empty()) {
    return failed + " though every rank is alive: do all ranks run the same steps, with the same " +
           "options and data? (a step longer than --dist-timeout also ends so)";
  }
  std::string ranks;
  double longest = 0;
  for (size_t i = 0; i < silent.size(); ++i) {
    ranks += (i == 0 ? "" : ", ") + std::to_string(silent[i].rank);
    longest = std::max(longest, silent[i].seconds);
  }
  return failed + ": rank" + (silent.size() > 1 ? "s " : " ") + ranks + " stopped answering " +
         std::to_string(static_cast<int64_t>(longest)) +
         " s ago: ended, stopped (SIGSTOP, a debugger) or frozen (on its host, "
         "ps -o pid,stat,args shows T for a stopped process)";
}

// NCCL works on GPU tensors only: CPU tensors take a round trip to the device.
void ProcessGroup::run_collective(
    torch::Tensor& tensor, const std::string& what,
    const std::function<c10::intrusive_ptr<c10d::Work>(std::vector<torch::Tensor>&)>& collective) {
  const bool staged = backend_name_ == "nccl" && !tensor.is_cuda();
  std::vector<torch::Tensor> tensors{staged ? tensor.to(device_) : tensor};
  wait(collective(tensors), what);
  if (staged) tensor.copy_(tensors.front());
}

void ProcessGroup::all_reduce_sum(torch::Tensor& tensor) {
  run_collective(tensor, "an all-reduce",
                 [&](std::vector<torch::Tensor>& t) { return group_->allreduce(t); });
}

void ProcessGroup::broadcast_from_rank0(torch::Tensor& tensor) {
  run_collective(tensor, "a broadcast",
                 [&](std::vector<torch::Tensor>& t) { return group_->broadcast(t); });
}

}  // namespace tutorial
