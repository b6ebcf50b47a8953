#include "train/command_line.h"

#include "core/errors.h"
#include "data/datasets.h"
#include "models/model_factory.h"

#include <cxxopts.hpp>

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cstdlib>
#include <cmath>
#include <iostream>
#include <sstream>

namespace tutorial {
namespace {

std::vector<int64_t> parse_device_list(const std::string& text) {
  std::vector<int64_t> devices;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    size_t used = 0;
    int64_t index = -1;
    try {
      index = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || index < 0) {
      throw UserError("--devices: '" + text + "' is not a comma-separated list of GPU indices");
    }
    devices.push_back(index);
  }
  if (devices.empty()) throw UserError("--devices: empty device list");
  return devices;
}

// An option's value. Numbers are declared to cxxopts as text and converted
// here, so a malformed one is reported with the option's name.
template <typename T>
T get(const cxxopts::ParseResult& result, const std::string& name) {
  if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, bool>) {
    return result[name].as<T>();
  } else {
    const auto text = result[name].as<std::string>();
    T value{};
    const char* end = text.data() + text.size();
    bool ok = false;
    if constexpr (std::is_floating_point_v<T>) {
      char* parsed_end = nullptr;
      errno = 0;
      value = std::strtod(text.c_str(), &parsed_end);
      ok = !text.empty() && parsed_end == end && errno == 0;
    } else {
      const auto [ptr, error] = std::from_chars(text.data(), end, value);
      ok = !text.empty() && error == std::errc() && ptr == end;
    }
    if (!ok) {
      throw UserError("--" + name + ": '" + text + "' is not " +
                      (std::is_floating_point_v<T> ? "a number"
                       : std::is_signed_v<T>       ? "a whole number"
                                                   : "a non-negative whole number"));
    }
    return value;
  }
}

void require(bool condition, const std::string& message) {
  if (!condition) throw UserError(message);
}

}  // namespace

void validate(const TrainConfig& c) {
  parse_dataset_kind(c.dataset);  // throws on an unknown name
  try {
    check_model_name(c.model);
  } catch (const UserError& e) {
    throw UserError(std::string("--model: ") + e.what());
  }
  require(c.epochs >= 1, "--epochs must be at least 1, got " + std::to_string(c.epochs));
  require(c.batch_size >= 1, "--batch-size must be at least 1, got " + std::to_string(c.batch_size));
  require(std::isfinite(c.lr) && c.lr > 0, "--lr must be a positive number, got " + std::to_string(c.lr));
  require(c.momentum >= 0 && c.momentum < 1, "--momentum must be in [0, 1)");
  require(!c.nesterov || c.momentum > 0, "--nesterov needs --momentum > 0");
  require(c.weight_decay >= 0, "--weight-decay must be >= 0");
  require(c.schedule == "constant" || c.schedule == "step" || c.schedule == "cosine",
          "--schedule must be constant, step or cosine, got '" + c.schedule + "'");
  require(c.warmup_epochs >= 0 && c.warmup_epochs < c.epochs,
          "--warmup-epochs must be in [0, --epochs), got " + std::to_string(c.warmup_epochs));
  require(c.label_smoothing >= 0 && c.label_smoothing < 1,
          "--label-smoothing must be in [0, 1), got " + std::to_string(c.label_smoothing));
  require(c.augment == "auto" || c.augment == "on" || c.augment == "off",
          "--augment must be auto, on or off, got '" + c.augment + "'");
  require(c.threads >= 0, "--threads must be >= 0 (0: one per core)");
  require(c.prefetch >= 0, "--prefetch must be >= 0");
  require(c.log_interval >= 1, "--log-interval must be at least 1");
  require(c.max_steps >= 0, "--max-steps must be >= 0 (0: no limit), got " +
                                std::to_string(c.max_steps));
  require(!c.output_dir.empty(), "--output-dir must not be empty");
  require(c.checkpoint_every >= 0, "--checkpoint-every must be >= 0 (0: each epoch's end only)");
  require(c.keep_checkpoints >= 1, "--keep-checkpoints must be at least 1");
  require(!c.resume.empty(), "--resume must be none, auto or the path of a checkpoint");
  require(c.backend == "auto" || c.backend == "nccl" || c.backend == "gloo",
          "--backend must be auto, nccl or gloo, got '" + c.backend + "'");
  require(c.dist_timeout >= 1, "--dist-timeout must be at least 1 second");
  require(c.nodes >= 1, "--nodes must be at least 1");
  require(c.nproc_per_node >= 1, "--nproc-per-node must be at least 1");
  require(c.node_rank >= 0 && c.node_rank < c.nodes, "--node-rank must be in [0, --nodes)");
  require(!c.master_addr.empty(), "--master-addr must not be empty");
  require(c.master_port >= 0 && c.master_port <= 65535, "--master-port must be in 0..65535");
  require(c.master_port != 0 || c.nodes == 1,
          "--master-port must be given when --nodes > 1 (every machine needs the same one)");
}

std::optional<TrainConfig> parse_command_line(int argc, const char* const argv[],
                                              const std::string& program,
                                              const std::string& description,
                                              CommandLineFeatures features) {
  const TrainConfig d;  // defaults
  cxxopts::Options options(program, description);
  options.set_width(100);
  // clang-format off
  options.add_options("Data")
    ("data-dir", "dataset folder (default: the dataset's system folder)", cxxopts::value<std::string>())
    ("dataset", "fashion-mnist | mnist | cifar10 | cifar100 | image-folder", cxxopts::value<std::string>()->default_value(d.dataset))
    ("augment", "auto | on | off: random crop (pad 4) and flip", cxxopts::value<std::string>()->default_value(d.augment));
  options.add_options("Training")
    ("model", "mlp | resnet20 | resnet32 | resnet44 | resnet56 | resnet110", cxxopts::value<std::string>()->default_value(d.model))
    ("epochs", "number of epochs", cxxopts::value<std::string>()->default_value(std::to_string(d.epochs)))
    ("batch-size", "samples per step", cxxopts::value<std::string>()->default_value(std::to_string(d.batch_size)))
    ("lr", "learning rate", cxxopts::value<std::string>()->default_value("1e-3"))
    ("momentum", "SGD momentum", cxxopts::value<std::string>()->default_value("0"))
    ("nesterov", "Nesterov momentum (default: off)", cxxopts::value<bool>()->default_value("false"))
    ("weight-decay", "L2 weight decay", cxxopts::value<std::string>()->default_value("0"))
    ("schedule", "constant | step (/10 at 50% and 75%) | cosine", cxxopts::value<std::string>()->default_value(d.schedule))
    ("warmup-epochs", "epochs of linear warm-up to --lr, then the schedule over the rest", cxxopts::value<std::string>()->default_value("0"))
    ("label-smoothing", "label smoothing of the training loss, in [0, 1)", cxxopts::value<std::string>()->default_value("0"))
    ("seed", "random seed (model init, shuffling, augmentation)", cxxopts::value<std::string>()->default_value(std::to_string(d.seed)))
    ("max-steps", "stop after this many steps (0: no limit)", cxxopts::value<std::string>()->default_value("0"));
  options.add_options("Device")
    ("device", "auto | cpu | cuda | cuda:N", cxxopts::value<std::string>()->default_value(d.device))
    ("threads", "CPU threads for tensor math (0: OMP_NUM_THREADS, else the cores per rank)", cxxopts::value<std::string>()->default_value("0"))
    ("prefetch", "batches prepared ahead in the background (0: none)", cxxopts::value<std::string>()->default_value(std::to_string(d.prefetch)));
  options.add_options("Fast path")
    ("amp", "bf16 autocast for the forward pass (mixed precision) (default: off)", cxxopts::value<bool>()->default_value("false"))
    ("channels-last", "NHWC memory layout for convolutions (default: off)", cxxopts::value<bool>()->default_value("false"))
    ("data-on-device", "hold the whole dataset on the GPU, augment it there (default: off)", cxxopts::value<bool>()->default_value("false"))
    ("cuda-graph", "capture one training step as a CUDA graph and replay it (default: off)", cxxopts::value<bool>()->default_value("false"));
  if (features.device_list()) {
    options.add_options("Device")
      ("devices", "GPU indices for DataParallel, e.g. 0,1 (default: all visible)", cxxopts::value<std::string>());
  }
  if (features.distributed()) {
    options.add_options("Distributed")
      ("backend", "auto | nccl | gloo (auto: nccl on GPUs, gloo on CPUs)", cxxopts::value<std::string>()->default_value(d.backend))
      ("dist-timeout", "seconds to wait for the other ranks", cxxopts::value<std::string>()->default_value(std::to_string(d.dist_timeout)));
  }
  if (features.spawn()) {
    options.add_options("Distributed")
      ("nodes", "machines taking part", cxxopts::value<std::string>()->default_value("1"))
      ("nproc-per-node", "worker processes on this machine (one per GPU)", cxxopts::value<std::string>()->default_value("1"))
      ("node-rank", "this machine's index, 0 .. nodes-1", cxxopts::value<std::string>()->default_value("0"))
      ("master-addr", "host of rank 0", cxxopts::value<std::string>()->default_value(d.master_addr))
      ("master-port", "port of rank 0 (0: a free one, single machine only)", cxxopts::value<std::string>()->default_value("0"));
  }
  options.add_options("Output")
    ("output-dir", "folder for model.pth, optimizer.pth and metrics.jsonl", cxxopts::value<std::string>()->default_value(d.output_dir))
    ("log-interval", "batches between loss lines", cxxopts::value<std::string>()->default_value(std::to_string(d.log_interval)))
    ("no-progress", "no progress bar (there is none anyway where stdout is no terminal) (default: off)")
    ("checkpoint-every", "steps between checkpoints in output-dir/checkpoints (0: each epoch's end only)", cxxopts::value<std::string>()->default_value("0"))
    ("keep-checkpoints", "how many of the newest checkpoints to keep", cxxopts::value<std::string>()->default_value(std::to_string(d.keep_checkpoints)))
    ("resume", "none | auto (the newest checkpoint in output-dir) | PATH of a checkpoint", cxxopts::value<std::string>()->default_value(d.resume))
    ("h,help", "print this help");
  // clang-format on

  TrainConfig c;
  try {
    auto result = options.parse(argc, argv);
    if (result.count("help")) {
      std::cout << options.help() << std::endl;
      return std::nullopt;
    }
    if (!result.unmatched().empty()) {
      throw UserError("unexpected argument '" + result.unmatched().front() + "'");
    }
    if (result.count("data-dir")) c.data_dir = get<std::string>(result, "data-dir");
    c.dataset = get<std::string>(result, "dataset");
    c.augment = get<std::string>(result, "augment");
    c.model = get<std::string>(result, "model");
    c.epochs = get<int64_t>(result, "epochs");
    c.batch_size = get<int64_t>(result, "batch-size");
    c.lr = get<double>(result, "lr");
    c.momentum = get<double>(result, "momentum");
    c.nesterov = get<bool>(result, "nesterov");
    c.weight_decay = get<double>(result, "weight-decay");
    c.schedule = get<std::string>(result, "schedule");
    c.warmup_epochs = get<int64_t>(result, "warmup-epochs");
    c.label_smoothing = get<double>(result, "label-smoothing");
    c.seed = get<uint64_t>(result, "seed");
    c.max_steps = get<int64_t>(result, "max-steps");
    c.device = get<std::string>(result, "device");
    c.threads = get<int64_t>(result, "threads");
    c.prefetch = get<int64_t>(result, "prefetch");
    c.fast_path.amp = get<bool>(result, "amp");
    c.fast_path.channels_last = get<bool>(result, "channels-last");
    c.fast_path.data_on_device = get<bool>(result, "data-on-device");
    c.fast_path.cuda_graph = get<bool>(result, "cuda-graph");
    if (features.device_list() && result.count("devices")) {
      c.devices = parse_device_list(get<std::string>(result, "devices"));
    }
    if (features.distributed()) {
      c.backend = get<std::string>(result, "backend");
      c.dist_timeout = get<int64_t>(result, "dist-timeout");
    }
    if (features.spawn()) {
      c.nodes = get<int64_t>(result, "nodes");
      c.nproc_per_node = get<int64_t>(result, "nproc-per-node");
      c.node_rank = get<int64_t>(result, "node-rank");
      c.master_addr = get<std::string>(result, "master-addr");
      c.master_port = get<int64_t>(result, "master-port");
    }
    c.output_dir = get<std::string>(result, "output-dir");
    c.log_interval = get<int64_t>(result, "log-interval");
    c.progress = result.count("no-progress") == 0;
    c.checkpoint_every = get<int64_t>(result, "checkpoint-every");
    c.keep_checkpoints = get<int64_t>(result, "keep-checkpoints");
    c.resume = get<std::string>(result, "resume");
  } catch (const UserError&) {
    throw;
  } catch (const std::exception& e) {
    // cxxopts' own messages name the option ("Argument 'abc' failed to parse").
    throw UserError(first_line(e.what()));
  }
  validate(c);
  return c;
}

}  // namespace tutorial
