// Errors a user can cause (bad options, missing or corrupt data files).
//
// They are thrown as UserError and turned by run_main() into one line on
// stderr and exit status 2: never a backtrace, an abort or a hang.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>

namespace tutorial {

// Exit status for errors the user can fix (bad input, bad options).
constexpr int kUserErrorExitCode = 2;
// Exit status for internal failures (a bug, or LibTorch itself failing).
constexpr int kInternalErrorExitCode = 1;
// Exit status of a run stopped by a signal after saving a checkpoint
// (train/stop_signal.h); stage 4's parent passes it on (spawn_workers).
constexpr int kStoppedExitStatus = 3;

class UserError : public std::runtime_error {
 public:
  explicit UserError(const std::string& message) : std::runtime_error(message) {}
};

// Runs `body` and maps exceptions to one-line messages and exit codes:
// UserError, running out of memory and file system errors (a path this user
// may not read) -> "error: <message>" and 2; anything else, which only a bug
// reaches, -> "internal error: ..." and 1.
// Before it, sets up host memory reuse (core/host_memory.h), once per program.
int run_main(const std::string& program_name, const std::function<int()>& body);

// The first line of an exception message (c10::Error messages carry backtraces).
std::string first_line(const std::string& text);

}  // namespace tutorial
