#include "data/file_bytes.h"

#include "data/data_errors.h"
#include "data/gzip.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

namespace fs = std::filesystem;

namespace tutorial {

namespace {

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::vector<uint8_t> read_raw_file_bytes(const std::string& path) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (status.type() == fs::file_type::not_found) throw file_error(path, "file not found");
  if (status.type() == fs::file_type::none)
    throw file_error(path, "cannot access: " + ec.message());
  if (fs::is_directory(status)) throw file_error(path, "is a directory, expected a file");

  // stdio rather than iostreams: errno says why an open failed.
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) throw file_error(path, std::string("cannot open: ") + std::strerror(errno));

  const uintmax_t size = fs::file_size(path, ec);
  if (ec) throw file_error(path, "cannot get the file size: " + ec.message());
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  const size_t got = std::fread(bytes.data(), 1, bytes.size(), file.get());
  if (got != bytes.size()) {
    const std::string why =
        std::ferror(file.get()) ? std::strerror(errno) : "file shrank while read";
    throw file_error(path, "read error after " + std::to_string(got) + " of " +
                               std::to_string(bytes.size()) + " bytes: " + why);
  }
  return bytes;
}

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  std::vector<uint8_t> bytes = read_raw_file_bytes(path);
  if (ends_with(path, ".gz") || has_gzip_magic(bytes)) return gunzip(bytes, path);
  return bytes;
}

}  // namespace tutorial
