#include "train/checkpointing.h"

#include "core/console.h"
#include "train/stop_signal.h"

#include <cstring>

namespace tutorial {

Checkpointing::Checkpointing(const TrainConfig& config, int64_t world_size,
                             torch::nn::Module& model, torch::optim::Optimizer& optimizer,
                             RankAgreement ranks)
    : config_(config),
      model_(model),
      optimizer_(optimizer),
      ranks_(std::move(ranks)),
      checkpoints_(config.output_dir, config.keep_checkpoints, resume_fingerprint(config),
                   world_size, config.batch_size) {
  if (!ranks_.barrier) ranks_.barrier = [] {};
  if (!ranks_.any_rank) ranks_.any_rank = [](bool mine) { return mine; };
}

TrainingPosition Checkpointing::start(Trainer& trainer) {
  const TrainingPosition position = checkpoints_.resume(config_.resume, model_, optimizer_);
  trainer.resume_from(position);
  last_saved_position_ = position;  // nothing new to save before the first step
  install_stop_signal_handlers();
  trainer.set_step_hook([this, &trainer](const TrainingPosition& after) {
    auto with_loss = [&] {  // read from the device only when saving
      TrainingPosition at = after;
      at.epoch_loss_sum = trainer.epoch_loss_sum();
      return at;
    };
    if (config_.checkpoint_every > 0 && after.step % config_.checkpoint_every == 0) {
      save(with_loss());
    }
    if (after.step % ranks_.stop_check_interval != 0) return false;
    if (!ranks_.any_rank(stop_signal_received() != 0)) return false;
    save(with_loss());
    return true;
  });
  return position;
}

void Checkpointing::save(const TrainingPosition& position) {
  const TrainingPosition& last = last_saved_position_;
  if (position.epoch == last.epoch && position.batch == last.batch && position.step == last.step) {
    return;
  }
  if (ranks_.writes) last_saved_ = checkpoints_.save(model_, optimizer_, position);
  last_saved_position_ = position;
  ranks_.barrier();  // no rank runs ahead of a checkpoint it may have to resume from
}

int Checkpointing::stopped() const {
  const int signal = stop_signal_received();
  out() << "Stopped by " << (signal ? strsignal(signal) : "another rank's signal") << " at step "
        << last_saved_position_.step << "; checkpoint " << last_saved_
        << " saved. Run again with --resume auto to continue." << std::endl;
  return kStoppedExitStatus;
}

}  // namespace tutorial
