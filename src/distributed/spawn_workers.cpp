#include "distributed/spawn_workers.h"

#include "core/errors.h"

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
#include <thread>
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

int exit_code_of(int status) {
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
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

}  // namespace

int spawn_workers(int64_t num_workers, const std::function<int(int64_t)>& worker,
                  std::chrono::milliseconds grace, std::chrono::milliseconds signal_grace) {
  if (num_workers < 1) throw UserError("need at least one worker process");
  std::cout.flush();
  std::cerr.flush();
  const pid_t parent = ::getpid();
  std::vector<pid_t> pids;
  std::vector<bool> running;
  for (int64_t local_rank = 0; local_rank < num_workers; ++local_rank) {
    const pid_t pid = ::fork();
    if (pid < 0) {
      signal_all(pids, running, SIGKILL);
      throw UserError(std::string("cannot start worker processes: ") + std::strerror(errno));
    }
    if (pid == 0) {
      // A worker dies with its parent, whatever kills the parent.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(1);
      int code = 1;
      try {
        code = worker(local_rank);
      } catch (...) {
        code = 1;  // worker functions report their own errors; this is a last resort
      }
      std::cout.flush();
      std::cerr.flush();
      ::_exit(code);  // no destructors of the parent's objects in the child
    }
    pids.push_back(pid);
    running.push_back(true);
  }

  struct sigaction action {};
  action.sa_handler = remember_signal;
  struct sigaction old_int {}, old_term {}, old_usr1 {};
  ::sigaction(SIGINT, &action, &old_int);
  ::sigaction(SIGTERM, &action, &old_term);
  ::sigaction(SIGUSR1, &action, &old_usr1);

  int result = 0;
  int received_signal = 0;
  std::vector<int> statuses(pids.size(), 0);
  int64_t alive = num_workers;
  std::chrono::steady_clock::time_point kill_deadline{};
  bool stopping = false;
  while (alive > 0) {
    if (const int signal = forwarded_signal.exchange(0)) {
      signal_all(pids, running, signal);
      if (received_signal == 0) {
        received_signal = signal;
        stopping = true;  // the workers stop themselves, given time to save
        kill_deadline = std::chrono::steady_clock::now() + signal_grace;
      }
    }
    // Reap every worker that has ended. Of several failures found at once,
    // name one killed by a signal, the likely cause, rather than a peer that
    // exited because it lost its connection to it.
    int64_t failed = -1;
    int failed_status = 0;
    int status = 0;
    for (pid_t pid; (pid = ::waitpid(-1, &status, WNOHANG)) > 0;) {
      for (size_t i = 0; i < pids.size(); ++i) {
        if (pids[i] != pid || !running[i]) continue;
        running[i] = false;
        statuses[i] = status;
        --alive;
        const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!ok && (failed < 0 || (WIFSIGNALED(status) && !WIFSIGNALED(failed_status)))) {
          failed = static_cast<int64_t>(i);
          failed_status = status;
        }
      }
    }
    if (failed >= 0 && !stopping) {
      std::cerr << "worker " << failed << " " << describe_status(failed_status)
                << kill_stopped(pids, running) << "; stopping the other workers" << std::endl;
      if (result == 0) result = exit_code_of(failed_status);
      stopping = true;
      kill_deadline = std::chrono::steady_clock::now() + grace;
      signal_all(pids, running, SIGTERM);
    }
    if (stopping && std::chrono::steady_clock::now() >= kill_deadline) {
      signal_all(pids, running, SIGKILL);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  ::sigaction(SIGUSR1, &old_usr1, nullptr);
  if (received_signal != 0) {
    const bool all_saved = std::all_of(statuses.begin(), statuses.end(), [](int status) {
      return WIFEXITED(status) && WEXITSTATUS(status) == 3;
    });
    if (all_saved) return 3;
    return result != 0 ? result : 128 + received_signal;
  }
  return result;
}

}  // namespace tutorial
