// Stage 2: one process, several GPUs, with DataParallel.
//
// Stage 1 plus DataParallel: every batch is split over the GPUs, the model is
// replicated onto each, and outputs and gradients are gathered on the first.
// Lines that differ from stage 1 are marked // [*].
#include "core/console.h"
#include "core/device.h"
#include "core/errors.h"
#include "core/output_folder.h"
#include "models/model_factory.h"
#include "parallel/data_parallel.h"  // [*]
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
int train(const TrainConfig& config) {
  // ---------------------------------------------------------------- device
  const std::vector<torch::Device> gpus = data_parallel_devices(config);  // [*]
  torch::Device device = gpus.empty() ? resolve_device(config.device) : gpus.front();  // [*]
  configure_cpu_threads(config.threads);
  torch::manual_seed(config.seed);

  // ------------------------------------------------------------------ data
  prepare_output_folder(config.output_dir);  // refused now, not after training
  TrainingData data = load_training_data(config, device);
  BatchLoader train_dataloader(
      data.train, ShardedSampler(data.train.size(), SamplerOptions().seed(config.seed)),
      loader_options(config, device));
  BatchLoader test_dataloader(
      data.test, ShardedSampler(data.test.size(), SamplerOptions().shuffle(false).pad(false)),
      loader_options(config, device));

  // ----------------------------------------------------------------- model
  auto model = make_model(config.model, data.image_shape(), data.train.num_classes());
  model->to(device);
  apply_fast_path(config.fast_path, device, *model.module());  // --channels-last, cuDNN
  auto optimizer = make_sgd(model->parameters(), config);
  ForwardFn forward = data_parallel_forward(model, gpus);  // [*] the DataParallel model
  Trainer trainer(*model.module(), forward, optimizer,
                  LrSchedule(config.schedule, config.lr, config.epochs * train_dataloader.num_batches(),
                             config.warmup_epochs * train_dataloader.num_batches()),
                  data.train_transform, data.test_transform,
                  trainer_options(config));

  ConfigRows rows = describe_run(config, data, *model.module(), describe_device(device));
  out() << "Using " << describe_device(device) << " device\n"
        << describe_data_parallel(gpus, device)  // [*] "Let's use 2 GPUs!"
        << format_config_table(rows);

  // ----------------------------------------------------------- checkpoints
  // --resume auto continues a stopped run exactly; SIGTERM saves and stops.
  Checkpointing checkpoints(config, /*world_size=*/1, *model.module(), optimizer);
  const TrainingPosition start = checkpoints.start(trainer);

  // -------------------------------------------------------------- training
  MetricsFile metrics(config.output_dir + "/metrics.jsonl", start.epoch);
  for (int64_t t = start.epoch; t < config.epochs && !trainer.reached_max_steps(); ++t) {
    out() << "Epoch " << t + 1 << "\n-------------------------------" << std::endl;
    const double lr = trainer.current_lr();
    train_dataloader.start_epoch(t, t == start.epoch ? start.batch : 0);
    const TrainEpochResult train = trainer.train_epoch(train_dataloader);
    if (train.stopped) return checkpoints.stopped();
    test_dataloader.start_epoch(0);
    const EvalResult test = trainer.evaluate(test_dataloader);
    out() << format_test_result(test)
          << strprintf("Epoch time: %.1f s, %.0f samples/s\n", train.seconds,
                       train.samples_per_second())
          << std::endl;
    metrics.append({t + 1, trainer.step(), lr, train.mean_loss, test.average_loss(),
                    test.accuracy(), train.seconds, train.samples_per_second()});
    checkpoints.save(trainer.position(train_dataloader));
  }
  out() << "Done!" << std::endl;

  const std::string saved = save_trained_model(model.module(), optimizer, config.output_dir);
  out() << "Saved PyTorch Model State to " << saved << std::endl;
  return 0;
}

int main(int argc, char* argv[]) {
  return run_main("stage2_data_parallel", [&] {  // [*]
    const auto config = parse_command_line(argc, argv, "stage2_data_parallel",  // [*]
                                           "Stage 2: train on several GPUs of one machine with DataParallel",
                                           CommandLineFeatures().device_list(true));  // [*] --devices
    if (!config) return 0;  // --help
    return train(*config);
  });
}
