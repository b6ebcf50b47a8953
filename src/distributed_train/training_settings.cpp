#include "distributed_train/training_settings.h"

#include "core/console.h"

#include <cstdlib>

namespace tutorial {
namespace {

// The shortest text that reads back as `value`: 0.1, not 0.10000000000000001.
std::string number(double value) {
  std::string text;
  for (int digits = 15; digits <= 17; ++digits) {
    text = strprintf("%.*g", digits, value);
    if (std::strtod(text.c_str(), nullptr) == value) break;
  }
  return text;
}
std::string number(int64_t value) { return std::to_string(value); }
std::string flag(bool value) { return value ? "on" : "off"; }

}  // namespace

Settings training_settings(const TrainConfig& c) {
  return {
      {"--model", c.model},
      {"--dataset", c.dataset},
      {"--augment", c.augment},
      {"--epochs", number(c.epochs)},
      {"--batch-size", number(c.batch_size)},
      {"--accumulate-steps", number(c.accumulate_steps)},
      {"--lr", number(c.lr)},
      {"--momentum", number(c.momentum)},
      {"--nesterov", flag(c.nesterov)},
      {"--weight-decay", number(c.weight_decay)},
      {"--schedule", c.schedule},
      {"--warmup-epochs", number(c.warmup_epochs)},
      {"--label-smoothing", number(c.label_smoothing)},
      {"--seed", std::to_string(c.seed)},
      {"--max-steps", number(c.max_steps)},
      {"--amp", flag(c.fast_path.amp)},
      {"--amp-dtype", c.fast_path.fp16 ? "fp16" : "bf16"},
      {"--channels-last", flag(c.fast_path.channels_last)},
      {"--data-on-device", flag(c.fast_path.data_on_device)},
      {"--cuda-graph", flag(c.fast_path.cuda_graph)},
      {"--checkpoint-every", number(c.checkpoint_every)},
      {"--keep-checkpoints", number(c.keep_checkpoints)},
      {"--resume", c.resume},
      {"--backend", c.backend},
      {"--dist-timeout", number(c.dist_timeout)},
      {"--sync-bn", flag(c.sync_bn)},
      {"--bucket-cap-mb", number(c.bucket_cap_mb)},
      {"--first-bucket-cap-mb", number(c.first_bucket_cap_mb)},
  };
}

ProcessGroupOptions process_group_options(const TrainConfig& config) {
  return ProcessGroupOptions()
      .backend(config.backend)
      .timeout(std::chrono::seconds(config.dist_timeout))
      .must_agree(training_settings(config));
}

}  // namespace tutorial
