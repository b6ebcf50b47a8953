// Every rank's sign of life, kept in the rendezvous store by a thread of its
// own, so that a rank whose collective failed can tell which rank stopped
// answering (stopped by SIGSTOP or a debugger, frozen, or gone) rather than
// only that its wait timed out.
#pragma once

#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace tutorial {

struct SilentRank {
  int64_t rank;
  double seconds;  // since its last beat, by this machine's clock
};

class Heartbeat {
 public:
  // `store`: a client of the rendezvous store for this heartbeat alone, with a
  // short timeout (the thread must not wait on a store that stopped answering).
  // Beats once before returning, then every `period`.
  Heartbeat(c10::intrusive_ptr<c10d::Store> store, int64_t rank, int64_t world_size,
            std::chrono::milliseconds period = std::chrono::seconds(1));
  ~Heartbeat();  // stops beating
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

  // The other ranks whose beat did not move during the next 2.5 periods (this
  // call sleeps that long). Throws (c10::Error or another std::exception)
  // when the store itself does not answer: its host, rank 0, ended or stopped.
  std::vector<SilentRank> silent_ranks();

 private:
  void beat();

  c10::intrusive_ptr<c10d::Store> store_;
  // One store client serves this thread's beats and the caller's reads: its
  // requests and replies must not interleave.
  std::mutex store_mutex_;
  int64_t rank_, world_size_;
  std::chrono::milliseconds period_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tutorial
