// Files written so that a crash at any moment leaves either the old file or
// the complete new one under the final name: a temporary file beside it,
// fsync, rename, fsync of the folder.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace tutorial {

// `write(temporary)` fills a temporary file beside `path`; it then replaces
// `path`. Errors become a UserError naming the file; the temporary file is
// removed, and `path` keeps what it held.
void replace_file_atomically(const std::filesystem::path& path,
                             const std::function<void(const std::filesystem::path&)>& write);

void write_file_atomically(const std::filesystem::path& path, const std::vector<char>& bytes);

}  // namespace tutorial
