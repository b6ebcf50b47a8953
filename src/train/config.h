// Everything a training run is configured by: one struct, filled from the
// shared command line (train/command_line.h), defaults = the tutorial's job.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tutorial {

// The fast path's switches (train/fast_path.h); all off by default.
struct FastPath {
  bool amp = false;             // autocast for the forward pass: bf16, or fp16 if `fp16`
  bool channels_last = false;   // NHWC memory layout for 4-d weights and inputs
  bool data_on_device = false;  // the whole dataset held on the training device
  bool cuda_graph = false;      // capture one training step, replay it (CUDA only)
  bool fp16 = false;            // --amp-dtype fp16: autocast in float16, with loss scaling
};

struct TrainConfig {
  // Data
  std::string data_dir;               // empty: the dataset's default folder
  std::string dataset = "fashion-mnist";
  std::string augment = "auto";       // auto: on for CIFAR-style data, off for (Fashion-)MNIST
  // Model and optimisation (the tutorial: MLP, SGD lr 1e-3, batch 64, 5 epochs)
  std::string model = "mlp";
  int64_t epochs = 5;
  int64_t batch_size = 64;
  int64_t accumulate_steps = 1;       // micro-batches per optimizer step (gradients summed)
  double lr = 1e-3;
  double momentum = 0.0;
  bool nesterov = false;
  double weight_decay = 0.0;
  std::string schedule = "constant";  // constant | step | cosine
  int64_t warmup_epochs = 0;          // linear warm-up to lr before the schedule
  double label_smoothing = 0.0;       // cross-entropy label smoothing of the training loss
  uint64_t seed = 0;
  // Where and how
  std::string device = "auto";        // auto | cpu | cuda | cuda:N
  std::vector<int64_t> devices;       // stage 2: CUDA device indices for DataParallel
  int64_t threads = 0;                // CPU intra-op threads; 0: one per core
  int64_t prefetch = 2;               // batches prepared ahead by a background thread
  FastPath fast_path;
  // Distributed stages
  std::string backend = "auto";       // auto | nccl | gloo
  int64_t dist_timeout = 600;         // seconds to wait for other ranks
  bool sync_bn = false;               // BatchNorm statistics over all ranks' samples
  double bucket_cap_mb = 25.0;        // gradients all-reduced together: MB per bucket
  double first_bucket_cap_mb = 1.0;   // the first bucket's: small, so communication starts early
  std::string trace;                  // FILE: each rank's timeline, FILE.rankR.json; empty: none
  std::string trace_steps = "10:15";  // the steps traced, FIRST:END counted from 0
  // Stage 4: the program starts its own ranks (torch.multiprocessing.spawn)
  int64_t nodes = 1;
  int64_t nproc_per_node = 1;         // worker processes on this node (one per GPU)
  int64_t node_rank = 0;
  std::string master_addr = "127.0.0.1";
  int64_t master_port = 0;            // 0: a free port (single node only)
  // Output
  std::string output_dir = "output";
  int64_t log_interval = 100;         // batches between loss lines
  bool progress = true;               // a progress bar where stdout is a terminal (--no-progress: none)
  int64_t max_steps = 0;              // stop after this many training steps; 0: no limit
  // Checkpoints (train/checkpoints.h)
  int64_t checkpoint_every = 0;       // steps between checkpoints; 0: at the end of each epoch only
  int64_t keep_checkpoints = 2;       // the newest ones kept
  std::string resume = "none";        // none | auto | PATH of a checkpoint
};

}  // namespace tutorial
