// What a run prints: only rank 0 speaks (set_console_rank), printf-style
// formatting for the tutorial's fixed-width log lines, and the configuration
// table printed at start.
#pragma once

#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace tutorial {

// Ranks other than 0 print nothing through out().
void set_console_rank(int64_t rank);
bool is_console_rank();
std::ostream& out();

// printf-style formatting into a std::string.
std::string strprintf(const char* format, ...) __attribute__((format(printf, 1, 2)));

using ConfigRows = std::vector<std::pair<std::string, std::string>>;
// A two-column table, as llm.c prints its configuration.
std::string format_config_table(const ConfigRows& rows);

}  // namespace tutorial
