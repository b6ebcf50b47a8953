#include "distributed/stderr_relay.h"

#include "core/errors.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

namespace tutorial {
namespace {

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

StderrRelay::~StderrRelay() {
  for (Pipe& pipe : pipes_) {
    close_fd(pipe.read_fd);
    close_fd(pipe.write_fd);
  }
}

void StderrRelay::add_worker() {
  int fds[2];
  if (::pipe(fds) != 0) {
    throw UserError(std::string("cannot start worker processes: no pipe for their output (") +
                    std::strerror(errno) + ")");
  }
  // The parent never blocks on a worker that has printed nothing.
  ::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) | O_NONBLOCK);
  pipes_.push_back({fds[0], fds[1], ""});
}

void StderrRelay::become_worker_stderr(size_t worker) {
  for (size_t i = 0; i < pipes_.size(); ++i) {
    close_fd(pipes_[i].read_fd);
    if (i == worker) ::dup2(pipes_[i].write_fd, STDERR_FILENO);
    close_fd(pipes_[i].write_fd);
  }
}

void StderrRelay::close_worker_end(size_t worker) { close_fd(pipes_[worker].write_fd); }

void StderrRelay::relay(std::chrono::milliseconds wait) {
  std::vector<pollfd> open;
  std::vector<size_t> workers;
  for (size_t i = 0; i < pipes_.size(); ++i) {
    if (pipes_[i].read_fd < 0) continue;
    open.push_back({pipes_[i].read_fd, POLLIN, 0});
    workers.push_back(i);
  }
  if (open.empty()) {
    if (wait.count() > 0) ::poll(nullptr, 0, static_cast<int>(wait.count()));
    return;
  }
  // A signal (to forward to the workers) ends the wait early: fine.
  if (::poll(open.data(), open.size(), static_cast<int>(wait.count())) <= 0) return;
  for (size_t k = 0; k < open.size(); ++k) {
    if (open[k].revents != 0) read_from(workers[k]);
  }
}

void StderrRelay::finish(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  auto any_open = [&] {
    for (const Pipe& pipe : pipes_) {
      if (pipe.read_fd >= 0) return true;
    }
    return false;
  };
  while (any_open() && std::chrono::steady_clock::now() < deadline) {
    relay(std::chrono::milliseconds(10));
  }
  for (size_t i = 0; i < pipes_.size(); ++i) {
    // Whatever kept a pipe open past the limit (something the worker started)
    // is not waited for; a last line without its newline is still printed.
    if (!pipes_[i].pending.empty()) print(i, pipes_[i].pending);
    pipes_[i].pending.clear();
    close_fd(pipes_[i].read_fd);
  }
}

// Reads what the pipe holds now; a closed pipe (the worker has exited) is
// closed here too, its partial last line printed.
void StderrRelay::read_from(size_t worker) {
  Pipe& pipe = pipes_[worker];
  char buffer[4096];
  while (true) {
    const ssize_t n = ::read(pipe.read_fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;  // EAGAIN: nothing more for now
    if (n == 0) {
      if (!pipe.pending.empty()) print(worker, pipe.pending);
      pipe.pending.clear();
      close_fd(pipe.read_fd);
      return;
    }
    pipe.pending.append(buffer, static_cast<size_t>(n));
    for (size_t end; (end = pipe.pending.find('\n')) != std::string::npos;) {
      print(worker, pipe.pending.substr(0, end));
      pipe.pending.erase(0, end + 1);
    }
  }
}

void StderrRelay::print(size_t worker, const std::string& line) {
  const auto [first, inserted] = first_printed_by_.emplace(line, worker);
  if (!inserted && first->second != worker) return;  // another worker said it already
  std::cerr << line << '\n' << std::flush;
}

}  // namespace tutorial
