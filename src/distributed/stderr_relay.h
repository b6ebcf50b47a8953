// The workers' stderr, relayed line by line onto the parent's (stage 4's
// spawn_workers): a line that another worker has already printed is dropped,
// so a bad option or a missing file that every rank meets reads as one line,
// not one per rank, while a line only one rank prints is passed on as it is.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace tutorial {

class StderrRelay {
 public:
  StderrRelay() = default;
  ~StderrRelay();
  StderrRelay(const StderrRelay&) = delete;
  StderrRelay& operator=(const StderrRelay&) = delete;

  // Before forking worker number `worker` (0, 1, ... in order): a new pipe.
  void add_worker();
  // In the forked worker: its stderr becomes its pipe; no other end stays open.
  void become_worker_stderr(size_t worker);
  // In the parent after the fork: only the worker holds its pipe's write end.
  void close_worker_end(size_t worker);

  // Waits up to `wait` for output and prints the complete lines that arrived.
  void relay(std::chrono::milliseconds wait);
  // Prints everything still to come, partial last lines included, giving the
  // workers (which have exited) up to `limit` to close their pipes.
  void finish(std::chrono::milliseconds limit);

 private:
  struct Pipe {
    int read_fd = -1, write_fd = -1;
    std::string pending;  // received, not yet a whole line
  };
  void read_from(size_t worker);
  void print(size_t worker, const std::string& line);

  std::vector<Pipe> pipes_;
  std::map<std::string, size_t> first_printed_by_;  // line -> worker
};

}  // namespace tutorial
