#include "train/state_dict.h"

#include "core/atomic_file.h"
#include "core/errors.h"
#include "train/torch_save.h"

#include <torch/serialize.h>

#include <filesystem>

namespace tutorial {
namespace {

namespace fs = std::filesystem;

std::string listed(const std::vector<std::string>& names) {
  std::string text = names.front();
  for (size_t i = 1; i < names.size() && i < 3; ++i) text += ", " + names[i];
  return names.size() > 3 ? text + " and " + std::to_string(names.size() - 3) + " more" : text;
}

}  // namespace

c10::Dict<std::string, at::Tensor> state_dict_of(const torch::nn::Module& model) {
  c10::Dict<std::string, at::Tensor> state;
  for (const auto& named : {model.named_parameters(), model.named_buffers()}) {
    for (const auto& item : named) state.insert(item.key(), item.value().detach().to(torch::kCPU));
  }
  return state;
}

std::map<std::string, torch::Tensor> tensors_of(const c10::IValue& dict, const std::string& source) {
  if (!dict.isGenericDict()) {
    throw UserError(source + ": holds a " + dict.tagKind() + ", not a dict of tensors");
  }
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& entry : dict.toGenericDict()) {
    if (!entry.key().isString() || !entry.value().isTensor()) {
      throw UserError(source + ": holds a dict whose entries are not name -> tensor");
    }
    tensors[entry.key().toStringRef()] = entry.value().toTensor();
  }
  return tensors;
}

void load_state_dict(torch::nn::Module& model, std::map<std::string, torch::Tensor> state,
                     const std::string& source) {
  std::vector<std::string> missing;
  torch::NoGradGuard no_grad;
  for (const auto& named : {model.named_parameters(), model.named_buffers()}) {
    for (const auto& item : named) {
      const auto found = state.find(item.key());
      if (found == state.end()) {
        missing.push_back(item.key());
        continue;
      }
      if (found->second.sizes() != item.value().sizes()) {
        throw UserError(source + ": " + item.key() + " has shape " +
                        c10::str(found->second.sizes()) + ", the model's is " +
                        c10::str(item.value().sizes()));
      }
      item.value().copy_(found->second);
      state.erase(found);
    }
  }
  if (!missing.empty()) throw UserError(source + ": lacks " + listed(missing) + " (another model?)");
  if (!state.empty()) {
    std::vector<std::string> unexpected;
    for (const auto& entry : state) unexpected.push_back(entry.first);
    throw UserError(source + ": has " + listed(unexpected) +
                    ", which the model lacks (another model?)");
  }
}

std::string save_trained_model(const std::shared_ptr<torch::nn::Module>& model,
                               const torch::optim::Optimizer& optimizer,
                               const std::string& output_dir) {
  std::error_code error;
  fs::create_directories(output_dir, error);
  if (error) throw UserError(output_dir + ": cannot create output folder (" + error.message() + ")");
  const auto model_path = fs::path(output_dir) / "model.pth";
  write_file_atomically(model_path, torch_save_bytes(state_dict_of(*model)));
  replace_file_atomically(fs::path(output_dir) / "optimizer.pth", [&](const fs::path& temporary) {
    torch::serialize::OutputArchive archive;
    optimizer.save(archive);
    archive.save_to(temporary.string());
  });
  return model_path.string();
}

void load_trained_model(const std::shared_ptr<torch::nn::Module>& model, const std::string& path) {
  if (!fs::exists(path)) throw UserError(path + ": no such file");
  c10::IValue value;
  try {
    value = read_torch_file(path, "not a PyTorch state dict file");
  } catch (const UserError& e) {
    if (std::string(e.what()).find("got None") != std::string::npos) {
      // LibTorch's unpickler reads a collections.OrderedDict, what
      // model.state_dict() is in Python, as None.
      throw UserError(path + ": a Python OrderedDict, which LibTorch cannot read; save it "
                             "with torch.save(dict(model.state_dict()), path)");
    }
    throw;
  }
  load_state_dict(*model, tensors_of(value, path), path);
}

}  // namespace tutorial
