#include "train/checkpoint.h"

#include "core/errors.h"

#include <torch/serialize.h>

#include <filesystem>

namespace tutorial {
namespace {

template <typename Saveable>
void save_atomically(const Saveable& object, const std::filesystem::path& path) {
  const auto temporary = path.string() + ".tmp";
  torch::serialize::OutputArchive archive;
  object.save(archive);
  archive.save_to(temporary);
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) throw UserError(path.string() + ": cannot write (" + error.message() + ")");
}

}  // namespace

std::string save_trained_model(const std::shared_ptr<torch::nn::Module>& model,
                               const torch::optim::Optimizer& optimizer,
                               const std::string& output_dir) {
  std::error_code error;
  std::filesystem::create_directories(output_dir, error);
  if (error) throw UserError(output_dir + ": cannot create output folder (" + error.message() + ")");
  const auto model_path = std::filesystem::path(output_dir) / "model.pth";
  save_atomically(*model, model_path);
  save_atomically(optimizer, std::filesystem::path(output_dir) / "optimizer.pth");
  return model_path.string();
}

void load_trained_model(const std::shared_ptr<torch::nn::Module>& model, const std::string& path) {
  if (!std::filesystem::exists(path)) throw UserError(path + ": no such file");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
    model->load(archive);
  } catch (const c10::Error& e) {
    throw UserError(path + ": not a model saved by this program (" +
                    first_line(e.what_without_backtrace()) + ")");
  }
}

}  // namespace tutorial
