// Stage 3: DistributedDataParallel, one process per GPU, started by a launcher.
//
// Stage 1 plus DDP: a launcher (torchrun --no-python, srun, mpirun or
// scripts/launch_local.sh) starts one copy of this program per GPU and tells
// each its rank through environment variables. Each rank trains on its own
// shard of every epoch; gradients are averaged across ranks during backward.
// Lines that differ from stage 1 are marked // [*].
#include "core/console.h"
#include "core/device.h"
#include "core/errors.h"
#include "distributed/distributed_data_parallel.h"  // [*]
#include "distributed_train/distributed_eval.h"     // [*]
#include "distributed/launch_env.h"                 // [*]
#include "distributed/process_group.h"              // [*]
#include "distributed_train/rank_agreement.h"       // [*]
#include "distributed/rank_device.h"                // [*]
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

int main(int argc, char* argv[]) {
  return run_main("stage3_ddp_launched", [&] {  // [*]
    auto parsed = parse_command_line(argc, argv, "stage3_ddp_launched",  // [*]
                                     "Stage 3: DistributedDataParallel, ranks started by a launcher",
                                     {/*device_list=*/false, /*distributed=*/true});  // [*]
    if (!parsed) return 0;  // --help
    const TrainConfig config = *parsed;

    // ---------------------------------------------------------------- device
    const LaunchEnv env = read_launch_env();  // [*] RANK, WORLD_SIZE, ... from the launcher
    set_console_rank(env.rank);               // [*] only rank 0 prints
    torch::Device device = select_rank_device(config.device, env);  // [*]
    configure_cpu_threads(config.threads, env.local_world_size);  // [*] cores shared by the ranks
    torch::manual_seed(config.seed);
    ProcessGroup group(env, config.backend, device,  // [*] rendezvous with the other ranks
                       std::chrono::seconds(config.dist_timeout));

    // ------------------------------------------------------------------ data
    TrainingData data = load_training_data(config, device);
    const int64_t rank_batch_size = std::max<int64_t>(1, config.batch_size / env.world_size);  // [*]
    BatchLoader train_dataloader(data.train,
                                 ShardedSampler(data.train.size(),  // [*] DistributedSampler
                                                {/*shuffle=*/true, config.seed, env.rank,
                                                 env.world_size}),
                                 {rank_batch_size, /*drop_last=*/false, device,  // [*]
                                  /*pin_memory=*/device.is_cuda(), config.prefetch});
    BatchLoader test_dataloader(data.test,
                                ShardedSampler(data.test.size(),  // [*] each rank a shard
                                               {/*shuffle=*/false, 0, env.rank, env.world_size,
                                                /*drop_last=*/false, /*pad=*/false}),
                                {rank_batch_size, /*drop_last=*/false, device,  // [*]
                                 /*pin_memory=*/device.is_cuda(), config.prefetch});

    // ----------------------------------------------------------------- model
    auto model = make_model(config.model, data.image_shape(), data.train.num_classes());
    model->to(device);
    apply_fast_path(config.fast_path, device, *model.module());  // --channels-last, cuDNN
    DistributedDataParallel ddp(model.module(), group);  // [*] same start, averaged gradients
    auto optimizer = make_sgd(model->parameters(), config);
    const int64_t total_steps = config.epochs * train_dataloader.num_batches();
    ForwardFn forward = [&](const torch::Tensor& x) {  // [*]
      return ddp.forward([&](const torch::Tensor& in) { return model.forward(in); }, x);  // [*]
    };  // [*]
    Trainer trainer(*model.module(), forward, optimizer,
                    LrSchedule(config.schedule, config.lr, total_steps,
                               config.warmup_epochs * train_dataloader.num_batches()),
                    data.train_transform, data.test_transform,
                    trainer_options(config, env.rank, env.world_size));  // [*]

    out() << "Using " << describe_device(device) << " device\n";
    ConfigRows rows = describe_run(config, data, *model.module(), describe_device(device));  // [*]
    rows.push_back({"world size", std::to_string(env.world_size) + " (" + launcher_name(env.launcher) +  // [*]
                                      ", backend " + group.backend_name() + ")"});  // [*]
    rows.push_back({"batch per rank", std::to_string(rank_batch_size)});  // [*]
    out() << format_config_table(rows);  // [*]

    // ----------------------------------------------------------- checkpoints
    // --resume auto continues a stopped run exactly; SIGTERM saves and stops.
    Checkpointing checkpoints(config, env.world_size, *model.module(), optimizer,
                              rank_agreement(group));  // [*] rank 0 writes, all agree to stop
    const TrainingPosition start = checkpoints.start(trainer);

    // -------------------------------------------------------------- training
    std::filesystem::create_directories(config.output_dir);
    std::optional<MetricsFile> metrics;  // [*] rank 0 writes files
    if (env.rank == 0) metrics.emplace(config.output_dir + "/metrics.jsonl", start.epoch);  // [*]
    for (int64_t t = start.epoch; t < config.epochs && !trainer.reached_max_steps(); ++t) {
      out() << "Epoch " << t + 1 << "\n-------------------------------" << std::endl;
      const double lr = trainer.current_lr();
      train_dataloader.start_epoch(t, t == start.epoch ? start.batch : 0);  // [*] set_epoch: reshuffle
      const TrainEpochResult train = trainer.train_epoch(train_dataloader);
      if (train.stopped) return checkpoints.stopped();
      test_dataloader.start_epoch(0);
      const EvalResult test = all_reduce(trainer.evaluate(test_dataloader), group);  // [*] all ranks' sums
      out() << format_test_result(test)
            << strprintf("Epoch time: %.1f s, %.0f samples/s\n", train.seconds,
                         train.samples_per_second() * env.world_size)  // [*] all ranks
            << std::endl;
      if (metrics) {  // [*]
        metrics->append({t + 1, trainer.step(), lr, train.mean_loss, test.average_loss(),
                         test.accuracy(), train.seconds,
                         train.samples_per_second() * env.world_size});  // [*]
      }
      checkpoints.save(trainer.position(train_dataloader));
    }
    out() << "Done!" << std::endl;

    if (env.rank == 0) {  // [*] one copy of the model, written by rank 0
      const std::string saved = save_trained_model(model.module(), optimizer, config.output_dir);
      out() << "Saved PyTorch Model State to " << saved << std::endl;
    }
    group.barrier();  // [*] nobody leaves before the model is saved
    return 0;
  });
}
