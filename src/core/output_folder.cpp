#include "core/output_folder.h"

#include "core/errors.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace tutorial {

void prepare_output_folder(const std::string& path) {
  namespace fs = std::filesystem;
  const std::string what = "--output-dir " + path + ": ";
  std::error_code error;
  if (fs::exists(path, error) && !fs::is_directory(path, error)) {
    throw UserError(what + "a file of that name is in the way (give a folder)");
  }
  fs::create_directories(path, error);
  if (error) throw UserError(what + "cannot create the folder (" + error.message() + ")");
  // Permission bits do not tell (root ignores them; a read-only file system
  // does not): a file made and removed does.
  const std::string probe = (fs::path(path) / (".write-test-" + std::to_string(::getpid()))).string();
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) throw UserError(what + "cannot write in this folder (" + std::strerror(errno) + ")");
  ::close(fd);
  ::unlink(probe.c_str());
}

}  // namespace tutorial
