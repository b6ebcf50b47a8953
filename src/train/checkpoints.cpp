#include "train/checkpoints.h"

#include "core/atomic_file.h"
#include "core/console.h"
#include "core/device.h"
#include "core/errors.h"
#include "train/state_dict.h"
#include "train/torch_save.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/cuda.h>
#include <torch/serialize.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>

namespace tutorial {
namespace {

namespace fs = std::filesystem;

const char* const kFormat = "ddp-tutorial checkpoint 1";

std::map<std::string, std::string> parse_fingerprint(const std::string& text) {
  std::map<std::string, std::string> fields;
  std::stringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    const auto equals = line.find('=');
    if (equals != std::string::npos) fields[line.substr(0, equals)] = line.substr(equals + 1);
  }
  return fields;
}

int64_t step_of(const fs::path& file) {
  const std::string name = file.stem().string();  // step-000123
  return std::stoll(name.substr(name.find('-') + 1));
}

torch::Tensor bytes_tensor(const std::string& bytes) {
  return torch::from_blob(const_cast<char*>(bytes.data()), {static_cast<int64_t>(bytes.size())},
                          torch::kUInt8)
      .clone();
}

at::Generator& cpu_generator() {
  static at::Generator generator = at::detail::getDefaultCPUGenerator();
  return generator;
}

// The current GPU's generator, where this LibTorch and machine have CUDA.
// No training step draws from it (augmentation draws on the CPU, from the
// step), but a user's own code might.
std::optional<at::Generator> cuda_generator() {
  if (!torch::cuda::is_available()) return std::nullopt;
  return at::globalContext().defaultGenerator(c10::Device(c10::kCUDA));
}

}  // namespace

std::string resume_fingerprint(const TrainConfig& c) {
  std::ostringstream text;
  text << "dataset=" << c.dataset << "\nmodel=" << c.model << "\nepochs=" << c.epochs
       << "\nbatch_size=" << c.batch_size << "\nlr=" << c.lr << "\nmomentum=" << c.momentum
       << "\nnesterov=" << c.nesterov << "\nweight_decay=" << c.weight_decay
       << "\nschedule=" << c.schedule << "\naugment=" << c.augment << "\nseed=" << c.seed << "\n";
  return text.str();
}

Checkpoints::Checkpoints(const std::string& output_dir, int64_t keep, std::string fingerprint,
                         int64_t world_size, int64_t global_batch)
    : folder_(fs::path(output_dir) / "checkpoints"),
      keep_(keep),
      fingerprint_(std::move(fingerprint)),
      world_size_(world_size),
      global_batch_(global_batch) {
  if (keep_ < 1) throw UserError("--keep-checkpoints must be at least 1");
  if (world_size_ < 1) throw UserError("world size must be at least 1");
}

std::vector<fs::path> Checkpoints::files() const {
  std::vector<fs::path> found;
  std::error_code error;
  for (fs::directory_iterator it(folder_, error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (name.rfind("step-", 0) == 0 && it->path().extension() == ".pt") found.push_back(it->path());
  }
  std::sort(found.begin(), found.end(),
            [](const fs::path& a, const fs::path& b) { return step_of(a) < step_of(b); });
  return found;
}

std::string Checkpoints::save(const torch::nn::Module& model,
                              const torch::optim::Optimizer& optimizer,
                              const TrainingPosition& position) {
  std::error_code error;
  fs::create_directories(folder_, error);
  if (error) throw UserError(folder_.string() + ": cannot create (" + error.message() + ")");
  std::ostringstream optimizer_bytes;
  {
    torch::serialize::OutputArchive archive;
    optimizer.save(archive);
    archive.save_to(optimizer_bytes);
  }
  torch::Tensor rng_state;
  {
    std::lock_guard<std::mutex> lock(cpu_generator().mutex());
    rng_state = cpu_generator().get_state();
  }
  c10::impl::GenericDict checkpoint(c10::StringType::get(), c10::AnyType::get());
  checkpoint.insert("format", kFormat);
  checkpoint.insert("fingerprint", fingerprint_);
  checkpoint.insert("position", torch::tensor({position.epoch, position.batch, position.step}));
  // The position in samples of the epoch's global order, and who wrote it:
  // any world size that divides the global batch resumes from it.
  checkpoint.insert("samples", torch::tensor(position.batch * global_batch_, torch::kLong));
  checkpoint.insert("world_size", torch::tensor(world_size_, torch::kLong));
  // A tensor, as the position: torch.load(weights_only=True) in torch 1.13
  // cannot read a pickled float.
  checkpoint.insert("epoch_loss_sum",
                    torch::tensor(position.epoch_loss_sum, torch::TensorOptions(torch::kDouble)));
  if (position.loss_scale.scale != 0) {  // fp16's scaler, as GradScaler.state_dict() names it
    checkpoint.insert("loss_scale", torch::tensor(position.loss_scale.scale,
                                                  torch::TensorOptions(torch::kDouble)));
    checkpoint.insert("loss_scale_growth_tracker",
                      torch::tensor(position.loss_scale.growth_tracker,
                                    torch::TensorOptions(torch::kLong)));
  }
  checkpoint.insert("model", state_dict_of(model));
  checkpoint.insert("optimizer", bytes_tensor(optimizer_bytes.str()));
  checkpoint.insert("cpu_rng_state", rng_state);
  if (auto cuda = cuda_generator()) {
    std::lock_guard<std::mutex> lock(cuda->mutex());
    checkpoint.insert("cuda_rng_state", cuda->get_state());
  }

  char name[32];
  std::snprintf(name, sizeof name, "step-%09lld.pt", static_cast<long long>(position.step));
  const fs::path path = folder_ / name;
  write_file_atomically(path, torch_save_bytes(checkpoint));
  auto existing = files();
  for (size_t i = 0; i + static_cast<size_t>(keep_) < existing.size(); ++i) {
    fs::remove(existing[i], error);
  }
  return path.string();
}

TrainingPosition Checkpoints::load(const fs::path& path, torch::nn::Module& model,
                                   torch::optim::Optimizer& optimizer) {
  const std::string source = path.string();
  const c10::IValue value = read_torch_file(source, "unreadable");
  if (!value.isGenericDict()) throw UserError(source + ": not a checkpoint");
  const auto dict = value.toGenericDict();
  auto field = [&](const std::string& key) {
    if (!dict.contains(key)) throw UserError(source + ": not a checkpoint (no " + key + ")");
    return dict.at(key);
  };
  if (!field("format").isString() || field("format").toStringRef() != kFormat) {
    throw UserError(source + ": not a checkpoint of this program");
  }
  // Settings first: nothing is loaded from a checkpoint of another run.
  const auto saved = parse_fingerprint(field("fingerprint").toStringRef());
  for (const auto& [key, value_now] : parse_fingerprint(fingerprint_)) {
    const auto found = saved.find(key);
    const std::string then = found == saved.end() ? "(none)" : found->second;
    if (then != value_now) {
      throw UserError(source + " was made with " + key + "=" + then + ", this run has " + key +
                      "=" + value_now + ": resume with the same settings, or use another --output-dir");
    }
  }
  const auto position = field("position").toTensor();
  if (position.numel() != 3) throw UserError(source + ": not a checkpoint (bad position)");
  const auto count = [&](const std::string& key) -> std::optional<int64_t> {
    if (!dict.contains(key)) return std::nullopt;
    const auto& entry = dict.at(key);
    if (!entry.isTensor() || entry.toTensor().numel() != 1 ||
        entry.toTensor().scalar_type() != torch::kLong) {
      throw UserError(source + ": not a checkpoint (bad " + key + ")");
    }
    return entry.toTensor().item<int64_t>();
  };
  // The batch index counts global batches: it must start where its samples do.
  // (Checkpoints from before "samples" counted them so too.)
  const int64_t batch = position[1].item<int64_t>();
  if (const auto samples = count("samples"); samples && *samples != batch * global_batch_) {
    throw UserError(source + ": not a checkpoint of batches of " + std::to_string(global_batch_) +
                    " (batch " + std::to_string(batch) + " at sample " + std::to_string(*samples) +
                    ")");
  }
  // (Checkpoints from before "world_size" held it in their fingerprint.)
  const auto saved_world = saved.find("world_size");
  loaded_world_size_ = count("world_size").value_or(
      saved_world == saved.end() ? world_size_ : std::strtoll(saved_world->second.c_str(), nullptr, 10));
  if (loaded_world_size_ < 1) throw UserError(source + ": not a checkpoint (bad world_size)");
  const auto device = device_of(model);
  load_state_dict(model, tensors_of(field("model"), source + " (model)"), source);
  try {
    torch::serialize::InputArchive archive;
    load_archive_bytes(archive, field("optimizer").toTensor(), device, source,
                       "optimizer state unreadable");
    optimizer.load(archive);
  } catch (const UserError&) {
    throw;
  } catch (const c10::Error& e) {
    throw UserError(source + ": optimizer state unreadable (" +
                    first_line(e.what_without_backtrace()) + ")");
  } catch (const std::exception& e) {
    throw UserError(source + ": optimizer state unreadable (" + first_line(e.what()) + ")");
  }
  {
    std::lock_guard<std::mutex> lock(cpu_generator().mutex());
    cpu_generator().set_state(field("cpu_rng_state").toTensor());
  }
  if (auto cuda = cuda_generator(); cuda && dict.contains("cuda_rng_state")) {
    std::lock_guard<std::mutex> lock(cuda->mutex());
    cuda->set_state(dict.at("cuda_rng_state").toTensor());
  }
  // (Checkpoints written before it existed resume with 0.)
  const bool has_loss = dict.contains("epoch_loss_sum") && dict.at("epoch_loss_sum").isTensor() &&
                        dict.at("epoch_loss_sum").toTensor().numel() == 1 &&
                        dict.at("epoch_loss_sum").toTensor().is_floating_point();
  TrainingPosition loaded{position[0].item<int64_t>(), batch, position[2].item<int64_t>(),
                          has_loss ? dict.at("epoch_loss_sum").toTensor().item<double>() : 0.0};
  if (dict.contains("loss_scale")) {  // a run with fp16's scaler
    auto scalar = [&](const std::string& key, bool floating) {
      const auto& v = field(key);
      if (!v.isTensor() || v.toTensor().numel() != 1 ||
          v.toTensor().is_floating_point() != floating) {
        throw UserError(source + ": not a checkpoint (bad " + key + ")");
      }
      return v.toTensor();
    };
    loaded.loss_scale.scale = scalar("loss_scale", true).item<double>();
    loaded.loss_scale.growth_tracker = scalar("loss_scale_growth_tracker", false).item<int64_t>();
    if (!(loaded.loss_scale.scale > 0) || !std::isfinite(loaded.loss_scale.scale) ||
        loaded.loss_scale.growth_tracker < 0) {
      throw UserError(source + ": not a checkpoint (loss scale " +
                      std::to_string(loaded.loss_scale.scale) + ", growth tracker " +
                      std::to_string(loaded.loss_scale.growth_tracker) + ")");
    }
  }
  return loaded;
}

TrainingPosition Checkpoints::resume(const std::string& what, torch::nn::Module& model,
                                     torch::optim::Optimizer& optimizer) {
  if (what == "none") return {};
  TrainingPosition position;
  std::string used;
  if (what == "auto") {
    const auto candidates = files();
    for (auto it = candidates.rbegin(); it != candidates.rend() && used.empty(); ++it) {
      try {
        position = load(*it, model, optimizer);
        used = it->string();
      } catch (const UserError& e) {
        const std::string message = e.what();
        // Other settings are the user's mistake, not damage: stop.
        if (message.find(" was made with ") != std::string::npos) throw;
        if (is_console_rank()) {
          std::cerr << "checkpoint " << it->string() << " is damaged (" << message
                    << "); trying the one before it" << std::endl;
        }
      }
    }
    if (used.empty()) {
      if (!candidates.empty()) {
        throw UserError(folder_.string() + ": no readable checkpoint among " +
                        std::to_string(candidates.size()) +
                        " (remove the folder to start afresh)");
      }
      return {};
    }
  } else {
    if (!fs::exists(what)) throw UserError("--resume: " + what + ": no such file");
    position = load(what, model, optimizer);
    used = what;
  }
  out() << "Resuming from " << used << ": epoch " << position.epoch + 1 << ", batch "
        << position.batch << ", step " << position.step << std::endl;
  if (loaded_world_size_ != world_size_) {
    const auto ranks = [](int64_t n) { return std::to_string(n) + (n == 1 ? " rank" : " ranks"); };
    out() << "Resuming a " << loaded_world_size_ << "-rank checkpoint on " << ranks(world_size_)
          << ": the global batch of " << global_batch_ << " stays, "
          << global_batch_ / world_size_ << " per rank" << std::endl;
  }
  return position;
}

}  // namespace tutorial
