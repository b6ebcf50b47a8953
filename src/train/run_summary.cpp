#include "train/run_summary.h"

#include "build_config.h"
#include "core/cpu_features.h"
#include "core/device.h"
#include "models/model_factory.h"
#include "timeline/timeline.h"
#include "train/fast_path.h"
#include "train/graphed_step.h"

#include <ATen/Parallel.h>

#include <algorithm>

namespace tutorial {

ConfigRows describe_run(const TrainConfig& c, const TrainingData& data,
                        const torch::nn::Module& model, const std::string& device) {
  auto shape = [](const ImageDataset& d) {
    return strprintf("%lld x %lldx%lldx%lld", static_cast<long long>(d.size()),
                     static_cast<long long>(d.channels()), static_cast<long long>(d.height()),
                     static_cast<long long>(d.width()));
  };
  ConfigRows rows = {
      {"LibTorch", TUTORIAL_TORCH_VERSION_STRING},
      {"device", device},
      {"CPU threads", std::to_string(at::get_num_threads())},
      {"dataset", c.dataset + " (" + data.data_dir + ")"},
      {"train set", shape(data.train)},
      {"test set", shape(data.test)},
      {"augmentation", data.train_transform.augment ? "random crop (pad 4) + flip" : "none"},
      {"model", c.model + " (" + std::to_string(count_parameters(model)) + " parameters)"},
      {"epochs", std::to_string(c.epochs)},
      {"batch size", std::to_string(c.batch_size) +
                         (c.accumulate_steps > 1
                              ? strprintf(" (%lld micro-batches of %lld, gradients summed)",
                                          static_cast<long long>(c.accumulate_steps),
                                          static_cast<long long>(c.batch_size / c.accumulate_steps))
                              : "")},
      {"optimizer", strprintf("SGD lr %g momentum %g%s weight decay %g", c.lr, c.momentum,
                              c.nesterov ? " nesterov" : "", c.weight_decay)},
      {"lr schedule", c.schedule + (c.warmup_epochs > 0 ? ", after " + std::to_string(c.warmup_epochs) +
                                                             " warm-up epochs"
                                                       : "")},
      {"seed", std::to_string(c.seed)},
      {"max steps", c.max_steps > 0 ? std::to_string(c.max_steps) : "no limit"},
      {"output dir", c.output_dir},
  };
  const bool amp_is_slow =
      c.fast_path.amp && !amp_slowdown_reason(device_of(model), this_cpu_flags()).empty();
  // What rules a graph out whatever the rank count (the Trainer says the rest).
  const std::string graph_unavailable =
      c.fast_path.cuda_graph ? cuda_graph_unavailable_reason(device_of(model), c.schedule,
                                                             /*world_size=*/1, /*lr_on_device=*/true,
                                                             needs_loss_scaling(c.fast_path))
                             : "";
  const std::string fast_path = describe_fast_path(c.fast_path, amp_is_slow, graph_unavailable);
  if (fast_path != "off") rows.insert(rows.begin() + 3, {"fast path", fast_path});
  if (c.sync_bn) {  // after "model"
    const int64_t layers = count_batch_norm_layers(model);
    const auto at = std::find_if(rows.begin(), rows.end(), [](const auto& r) { return r.first == "model"; });
    rows.insert(at + 1, {"sync-bn", layers > 0 ? std::to_string(layers) +
                                                     " BatchNorm layers, statistics over all ranks"
                                               : "no BatchNorm layer: nothing to synchronize"});
  }
  if (c.label_smoothing > 0) {
    rows.insert(rows.end() - 4, {"label smoothing", strprintf("%g", c.label_smoothing)});
  }
  if (c.bucket_cap_mb != TrainConfig().bucket_cap_mb ||
      c.first_bucket_cap_mb != TrainConfig().first_bucket_cap_mb) {
    rows.push_back({"DDP buckets", strprintf("%g MB, the first %g MB", c.bucket_cap_mb,
                                                          c.first_bucket_cap_mb)});
  }
  if (!c.trace.empty()) {
    const StepWindow window = parse_step_window("trace-steps", c.trace_steps);
    rows.push_back({"trace", strprintf("steps %lld to %lld, to %s and one file per rank", static_cast<long long>(window.first),
                                       static_cast<long long>(window.end - 1),
                                       rank_trace_path(c.trace, 0).c_str())});
  }
  return rows;
}

}  // namespace tutorial
