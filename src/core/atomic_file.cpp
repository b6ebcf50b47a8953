#include "core/atomic_file.h"

#include "core/errors.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

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

}  // namespace

void replace_file_atomically(const fs::path& path,
                             const std::function<void(const fs::path&)>& write) {
  const fs::path temporary = path.string() + ".tmp";
  try {
    write(temporary);
    sync_to_disk(temporary, false);
    std::error_code error;
    fs::rename(temporary, path, error);
    if (error) cannot_write(path, error.message());
  } catch (...) {
    // A full disk, a file size limit, an I/O error: nothing half-written stays.
    std::error_code ignored;
    fs::remove(temporary, ignored);
    throw;
  }
  sync_to_disk(path.parent_path().empty() ? fs::path(".") : path.parent_path(), true);
}

void write_file_atomically(const fs::path& path, const std::vector<char>& bytes) {
  replace_file_atomically(path, [&](const fs::path& temporary) {
    std::ofstream out(temporary, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) cannot_write(temporary, std::strerror(errno));
  });
}

}  // namespace tutorial
