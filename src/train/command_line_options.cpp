// Every option of the shared command line, once: its --help section and line,
// the TrainConfig field it fills (whose value in TrainConfig{}, train/config.h,
// is the default) and the rule its value obeys. One function per --help section.
#include "train/command_line_options.h"

#include "train/command_line_option_kinds.h"

namespace tutorial {
namespace {

using C = TrainConfig;

// Bounds that keep the arithmetic on them (milliseconds, ranks) in range.
constexpr int64_t kWeekSeconds = 7 * 24 * 3600;
constexpr int64_t kMostNodes = 65536;
// More micro-batches than this would each be smaller than one sample of any batch we take.
constexpr int64_t kMostAccumulateSteps = 65536;

std::vector<CommandLineOption> data_options() {
  return {
      text("Data", "data-dir", "dataset folder (default: the dataset's system folder)",
           &C::data_dir),
      text("Data", "dataset", "fashion-mnist | mnist | cifar10 | cifar100 | image-folder",
           &C::dataset, known_dataset),
      choice("Data", "augment", "auto | on | off: random crop (pad 4) and flip", &C::augment,
             {"auto", "on", "off"}),
  };
}

std::vector<CommandLineOption> training_options() {
  return {
      text("Training", "model", "mlp | resnet20 | resnet32 | resnet44 | resnet56 | resnet110",
           &C::model, known_model),
      number("Training", "epochs", "number of epochs", &C::epochs, at_least(1).citing_value()),
      number("Training", "batch-size", "samples per step", &C::batch_size,
             at_least(1).citing_value()),
      number("Training", "accumulate-steps",
             "micro-batches per step: gradients summed over batch-size/N samples at a time",
             &C::accumulate_steps, between(1, kMostAccumulateSteps).citing_value()),
      number("Training", "lr", "learning rate", &C::lr, positive().citing_value()),
      number("Training", "momentum", "SGD momentum", &C::momentum, fraction()),
      flag("Training", "nesterov", "Nesterov momentum", &C::nesterov),
      number("Training", "weight-decay", "L2 weight decay", &C::weight_decay, not_negative()),
      choice("Training", "schedule", "constant | step (/10 at 50% and 75%) | cosine", &C::schedule,
             {"constant", "step", "cosine"}),
      // Its range depends on --epochs: validate() checks it.
      number("Training", "warmup-epochs",
             "epochs of linear warm-up to --lr, then the schedule over the rest",
             &C::warmup_epochs),
      number("Training", "label-smoothing", "label smoothing of the training loss, in [0, 1)",
             &C::label_smoothing, fraction().citing_value()),
      number("Training", "seed", "random seed (model init, shuffling, augmentation)", &C::seed),
      number("Training", "max-steps", "stop after this many steps (0: no limit)", &C::max_steps,
             not_negative("no limit").citing_value()),
  };
}

std::vector<CommandLineOption> device_options() {
  return {
      text("Device", "device", "auto | cpu | cuda | cuda:N", &C::device),
      number("Device", "threads",
             "CPU threads for tensor math (0: OMP_NUM_THREADS, else the cores per rank)",
             &C::threads, not_negative("one per core")),
      number("Device", "prefetch", "batches prepared ahead in the background (0: none)",
             &C::prefetch, not_negative()),
      device_list("Device", "devices",
                  "GPU indices for DataParallel, e.g. 0,1 (default: all visible)", &C::devices)
          .needs(StageFeature::kDeviceList),
  };
}

// --amp-dtype bf16 | fp16: FastPath holds it as a switch (fp16), and giving
// it turns autocast on: --amp alone is --amp-dtype bf16.
CommandLineOption amp_dtype_option() {
  CommandLineOption option;
  option.group = "Fast path";
  option.name = "amp-dtype";
  option.help = "autocast in bf16 | fp16 (fp16: with loss scaling, GPUs only); implies --amp";
  option.text_of = [](const TrainConfig& c) {
    return std::string(c.fast_path.fp16 ? "fp16" : "bf16");
  };
  option.read = [rule = one_of({"bf16", "fp16"})](const std::string& value, TrainConfig& c) {
    rule("amp-dtype", value);
    c.fast_path.amp = true;
    c.fast_path.fp16 = value == "fp16";
  };
  return option;
}

std::vector<CommandLineOption> fast_path_options() {
  return {
      flag("Fast path", "amp", "bf16 autocast for the forward pass (mixed precision)",
           in_fast_path(&FastPath::amp)),
      amp_dtype_option(),
      flag("Fast path", "channels-last", "NHWC memory layout for convolutions",
           in_fast_path(&FastPath::channels_last)),
      flag("Fast path", "data-on-device", "hold the whole dataset on the GPU, augment it there",
           in_fast_path(&FastPath::data_on_device)),
      flag("Fast path", "cuda-graph", "capture one training step as a CUDA graph and replay it",
           in_fast_path(&FastPath::cuda_graph)),
  };
}

std::vector<CommandLineOption> distributed_options() {
  const auto distributed = StageFeature::kDistributed;
  const auto spawn = StageFeature::kSpawn;
  return {
      choice("Distributed", "backend", "auto | nccl | gloo (auto: nccl on GPUs, gloo on CPUs)",
             &C::backend, {"auto", "nccl", "gloo"})
          .needs(distributed),
      number("Distributed", "dist-timeout", "seconds to wait for the other ranks",
             &C::dist_timeout, between(1, kWeekSeconds))
          .needs(distributed),
      flag("Distributed", "sync-bn", "BatchNorm statistics over all ranks' samples (SyncBatchNorm)",
           &C::sync_bn)
          .needs(distributed),
      number("Distributed", "bucket-cap-mb", "gradients all-reduced together: MB per bucket",
             &C::bucket_cap_mb, positive().citing_value())
          .needs(distributed),
      number("Distributed", "first-bucket-cap-mb",
             "the first bucket's cap: small, so communication starts early in backward",
             &C::first_bucket_cap_mb, positive().citing_value())
          .needs(distributed),
      text("Distributed", "trace",
           "FILE: each rank's timeline of --trace-steps as FILE.rankR.json (Chrome trace "
           "events: ui.perfetto.dev, scripts/plot_timeline.py)",
           &C::trace)
          .needs(distributed),
      text("Distributed", "trace-steps", "FIRST:END: the steps --trace records, counted from 0",
           &C::trace_steps, valid_step_window)
          .needs(distributed),
      number("Distributed", "nodes", "machines taking part", &C::nodes, between(1, kMostNodes))
          .needs(spawn),
      number("Distributed", "nproc-per-node", "worker processes on this machine (one per GPU)",
             &C::nproc_per_node, at_least(1))
          .needs(spawn),
      // Its range depends on --nodes: validate() checks it.
      number("Distributed", "node-rank", "this machine's index, 0 .. nodes-1", &C::node_rank)
          .needs(spawn),
      text("Distributed", "master-addr", "host of rank 0", &C::master_addr, not_empty())
          .needs(spawn),
      number("Distributed", "master-port", "port of rank 0 (0: a free one, single machine only)",
             &C::master_port, between(0, 65535))
          .needs(spawn),
  };
}

std::vector<CommandLineOption> output_options() {
  return {
      text("Output", "output-dir", "folder for model.pth, optimizer.pth and metrics.jsonl",
           &C::output_dir, not_empty()),
      number("Output", "log-interval", "batches between loss lines", &C::log_interval,
             at_least(1)),
      off_flag("Output", "no-progress",
               "no progress bar (there is none anyway where stdout is no terminal)", &C::progress),
      number("Output", "checkpoint-every",
             "steps between checkpoints in output-dir/checkpoints (0: each epoch's end only)",
             &C::checkpoint_every, not_negative("each epoch's end only")),
      number("Output", "keep-checkpoints", "how many of the newest checkpoints to keep",
             &C::keep_checkpoints, at_least(1)),
      text("Output", "resume",
           "none | auto (the newest checkpoint in output-dir) | PATH of a checkpoint", &C::resume,
           not_empty("must be none, auto or the path of a checkpoint")),
  };
}

}  // namespace

bool offers(const CommandLineFeatures& features, StageFeature feature) {
  switch (feature) {
    case StageFeature::kEveryStage:
      return true;
    case StageFeature::kDeviceList:
      return features.device_list();
    case StageFeature::kDistributed:
      return features.distributed();
    case StageFeature::kSpawn:
      return features.spawn();
  }
  return false;
}

CommandLineOption CommandLineOption::needs(StageFeature stage_feature) const {
  CommandLineOption offered_where = *this;
  offered_where.feature = stage_feature;
  return offered_where;
}

const std::vector<CommandLineOption>& command_line_options() {
  static const std::vector<CommandLineOption> options = [] {
    std::vector<CommandLineOption> all;
    for (auto section : {data_options, training_options, device_options, fast_path_options,
                         distributed_options, output_options}) {
      for (auto& option : section()) all.push_back(std::move(option));
    }
    return all;
  }();
  return options;
}

}  // namespace tutorial
