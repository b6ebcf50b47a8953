// Stage 4: DistributedDataParallel with worker processes the program starts itself.
//
// Stage 3 without a launcher, as the tutorial's torch.multiprocessing.spawn
// script: main() forks one worker per GPU (before any CUDA work), gives each
// its rank, and supervises them: if one dies, the others are stopped and the
// program exits non-zero naming it. The training is stage 3's, in
// train_worker(). Lines that differ from stage 3 are marked.
#include "core/console.h"
#include "core/device.h"
#include "core/errors.h"
#include "distributed/distributed_data_parallel.h"
#include "distributed_train/distributed_eval.h"
#include "distributed/network.h"      // [*]
#include "distributed/launch_env.h"
#include "distributed/process_group.h"
#include "distributed_train/rank_agreement.h"
#include "distributed/rank_device.h"
#include "distributed/spawn_workers.h"  // [*]
#include "models/model_factory.h"
#include "pipeline/batch_loader.h"
#include "train/checkpointing.h"
#include "train/command_line.h"
#include "train/engine.h"
#include "train/fast_path.h"
#include "train/metrics_file.h"
#include "train/optimizer.h"
#include "train/run_summary.h"
#include "train/state_dict.h"
#include "train/training_data.h"

#include <filesystem>

using namespace tutorial;

// [*] One rank's training: stage 3's main, with its rank handed over by the parent.
int train_worker(const TrainConfig& config, const LaunchEnv& env) {  // [*]
  // ---------------------------------------------------------------- device
  set_console_rank(env.rank);
  torch::Device device = select_rank_device(config.device, env);
  configure_cpu_threads(config.threads, env.local_world_size);
  torch::manual_seed(config.seed);
  ProcessGroup group(env, config.backend, device,
                     std::chrono::seconds(config.dist_timeout));

  // ------------------------------------------------------------------ data
  TrainingData data = load_training_data(config, device);
  const int64_t rank_batch_size = std::max<int64_t>(1, config.batch_size / env.world_size);
  BatchLoader train_dataloader(data.train,
                               ShardedSampler(data.train.size(),
                                              {/*shuffle=*/true, config.seed, env.rank,
                                               env.world_size}),
                               {rank_batch_size, /*drop_last=*/false, device,
                                /*pin_memory=*/device.is_cuda(), config.prefetch});
  BatchLoader test_dataloader(data.test,
                              ShardedSampler(data.test.size(),
                                             {/*shuffle=*/false, 0, env.rank, env.world_size,
                                              /*drop_last=*/false, /*pad=*/false}),
                              {rank_batch_size, /*drop_last=*/false, device,
                               /*pin_memory=*/device.is_cuda(), config.prefetch});

  // ----------------------------------------------------------------- model
  auto model = make_model(config.model, data.image_shape(), data.train.num_classes());
  model->to(device);
  apply_fast_path(config.fast_path, device, *model.module());  // --channels-last, cuDNN
  DistributedDataParallel ddp(model.module(), group);
  auto optimizer = make_sgd(model->parameters(), config);
  const int64_t total_steps = config.epochs * train_dataloader.num_batches();
  ForwardFn forward = [&](const torch::Tensor& x) {
    return ddp.forward([&](const torch::Tensor& in) { return model.forward(in); }, x);
  };
  Trainer trainer(*model.module(), forward, optimizer,
                  LrSchedule(config.schedule, config.lr, total_steps,
                             config.warmup_epochs * train_dataloader.num_batches()),
                  data.train_transform, data.test_transform,
                  trainer_options(config, env.rank, env.world_size));

  out() << "Using " << describe_device(device) << " device\n";
  ConfigRows rows = describe_run(config, data, *model.module(), describe_device(device));
  rows.push_back({"world size", std::to_string(env.world_size) + " (" + launcher_name(env.launcher) +
                                    ", backend " + group.backend_name() + ")"});
  rows.push_back({"batch per rank", std::to_string(rank_batch_size)});
  out() << format_config_table(rows);

  // ----------------------------------------------------------- checkpoints
  // --resume auto continues a stopped run exactly; SIGTERM saves and stops.
  Checkpointing checkpoints(config, env.world_size, *model.module(), optimizer,
                            rank_agreement(group));  // rank 0 writes, all agree to stop
  const TrainingPosition start = checkpoints.start(trainer);

  // -------------------------------------------------------------- training
  std::filesystem::create_directories(config.output_dir);
  std::optional<MetricsFile> metrics;
  if (env.rank == 0) metrics.emplace(config.output_dir + "/metrics.jsonl", start.epoch);
  for (int64_t t = start.epoch; t < config.epochs && !trainer.reached_max_steps(); ++t) {
    out() << "Epoch " << t + 1 << "\n-------------------------------" << std::endl;
    const double lr = trainer.current_lr();
    train_dataloader.start_epoch(t, t == start.epoch ? start.batch : 0);
    const TrainEpochResult train = trainer.train_epoch(train_dataloader);
    if (train.stopped) return checkpoints.stopped();
    test_dataloader.start_epoch(0);
    const EvalResult test = all_reduce(trainer.evaluate(test_dataloader), group);
    out() << format_test_result(test)
          << strprintf("Epoch time: %.1f s, %.0f samples/s\n", train.seconds,
                       train.samples_per_second() * env.world_size)
          << std::endl;
    if (metrics) {
      metrics->append({t + 1, trainer.step(), lr, train.mean_loss, test.average_loss(),
                       test.accuracy(), train.seconds,
                       train.samples_per_second() * env.world_size});
    }
    checkpoints.save(trainer.position(train_dataloader));
  }
  out() << "Done!" << std::endl;

  if (env.rank == 0) {
    const std::string saved = save_trained_model(model.module(), optimizer, config.output_dir);
    out() << "Saved PyTorch Model State to " << saved << std::endl;
  }
  group.barrier();
  return 0;
}

int main(int argc, char* argv[]) {
  return run_main("stage4_ddp_spawned", [&] {  // [*]
    auto parsed = parse_command_line(argc, argv, "stage4_ddp_spawned",  // [*]
                                     "Stage 4: DistributedDataParallel, worker processes started by this program",  // [*]
                                     {/*device_list=*/false, /*distributed=*/true, /*spawn=*/true});  // [*]
    if (!parsed) return 0;  // --help
    const TrainConfig config = *parsed;

    // [*] Like mp.spawn(main_worker, nprocs=ngpus_per_node): no CUDA work before the fork.
    const int64_t world_size = config.nodes * config.nproc_per_node;  // [*]
    const int master_port = config.master_port != 0 ? static_cast<int>(config.master_port)  // [*]
                                                    : find_free_port();  // [*]
    return spawn_workers(config.nproc_per_node, [&](int64_t local_rank) {  // [*]
      const LaunchEnv env{Launcher::kSpawned, config.node_rank * config.nproc_per_node + local_rank,  // [*]
                          local_rank, world_size, config.nproc_per_node, config.master_addr,  // [*]
                          master_port};  // [*]
      return run_main("stage4_ddp_spawned", [&] { return train_worker(config, env); });  // [*]
    });  // [*]
  });
}
