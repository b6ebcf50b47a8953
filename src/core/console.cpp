#include "core/console.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <iostream>

namespace tutorial {
namespace {

int64_t console_rank = 0;

// An ostream that drops everything (for ranks other than 0).
class NullBuffer : public std::streambuf {
 protected:
  int overflow(int c) override { return c; }
};

}  // namespace

void set_console_rank(int64_t rank) { console_rank = rank; }
bool is_console_rank() { return console_rank == 0; }

std::ostream& out() {
  static NullBuffer null_buffer;
  static std::ostream null_stream(&null_buffer);
  return is_console_rank() ? std::cout : null_stream;
}

std::string strprintf(const char* format, ...) {
  va_list args;
  va_start(args, format);
  va_list copy;
  va_copy(copy, args);
  const int length = std::vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  std::string text(length > 0 ? static_cast<size_t>(length) : 0, '\0');
  if (length > 0) std::vsnprintf(text.data(), text.size() + 1, format, args);
  va_end(args);
  return text;
}

std::string format_config_table(const ConfigRows& rows) {
  size_t key_width = 9, value_width = 5;  // "Parameter", "Value"
  for (const auto& [key, value] : rows) {
    key_width = std::max(key_width, key.size());
    value_width = std::max(value_width, value.size());
  }
  const std::string rule =
      "+" + std::string(key_width + 2, '-') + "+" + std::string(value_width + 2, '-') + "+\n";
  auto row = [&](const std::string& key, const std::string& value) {
    return "| " + key + std::string(key_width - key.size(), ' ') + " | " + value +
           std::string(value_width - value.size(), ' ') + " |\n";
  };
  std::string table = rule + row("Parameter", "Value") + rule;
  for (const auto& [key, value] : rows) table += row(key, value);
  return table + rule;
}

}  // namespace tutorial
