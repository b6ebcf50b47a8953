// Training throughput of the shared engine (src/train/engine.h) on
// CIFAR-shaped synthetic data: images/s of whole training steps (augment,
// forward, loss, backward, SGD), with or without the fast path; or, with
// --pipeline-only, batches/s of the data pipeline alone (gather, copy,
// augment). One JSON line on stdout; benchmarks/run_benchmarks.py runs it
// side by side with benchmarks/train_throughput.py, its Python peer.
//
//   build/benchmarks/bench_train_throughput --model resnet20 --batch-size 128
//     --steps 50 --device cuda --amp --channels-last --data-on-device --cuda-graph
#include "build_config.h"
#include "core/console.h"
#include "core/device.h"
#include "core/errors.h"
#include "models/model_factory.h"
#include "pipeline/batch_loader.h"
#include "train/engine.h"
#include "train/fast_path.h"
#include "train/optimizer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/record_function.h>
#include <cxxopts.hpp>
#include <torch/cuda.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <iostream>
#include <set>
#include <string>

using namespace tutorial;

namespace {

void synchronize(torch::Device device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

// `batches` batches of random 3x32x32 uint8 images with random labels.
ImageDataset synthetic_cifar(int64_t batches, int64_t batch_size) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(0);
  const int64_t n = batches * batch_size;
  ImageDataset dataset;
  dataset.images = torch::randint(0, 256, {n, 3, 32, 32}, generator, torch::kLong).to(torch::kUInt8);
  dataset.labels = torch::randint(0, 10, {n}, generator, torch::kLong);
  for (int i = 0; i < 10; ++i) dataset.class_names.push_back(std::to_string(i));
  return dataset;
}

// --count-ops: ATen operators called from outside any other operator (by the
// engine, autograd's backward nodes and the optimizer), the calls that each
// cost the host a dispatch and, on a GPU, usually a kernel launch. A
// launch-bound step is as fast as this count is small. Left out: operators
// that only make a new view of a tensor or allocate one (no kernel). Other
// records (autograd's "evaluate_function: ..." around a backward node's
// operators) are looked through. train_throughput.py counts the same way.
std::atomic<int64_t> outermost_ops{0};
thread_local int operator_depth = 0;

bool is_aten(const at::RecordFunction& function) {
  return std::strncmp(function.name(), "aten::", 6) == 0;
}

bool makes_no_kernel(const char* name) {
  static const std::set<std::string> no_kernel = {
      "aten::view", "aten::_unsafe_view", "aten::_reshape_alias", "aten::reshape",
      "aten::flatten", "aten::squeeze", "aten::unsqueeze", "aten::expand", "aten::as_strided",
      "aten::select", "aten::slice", "aten::narrow", "aten::t", "aten::transpose",
      "aten::permute", "aten::detach", "aten::alias", "aten::empty", "aten::empty_like",
      "aten::empty_strided", "aten::new_empty"};
  return no_kernel.count(name) > 0;
}

std::unique_ptr<at::ObserverContext> enter_operator(const at::RecordFunction& function) {
  if (is_aten(function) && operator_depth++ == 0 && !makes_no_kernel(function.name())) {
    ++outermost_ops;
  }
  return nullptr;
}

void leave_operator(const at::RecordFunction& function, at::ObserverContext*) {
  if (is_aten(function)) --operator_depth;
}

}  // namespace

int main(int argc, char* argv[]) {
  return run_main("bench_train_throughput", [&] {
    cxxopts::Options options("bench_train_throughput",
                             "Training (or data pipeline) throughput on CIFAR-shaped data");
    // clang-format off
    options.add_options()
      ("model", "mlp | resnet20 | ... (see stage 1)", cxxopts::value<std::string>()->default_value("resnet20"))
      ("batch-size", "images per step", cxxopts::value<int64_t>()->default_value("128"))
      ("steps", "timed steps (an epoch); the same number run before as warm-up", cxxopts::value<int64_t>()->default_value("50"))
      ("device", "auto | cpu | cuda | cuda:N", cxxopts::value<std::string>()->default_value("auto"))
      ("threads", "CPU threads (0: one per core)", cxxopts::value<int64_t>()->default_value("0"))
      ("prefetch", "batches prepared ahead by a background thread", cxxopts::value<int64_t>()->default_value("2"))
      ("amp", "bf16 autocast", cxxopts::value<bool>()->default_value("false"))
      ("channels-last", "NHWC layout", cxxopts::value<bool>()->default_value("false"))
      ("data-on-device", "dataset held on the device", cxxopts::value<bool>()->default_value("false"))
      ("cuda-graph", "replay a captured step", cxxopts::value<bool>()->default_value("false"))
      ("pipeline-only", "time the data pipeline alone (batches/s)", cxxopts::value<bool>()->default_value("false"))
      ("count-ops", "also count outermost ATen operators per timed step (slows the run)", cxxopts::value<bool>()->default_value("false"))
      ("h,help", "print this help");
    // clang-format on
    cxxopts::ParseResult args;
    try {
      args = options.parse(argc, argv);
    } catch (const std::exception& e) {
      throw UserError(first_line(e.what()));
    }
    if (args.count("help")) {
      std::cout << options.help() << std::endl;
      return 0;
    }
    const auto batch_size = args["batch-size"].as<int64_t>();
    const auto steps = args["steps"].as<int64_t>();
    if (batch_size < 1 || steps < 1) throw UserError("--batch-size and --steps must be at least 1");
    FastPath fast_path{args["amp"].as<bool>(), args["channels-last"].as<bool>(),
                       args["data-on-device"].as<bool>(), args["cuda-graph"].as<bool>()};
    const torch::Device device = resolve_device(args["device"].as<std::string>());
    configure_cpu_threads(args["threads"].as<int64_t>());
    torch::manual_seed(0);

    ImageDataset dataset = synthetic_cifar(steps, batch_size);
    if (fast_path.data_on_device) {
      dataset.images = dataset.images.to(device);
      dataset.labels = dataset.labels.to(device);
    }
    BatchLoader loader(dataset, ShardedSampler(dataset.size(), SamplerOptions()),
                       LoaderOptions(batch_size)
                           .drop_last(true)
                           .device(device)
                           .pin_memory(device.is_cuda())
                           .prefetch_batches(args["prefetch"].as<int64_t>()));
    BatchTransform transform{/*augment=*/true, 4, {0.49, 0.48, 0.45}, {0.25, 0.24, 0.26}};
    const std::string what = args["pipeline-only"].as<bool>() ? "pipeline" : "training";

    const bool count_ops = args["count-ops"].as<bool>();
    if (count_ops) {
      at::addGlobalCallback(at::RecordFunctionCallback(enter_operator, leave_operator)
                                .scopes({at::RecordScope::FUNCTION}));
    }
    double seconds = 0;
    bool graphed = false;
    if (what == "pipeline") {
      auto generator = at::make_generator<at::CPUGeneratorImpl>(0);
      for (int64_t epoch = 0; epoch < 2; ++epoch) {  // the first is warm-up
        synchronize(device);
        outermost_ops = 0;  // the timed epoch's alone
        const auto start = std::chrono::steady_clock::now();
        loader.start_epoch(epoch);
        torch::Tensor checksum = torch::zeros({}, torch::TensorOptions().device(device));
        while (auto batch = loader.next()) checksum += transform(batch->images, generator).sum();
        synchronize(device);
        seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      }
    } else {
      auto model = make_model(args["model"].as<std::string>(), {3, 32, 32}, 10);
      model->to(device);
      apply_fast_path(fast_path, device, *model.module());
      TrainConfig config;
      config.lr = 0.1;
      config.momentum = 0.9;
      config.weight_decay = 5e-4;
      auto optimizer = make_sgd(model->parameters(), config);
      set_console_rank(1);  // the engine's log lines would cost a device sync each
      Trainer trainer(*model.module(), [&](const torch::Tensor& x) { return model.forward(x); },
                      optimizer, LrSchedule("constant", config.lr, 2 * steps), transform,
                      transform, TrainerOptions{steps + 1, 0, 0, fast_path});
      for (int64_t epoch = 0; epoch < 2; ++epoch) {  // the first is warm-up (and capture)
        outermost_ops = 0;
        loader.start_epoch(epoch);
        seconds = trainer.train_epoch(loader).seconds;  // ends with a device sync (.item())
      }
      graphed = trainer.graphed_step() && trainer.graphed_step()->replays() > 0;
    }
    const double per_second = (what == "pipeline" ? steps : steps * batch_size) / seconds;
    const std::string ops_per_step =
        count_ops ? strprintf(", \"ops_per_step\": %.1f", static_cast<double>(outermost_ops) / steps) : "";
    std::cout << strprintf(
                     "{\"program\": \"C++\", \"libtorch\": \"%s\", \"what\": \"%s\", \"model\": \"%s\", \"batch_size\": %lld, "
                     "\"steps\": %lld, \"device\": \"%s\", \"amp\": %s, \"channels_last\": %s, "
                     "\"data_on_device\": %s, \"cuda_graph\": %s, \"seconds\": %.4f, \"%s\": %.2f%s}",
                     TUTORIAL_TORCH_VERSION_STRING, what.c_str(), args["model"].as<std::string>().c_str(),
                     static_cast<long long>(batch_size), static_cast<long long>(steps),
                     device.str().c_str(), fast_path.amp ? "true" : "false",
                     fast_path.channels_last ? "true" : "false",
                     fast_path.data_on_device ? "true" : "false", graphed ? "true" : "false",
                     seconds, what == "pipeline" ? "batches_per_s" : "images_per_s", per_second,
                     ops_per_step.c_str())
              << std::endl;
    return 0;
  });
}
