#include "distributed/spawn_workers.h"

#include "core/errors.h"
#include "distributed/stderr_relay.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <vector>

namespace tutorial {
namespace {

std::atomic<int> forwarded_signal{0};

void remember_signal(int signal) { forwarded_signal = signal; }

// "exited with status 3" or "was killed by signal 9 (Killed)".
std::string describe_status(int status) {
  if (WIFSIGNALED(status)) {
    // NCCL's watchdog aborts a rank whose collective outlived its timeout.
    const std::string cause = WTERMSIG(status) == SIGABRT
                                  ? "; with NCCL, a collective that outlived --dist-timeout"
                                  : "";
    return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + cause + ")";
  }
  return "exited with status " + std::to_string(WEXITSTATUS(status));
}

// A process ended by a signal reports 128 + the signal, as shells do.
constexpr int kSignalExitBase = 128;

// How often the parent looks for ended workers and forwarded signals.
constexpr std::chrono::milliseconds kPollInterval{50};
// How long, once every worker has ended, their last output may take to arrive.
constexpr std::chrono::milliseconds kRelayFinishLimit{1000};

int exit_code_of(int status) {
  return WIFSIGNALED(status) ? kSignalExitBase + WTERMSIG(status) : WEXITSTATUS(status);
}

// True when process `pid` is stopped (SIGSTOP, a debugger): state T or t in /proc.
bool is_stopped(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t end_of_name = text.rfind(") ");
  if (end_of_name == std::string::npos || end_of_name + 2 >= text.size()) return false;
  const char state = text[end_of_name + 2];
  return state == 'T' || state == 't';
}

// Kills the running workers that are stopped (they cannot save or exit on
// SIGTERM) and names them: "; worker 1 is stopped (SIGSTOP or a debugger): killed".
std::string kill_stopped(const std::vector<pid_t>& pids, const std::vector<bool>& running) {
  std::string names;
  for (size_t i = 0; i < pids.size(); ++i) {
    if (!running[i] || !is_stopped(pids[i])) continue;
    ::kill(pids[i], SIGKILL);
    names += (names.empty() ? "" : ", ") + std::to_string(i);
  }
  if (names.empty()) return "";
  return "; worker " + names + " is stopped (SIGSTOP or a debugger): killed";
}

void signal_all(const std::vector<pid_t>& pids, const std::vector<bool>& running, int signal) {
  for (size_t i = 0; i < pids.size(); ++i) {
    if (running[i]) ::kill(pids[i], signal);
  }
}

// The forked child: runs the worker and exits with its status, never returning.
[[noreturn]] void run_worker(pid_t parent, int64_t local_rank,
                             const std::function<int(int64_t)>& worker, StderrRelay& relay) {
  // A worker dies with its parent, whatever kills the parent.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(kInternalErrorExitCode);
  relay.become_worker_stderr(static_cast<size_t>(local_rank));
  int code = kInternalErrorExitCode;
  try {
    code = worker(local_rank);
  } catch (...) {
    code = kInternalErrorExitCode;  // worker functions report their own errors; a last resort
  }
  std::cout.flush();
  std::cerr.flush();
  ::_exit(code);  // no destructors of the parent's objects in the child
}

// The workers' pids, by local rank, their stderr going through `relay`. If a
// fork fails, those started are killed.
std::vector<pid_t> fork_workers(int64_t num_workers, const std::function<int(int64_t)>& worker,
                                StderrRelay& relay) {
  std::cout.flush();
  std::cerr.flush();
  const pid_t parent = ::getpid();
  std::vector<pid_t> pids;
  for (int64_t local_rank = 0; local_rank < num_workers; ++local_rank) {
    relay.add_worker();
    const pid_t pid = ::fork();
    if (pid < 0) {
      const int fork_errno = errno;
      signal_all(pids, std::vector<bool>(pids.size(), true), SIGKILL);
      throw UserError(std::string("cannot start worker processes: ") + std::strerror(fork_errno));
    }
    if (pid == 0) run_worker(parent, local_rank, worker, relay);
    relay.close_worker_end(static_cast<size_t>(local_rank));
    pids.push_back(pid);
  }
  return pids;
}

// While alive, SIGINT, SIGTERM and SIGUSR1 sent to this process are kept in
// forwarded_signal for the workers; the previous handlers come back after.
class ForwardedSignals {
 public:
  ForwardedSignals() {
    struct sigaction action {};
    action.sa_handler = remember_signal;
    ::sigaction(SIGINT, &action, &old_int_);
    ::sigaction(SIGTERM, &action, &old_term_);
    ::sigaction(SIGUSR1, &action, &old_usr1_);
  }
  ~ForwardedSignals() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
    ::sigaction(SIGUSR1, &old_usr1_, nullptr);
  }
  ForwardedSignals(const ForwardedSignals&) = delete;
  ForwardedSignals& operator=(const ForwardedSignals&) = delete;

 private:
  struct sigaction old_int_ {}, old_term_ {}, old_usr1_ {};
};

// The parent's view of its workers while it waits for them.
class Supervisor {
 public:
  Supervisor(std::vector<pid_t> pids, StderrRelay& relay, std::chrono::milliseconds grace,
             std::chrono::milliseconds signal_grace)
      : pids_(std::move(pids)), relay_(relay), running_(pids_.size(), true),
        statuses_(pids_.size(), 0), alive_(pids_.size()), grace_(grace),
        signal_grace_(signal_grace) {}

  // Until every worker has ended: forwards signals, reaps, stops the others
  // after a failure, kills those past their deadline.
  void wait_for_all() {
    while (alive_ > 0) {
      if (const int signal = forwarded_signal.exchange(0)) forward(signal);
      reap();
      if (stopping_ && std::chrono::steady_clock::now() >= kill_deadline_) {
        signal_all(pids_, running_, SIGKILL);
      }
      relay_.relay(kPollInterval);
    }
    relay_.finish(kRelayFinishLimit);
  }

  // spawn_workers's result, once wait_for_all() has returned.
  int exit_status() const {
    if (received_signal_ == 0) return result_;
    const bool all_saved = std::all_of(statuses_.begin(), statuses_.end(), [](int status) {
      return WIFEXITED(status) && WEXITSTATUS(status) == kStoppedExitStatus;
    });
    if (all_saved) return kStoppedExitStatus;
    return result_ != 0 ? result_ : kSignalExitBase + received_signal_;
  }

 private:
  // The workers stop themselves on `signal`, given signal_grace to save.
  void forward(int signal) {
    signal_all(pids_, running_, signal);
    if (received_signal_ != 0) return;
    received_signal_ = signal;
    stopping_ = true;
    kill_deadline_ = std::chrono::steady_clock::now() + signal_grace_;
  }

  // Reaps every worker that has ended. Of several failures found at once,
  // names one killed by a signal, the likely cause, rather than a peer that
  // exited because it lost its connection to it; then stops the others.
  void reap() {
    int64_t failed = -1;
    int failed_status = 0;
    int status = 0;
    for (pid_t pid; (pid = ::waitpid(-1, &status, WNOHANG)) > 0;) {
      for (size_t i = 0; i < pids_.size(); ++i) {
        if (pids_[i] != pid || !running_[i]) continue;
        running_[i] = false;
        statuses_[i] = status;
        --alive_;
        const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!ok && (failed < 0 || (WIFSIGNALED(status) && !WIFSIGNALED(failed_status)))) {
          failed = static_cast<int64_t>(i);
          failed_status = status;
        }
      }
    }
    if (failed >= 0 && !stopping_) stop_after_failure(failed, failed_status);
  }

  // A worker's user error (status 2) has said what is wrong in its own line:
  // the parent adds one only for a failure the worker could not explain, or
  // a stopped worker it had to kill.
  void stop_after_failure(int64_t failed, int failed_status) {
    relay_.relay(std::chrono::milliseconds(0));  // the worker's own words first
    const std::string killed = kill_stopped(pids_, running_);
    const bool explained = WIFEXITED(failed_status) &&
                           WEXITSTATUS(failed_status) == kUserErrorExitCode && killed.empty();
    if (!explained) {
      std::cerr << "worker " << failed << " " << describe_status(failed_status) << killed
                << "; stopping the other workers" << std::endl;
    }
    if (result_ == 0) result_ = exit_code_of(failed_status);
    stopping_ = true;
    kill_deadline_ = std::chrono::steady_clock::now() + grace_;
    signal_all(pids_, running_, SIGTERM);
  }

  std::vector<pid_t> pids_;
  StderrRelay& relay_;
  std::vector<bool> running_;
  std::vector<int> statuses_;  // waitpid's, of each worker that has ended
  size_t alive_;
  std::chrono::milliseconds grace_, signal_grace_;
  int result_ = 0;           // the first failure's exit code
  int received_signal_ = 0;  // the first signal forwarded
  bool stopping_ = false;
  std::chrono::steady_clock::time_point kill_deadline_{};
};

}  // namespace

int spawn_workers(int64_t num_workers, const std::function<int(int64_t)>& worker,
                  std::chrono::milliseconds grace, std::chrono::milliseconds signal_grace) {
  if (num_workers < 1) throw UserError("need at least one worker process");
  StderrRelay relay;
  Supervisor supervisor(fork_workers(num_workers, worker, relay), relay, grace, signal_grace);
  ForwardedSignals forwarded;
  supervisor.wait_for_all();
  return supervisor.exit_status();
}

}  // namespace tutorial
