// Stage 4: DistributedDataParallel with worker processes the program starts itself.
//
// Stage 3 without a launcher, as the tutorial's torch.multiprocessing.spawn
// script: main() forks one worker per GPU, gives each its rank and supervises
// them (one dies: the others are stopped). Changes from stage 3: // [*].
#include "core/console.h"
#include "core/device.h"
#include "core/errors.h"
#include "core/output_folder.h"
#include "distributed_train/distributed.h"          // [*] ranks, process groups, ...
#include "distributed/distributed_data_parallel.h"  // [*]
#include "distributed/network.h"                    // [*] find_free_port
#include "distributed/spawn_workers.h"              // [*]
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


using namespace tutorial;

// The whole run, from the device to the saved model.
int train_worker(const TrainConfig& config, const LaunchEnv& env) {  // [*]
  // ---------------------------------------------------------------- device
  set_console_rank(env.rank);                                      // [*] only rank 0 prints
  torch::Device device = select_rank_device(config.device, env);  // [*]
  configure_cpu_threads(config.threads, env.local_world_size);   // [*] cores shared by the ranks
  torch::manual_seed(config.seed);
  ProcessGroup group(env, device, process_group_options(config));  // [*] rendezvous; same settings?

  // ------------------------------------------------------------------ data
  prepare_output_folder(config.output_dir);  // refused now, not after training
  TrainingData data = load_training_data(config, device);
  const int64_t rank_batch_size = batch_per_rank(config.batch_size, env.world_size, config.accumulate_steps);  // [*]
  BatchLoader train_dataloader(
      data.train, ShardedSampler(data.train.size(), SamplerOptions().seed(config.seed).shard(env)),  // [*]
      loader_options(config, device).batch_size(rank_batch_size));  // [*]
  BatchLoader test_dataloader(
      data.test, ShardedSampler(data.test.size(), SamplerOptions().shuffle(false).pad(false).shard(env)),  // [*]
      loader_options(config, device).batch_size(rank_batch_size));  // [*]

  // ----------------------------------------------------------------- model
  auto model = make_model(config.model, data.image_shape(), data.train.num_classes());
  model->to(device);
  apply_fast_path(config.fast_path, device, *model.module());  // --channels-last, cuDNN
  if (config.sync_bn) use_sync_batch_norm(model, group);  // [*] --sync-bn: statistics over all ranks
  auto timeline = rank_timeline(config, env, device);  // [*] --trace: this rank's steps, or none
  DistributedDataParallel ddp(model.module(), group, ddp_options(config));  // [*] same start, averaged gradients
  ddp.set_timeline(timeline.get());  // [*] each bucket's all-reduce
  auto optimizer = make_sgd(model->parameters(), config);
  ForwardFn forward = [&](const torch::Tensor& x) { return ddp.forward(model, x); };  // [*]
  Trainer trainer(*model.module(), forward, optimizer,
                  LrSchedule(config.schedule, config.lr, config.epochs * train_dataloader.num_batches(),
                             config.warmup_epochs * train_dataloader.num_batches()),
                  data.train_transform, data.test_transform,
                  trainer_options(config, env.rank, env.world_size));  // [*]
  trainer.set_gradient_sync([&](bool sync) { ddp.require_backward_grad_sync(sync); });  // [*] no_sync()
  trainer.set_timeline(timeline.get());  // [*] forward, backward, step

  ConfigRows rows = describe_run(config, data, *model.module(), describe_device(device));
  add_world_rows(rows, env, group.backend_name(), rank_batch_size);  // [*] world size, batch per rank
  out() << "Using " << describe_device(device) << " device\n"
        << format_config_table(rows);

  // ----------------------------------------------------------- checkpoints
  // --resume auto continues a stopped run exactly; SIGTERM saves and stops.
  Checkpointing checkpoints(config, env.world_size, *model.module(), optimizer, rank_agreement(group));  // [*]
  const TrainingPosition start = checkpoints.start(trainer);

  // -------------------------------------------------------------- training
  MetricsFile metrics(config.output_dir + "/metrics.jsonl", start.epoch, env.rank == 0);  // [*] rank 0 writes
  for (int64_t t = start.epoch; t < config.epochs && !trainer.reached_max_steps(); ++t) {
    out() << "Epoch " << t + 1 << "\n-------------------------------" << std::endl;
    const double lr = trainer.current_lr();
    train_dataloader.start_epoch(t, t == start.epoch ? start.batch : 0);
    const TrainEpochResult train = trainer.train_epoch(train_dataloader);
    if (train.stopped) return checkpoints.stopped();
    test_dataloader.start_epoch(0);
    const EvalResult test = all_reduce(trainer.evaluate(test_dataloader), group);  // [*] all ranks' sums
    out() << format_test_result(test)
          << strprintf("Epoch time: %.1f s, %.0f samples/s\n", train.seconds,
                       train.samples_per_second())
          << std::endl;
    metrics.append({t + 1, trainer.step(), lr, train.mean_loss, test.average_loss(),
                    test.accuracy(), train.seconds, train.samples_per_second()});
    checkpoints.save(trainer.position(train_dataloader));
  }
  out() << "Done!" << std::endl;

  if (env.rank == 0) {  // [*] one copy of the model, written by rank 0
    const std::string saved = save_trained_model(model.module(), optimizer, config.output_dir);
    out() << "Saved PyTorch Model State to " << saved << std::endl;
  }
  group.barrier();  // [*] nobody leaves before the model is saved
  return 0;
}

int main(int argc, char* argv[]) {
  return run_main("stage4_ddp_spawned", [&] {  // [*]
    const auto config = parse_command_line(argc, argv, "stage4_ddp_spawned",  // [*]
                                           "Stage 4: DistributedDataParallel, "
                                           "worker processes started by this program",  // [*]
                                           CommandLineFeatures().distributed(true).spawn(true));  // [*]
    if (!config) return 0;  // --help
    // [*] As mp.spawn(main_worker, nprocs=ngpus_per_node): no CUDA work before the fork.
    const int64_t world_size = config->nodes * config->nproc_per_node;  // [*]
    batch_per_rank(config->batch_size, world_size, config->accumulate_steps);  // [*] refused before any worker starts
    const int port = config->master_port ? static_cast<int>(config->master_port) : find_free_port();  // [*]
    return spawn_workers(config->nproc_per_node, [&](int64_t local_rank) {  // [*]
      const int64_t rank = config->node_rank * config->nproc_per_node + local_rank;  // [*]
      const LaunchEnv env{Launcher::kSpawned, rank, local_rank, world_size,  // [*]
                          config->nproc_per_node, config->master_addr, port};  // [*]
      return run_main("stage4_ddp_spawned", [&] { return train_worker(*config, env); });  // [*]
    });  // [*]
  });
}
