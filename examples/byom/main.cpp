// Bring your own model: a training loop written out by hand around a model of
// one's own, with the tutorial's DDP from its installed package, as PyTorch's
// DDP tutorial series writes one (multigpu_torchrun.py): the process group
// from the launcher's variables, a sampler sharded per rank and reshuffled per
// epoch, DDP around the model, gradient accumulation with no_sync, the test
// set evaluated by all ranks together, rank 0 saving. Start it with a launcher:
//
//   scripts/launch_local.sh --nproc-per-node 2 build-byom/byom --epochs 2
#include "core/errors.h"                          // run_main, UserError
#include "data/datasets.h"                        // load_dataset
#include "distributed/batch_split.h"              // batch_per_rank
#include "distributed/distributed_data_parallel.h"
#include "distributed/launch_env.h"               // read_launch_env
#include "distributed/process_group.h"
#include "distributed/rank_device.h"              // select_rank_device
#include "pipeline/batch_loader.h"

#include <torch/torch.h>

#include <iostream>
#include <optional>
#include <string>

using namespace tutorial;

// The model: a small ConvNet whose forward returns two things, the class
// scores and the features they come from.
struct ConvNetImpl : torch::nn::Module {
  ConvNetImpl()
      : conv1(register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 16, 3).padding(1)))),
        conv2(register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(16, 32, 3).padding(1)))),
        head(register_module("head", torch::nn::Linear(32 * 7 * 7, 10))) {}

  std::tuple<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x) {
    auto h = torch::max_pool2d(torch::relu(conv1(x)), 2);
    auto features = torch::max_pool2d(torch::relu(conv2(h)), 2).flatten(1);
    return {head(features), features};
  }
  torch::nn::Conv2d conv1, conv2;
  torch::nn::Linear head;
};
TORCH_MODULE(ConvNet);

struct Options {
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  int64_t epochs = 1;
  int64_t accumulation = 2;  // micro-batches per optimizer step
  std::string output = "byom_model.pt";
};

int64_t at_least_one(const std::string& name, const std::string& value) {
  size_t used = 0;
  int64_t number = 0;
  try {
    number = std::stoll(value, &used);
  } catch (const std::exception&) {
  }
  if (used != value.size() || number < 1) throw UserError(name + " must be a whole number >= 1, got '" + value + "'");
  return number;
}

Options parse(int argc, char* argv[]) {
  Options o;
  for (int i = 1; i < argc; i += 2) {
    const std::string name = argv[i];
    if (i + 1 >= argc) throw UserError(name + " needs a value");
    const std::string value = argv[i + 1];
    if (name == "--data-dir") o.data_dir = value;
    else if (name == "--epochs") o.epochs = at_least_one(name, value);
    else if (name == "--accumulation") o.accumulation = at_least_one(name, value);
    else if (name == "--output") o.output = value;
    else throw UserError("unknown option " + name + " (--data-dir, --epochs, --accumulation, --output)");
  }
  return o;
}

torch::Tensor to_input(const torch::Tensor& images) { return images.to(torch::kFloat).div(255); }

int train(const Options& o) {
  const LaunchEnv env = read_launch_env();  // RANK, WORLD_SIZE, ... from the launcher
  const torch::Device device = select_rank_device("auto", env);  // this rank's GPU, or the CPU
  torch::manual_seed(0);
  ProcessGroup group(env, device, ProcessGroupOptions().timeout(std::chrono::minutes(2)));

  const auto train_set = load_dataset(DatasetKind::kFashionMnist, o.data_dir, Split::kTrain);
  const auto test_set = load_dataset(DatasetKind::kFashionMnist, o.data_dir, Split::kTest);
  const int64_t rank_batch = batch_per_rank(64, env.world_size);  // 64 over all ranks
  BatchLoader train_loader(train_set, ShardedSampler(train_set.size(), SamplerOptions().shard(env)),
                           LoaderOptions(rank_batch).device(device));
  BatchLoader test_loader(test_set,
                          ShardedSampler(test_set.size(), SamplerOptions().shuffle(false).pad(false).shard(env)),
                          LoaderOptions(rank_batch).device(device));

  ConvNet model;
  model->to(device);
  DistributedDataParallel ddp(model.ptr(), group);  // rank 0's start copied to every rank
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));

  for (int64_t epoch = 0; epoch < o.epochs; ++epoch) {
    train_loader.start_epoch(epoch);  // DistributedSampler.set_epoch(epoch)
    int64_t micro = 0;
    while (auto batch = train_loader.next()) {
      const bool step_now = ++micro % o.accumulation == 0;
      {
        // Micro-batches before the last one of a step only accumulate locally.
        std::optional<DistributedDataParallel::NoSync> no_sync;
        if (!step_now) no_sync.emplace(ddp);
        auto [scores, features] = ddp.forward(model, to_input(batch->images));  // ddp_model(x)
        auto loss = torch::nn::functional::cross_entropy(scores, batch->labels) +
                    1e-4 * features.pow(2).mean();  // a small penalty on the features
        (loss / static_cast<double>(o.accumulation)).backward();  // all-reduced unless no_sync
      }
      if (step_now) {
        optimizer.step();
        optimizer.zero_grad();
      }
    }

    // Each rank evaluates its shard; the sums over all ranks cover the test set once.
    model->eval();
    torch::NoGradGuard no_grad;
    auto sums = torch::zeros({3}, torch::TensorOptions().dtype(torch::kDouble).device(device));
    test_loader.start_epoch(0);
    while (auto batch = test_loader.next()) {
      auto [scores, features] = model->forward(to_input(batch->images));
      sums[0] += torch::nn::functional::cross_entropy(
          scores, batch->labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
      sums[1] += scores.argmax(1).eq(batch->labels).sum();
      sums[2] += batch->labels.size(0);
    }
    group.all_reduce_sum(sums);
    model->train();
    const auto total = sums.cpu();
    if (env.rank == 0) {
      std::cout << "epoch " << epoch + 1 << ": test accuracy "
                << 100 * total[1].item<double>() / total[2].item<double>() << "% of "
                << total[2].item<int64_t>() << " images, loss "
                << total[0].item<double>() / total[2].item<double>() << std::endl;
    }
  }
  if (env.rank == 0) torch::save(model, o.output);  // one copy, written by rank 0
  group.barrier();                                 // nobody leaves before it is saved
  return 0;
}

int main(int argc, char* argv[]) {
  return run_main("byom", [&] { return train(parse(argc, argv)); });
}
