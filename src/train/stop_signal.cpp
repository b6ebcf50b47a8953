#include "train/stop_signal.h"

#include <signal.h>

#include <atomic>

namespace tutorial {
namespace {

std::atomic<int> received{0};

void remember(int signal) { received = signal; }

}  // namespace

void install_stop_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = remember;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGUSR1, &action, nullptr);
}

int stop_signal_received() { return received; }

}  // namespace tutorial
