#include "train/checkpoint.h"

#include "core/errors.h"

#include <torch/serialize.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

namespace tutorial {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void cannot_write(const fs::path& path, const std::string& why) {
  throw UserError(path.string() + ": cannot write (" + why + ")");
}

// Flushes a file's (or a folder's) contents to the disk.
void sync_to_disk(const fs::path& path, bool is_folder) {
  const int fd = ::open(path.c_str(), is_folder ? O_RDONLY | O_DIRECTORY : O_WRONLY);
  if (fd < 0) cannot_write(path, std::strerror(errno));
  const bool synced = ::fsync(fd) == 0;
  const int saved_errno = errno;
  ::close(fd);
  if (!synced) cannot_write(path, std::strerror(saved_errno));
}

// `write(temporary)` fills a temporary file beside `path`; it is synced to
// disk and renamed over `path`, and the folder synced: the old file stays
// valid until the new one is complete.
template <typename WriteFn>
void replace_atomically(const fs::path& path, WriteFn write) {
  const fs::path temporary = path.string() + ".tmp";
  write(temporary);
  sync_to_disk(temporary, false);
  std::error_code error;
  fs::rename(temporary, path, error);
  if (error) cannot_write(path, error.message());
  sync_to_disk(path.parent_path().empty() ? fs::path(".") : path.parent_path(), true);
}

std::vector<char> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError(path + ": cannot read (" + std::strerror(errno) + ")");
  return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}

// The tensors of a state dict file, by name.
std::map<std::string, torch::Tensor> read_state_dict(const std::string& path) {
  const std::vector<char> bytes = read_file(path);
  c10::IValue value;
  try {
    value = torch::pickle_load(bytes);
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    if (what.find("got None") != std::string::npos) {
      // LibTorch's unpickler reads a collections.OrderedDict, what
      // model.state_dict() is in Python, as None.
      throw UserError(path + ": a Python OrderedDict, which LibTorch cannot read; save it "
                             "with torch.save(dict(model.state_dict()), path)");
    }
    throw UserError(path + ": not a PyTorch state dict file (" + first_line(what) + ")");
  }
  if (!value.isGenericDict()) {
    throw UserError(path + ": holds a " + value.tagKind() + ", not a dict of tensors");
  }
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& entry : value.toGenericDict()) {
    if (!entry.key().isString() || !entry.value().isTensor()) {
      throw UserError(path + ": holds a dict whose entries are not name -> tensor");
    }
    tensors[entry.key().toStringRef()] = entry.value().toTensor();
  }
  return tensors;
}

}  // namespace

void save_state_dict(const torch::nn::Module& model, const std::string& path) {
  c10::Dict<std::string, at::Tensor> state;
  for (const auto& named : {model.named_parameters(), model.named_buffers()}) {
    for (const auto& item : named) state.insert(item.key(), item.value().detach().to(torch::kCPU));
  }
  const std::vector<char> bytes = torch::pickle_save(state);
  replace_atomically(path, [&](const fs::path& temporary) {
    std::ofstream out(temporary, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) cannot_write(temporary, std::strerror(errno));
  });
}

std::string save_trained_model(const std::shared_ptr<torch::nn::Module>& model,
                               const torch::optim::Optimizer& optimizer,
                               const std::string& output_dir) {
  std::error_code error;
  fs::create_directories(output_dir, error);
  if (error) throw UserError(output_dir + ": cannot create output folder (" + error.message() + ")");
  const auto model_path = fs::path(output_dir) / "model.pth";
  save_state_dict(*model, model_path.string());
  replace_atomically(fs::path(output_dir) / "optimizer.pth", [&](const fs::path& temporary) {
    torch::serialize::OutputArchive archive;
    optimizer.save(archive);
    archive.save_to(temporary.string());
  });
  return model_path.string();
}

void load_trained_model(const std::shared_ptr<torch::nn::Module>& model, const std::string& path) {
  if (!fs::exists(path)) throw UserError(path + ": no such file");
  auto state = read_state_dict(path);
  std::vector<std::string> missing;
  torch::NoGradGuard no_grad;
  for (const auto& named : {model->named_parameters(), model->named_buffers()}) {
    for (const auto& item : named) {
      const auto found = state.find(item.key());
      if (found == state.end()) {
        missing.push_back(item.key());
        continue;
      }
      if (found->second.sizes() != item.value().sizes()) {
        throw UserError(path + ": " + item.key() + " has shape " +
                        c10::str(found->second.sizes()) + ", the model's is " +
                        c10::str(item.value().sizes()));
      }
      item.value().copy_(found->second);
      state.erase(found);
    }
  }
  auto listed = [](const std::vector<std::string>& names) {
    std::string text = names.front();
    for (size_t i = 1; i < names.size() && i < 3; ++i) text += ", " + names[i];
    return names.size() > 3 ? text + " and " + std::to_string(names.size() - 3) + " more" : text;
  };
  if (!missing.empty()) throw UserError(path + ": lacks " + listed(missing) + " (another model?)");
  if (!state.empty()) {
    std::vector<std::string> unexpected;
    for (const auto& entry : state) unexpected.push_back(entry.first);
    throw UserError(path + ": has " + listed(unexpected) + ", which the model lacks (another model?)");
  }
}

}  // namespace tutorial
