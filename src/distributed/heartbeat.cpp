#include "distributed/heartbeat.h"

#include <pthread.h>
#include <signal.h>

#include <string>

namespace tutorial {
namespace {

std::string key_of(int64_t rank) { return "tutorial/heartbeat/" + std::to_string(rank); }

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t beat_time(c10d::Store& store, int64_t rank) {
  const std::vector<uint8_t> bytes = store.get(key_of(rank));
  return std::stoll(std::string(bytes.begin(), bytes.end()));
}

}  // namespace

Heartbeat::Heartbeat(c10::intrusive_ptr<c10d::Store> store, int64_t rank, int64_t world_size,
                     std::chrono::milliseconds period)
    : store_(std::move(store)), rank_(rank), world_size_(world_size), period_(period) {
  beat();
  thread_ = std::thread([this] {
    // A store whose host has gone must give this thread an error, not kill
    // the process with SIGPIPE.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    std::unique_lock<std::mutex> lock(mutex_);
    while (!wake_.wait_for(lock, period_, [this] { return stopping_; })) {
      lock.unlock();
      try {
        beat();
      } catch (const std::exception&) {
        // The store does not answer: nothing to tell; whoever waits on a
        // collective will find out.
      }
      lock.lock();
    }
  });
}

Heartbeat::~Heartbeat() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void Heartbeat::beat() {
  const std::string text = std::to_string(now_ms());
  std::lock_guard<std::mutex> lock(store_mutex_);
  store_->set(key_of(rank_), std::vector<uint8_t>(text.begin(), text.end()));
}

std::vector<SilentRank> Heartbeat::silent_ranks() {
  auto read_beat = [this](int64_t r) {
    std::lock_guard<std::mutex> lock(store_mutex_);
    return beat_time(*store_, r);
  };
  std::vector<int64_t> before(static_cast<size_t>(world_size_), 0);
  for (int64_t r = 0; r < world_size_; ++r) {
    if (r != rank_) before[r] = read_beat(r);
  }
  std::this_thread::sleep_for(period_ * 5 / 2);
  std::vector<SilentRank> silent;
  for (int64_t r = 0; r < world_size_; ++r) {
    if (r == rank_ || read_beat(r) != before[r]) continue;
    silent.push_back({r, static_cast<double>(now_ms() - before[r]) / 1000.0});
  }
  return silent;
}

}  // namespace tutorial
