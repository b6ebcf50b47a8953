#include "train/command_line_option_kinds.h"

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <iterator>
#include <sstream>

namespace tutorial {
namespace {

// The whole number of type T in `text`, if all of it is one.
template <typename T>
bool whole_number_in(const std::string& text, T& value) {
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  return !text.empty() && error == std::errc() && stop == end;
}

UserError not_a(const std::string& what, const std::string& name, const std::string& text) {
  return UserError("--" + name + ": '" + text + "' is not " + what);
}

}  // namespace

std::string shortest_text(double value) {
  char buffer[32];
  // Both forms are the shortest that read back exactly; printf writes the
  // exponent as e-03, which reads back the same as e-3.
  auto end = std::to_chars(std::begin(buffer), std::end(buffer), value,
                           std::chars_format::scientific).ptr;
  const std::string scientific(buffer, end);
  const auto e = scientific.find('e');
  const int exponent = std::atoi(scientific.c_str() + e + 1);
  const std::string compact =
      scientific.substr(0, e) + (exponent == 0 ? "" : "e" + std::to_string(exponent));
  const auto fixed = std::to_chars(std::begin(buffer), std::end(buffer), value,
                                   std::chars_format::fixed);
  const auto fixed_size = static_cast<size_t>(fixed.ptr - buffer);
  if (fixed.ec == std::errc() && fixed_size <= compact.size()) {
    return std::string(buffer, fixed.ptr);
  }
  return compact;
}

int64_t whole_number_from_text(const std::string& name, const std::string& text) {
  int64_t value = 0;
  if (!whole_number_in(text, value)) throw not_a("a whole number", name, text);
  return value;
}

uint64_t count_from_text(const std::string& name, const std::string& text) {
  uint64_t value = 0;
  if (!whole_number_in(text, value)) throw not_a("a non-negative whole number", name, text);
  return value;
}

double real_number_from_text(const std::string& name, const std::string& text) {
  char* parsed_end = nullptr;
  errno = 0;
  const double value = std::strtod(text.c_str(), &parsed_end);
  if (text.empty() || parsed_end != text.c_str() + text.size() || errno != 0) {
    throw not_a("a number", name, text);
  }
  return value;
}

std::vector<int64_t> device_list_from_text(const std::string& name, const std::string& text) {
  std::vector<int64_t> devices;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    size_t used = 0;
    int64_t index = -1;
    try {
      index = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || index < 0) {
      throw not_a("a comma-separated list of GPU indices", name, text);
    }
    devices.push_back(index);
  }
  if (devices.empty()) throw UserError("--" + name + ": empty device list");
  return devices;
}

}  // namespace tutorial
