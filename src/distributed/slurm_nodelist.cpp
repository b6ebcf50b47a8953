#include "distributed/slurm_nodelist.h"

#include "core/errors.h"

#include <charconv>
#include <cstddef>

namespace tutorial {

namespace {

// Far beyond any real job; stops "n[0-999999999]" from exhausting memory.
constexpr std::size_t kMaxHosts = 1 << 20;

[[noreturn]] void malformed(const std::string& what, const std::string& list,
                            const std::string& why) {
  throw UserError("malformed Slurm " + what + " '" + list + "': " + why);
}

bool all_digits(const std::string& text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Reads a non-negative decimal number into `value`; false if `text` isn't one (or overflows).
bool parse_count(const std::string& text, int64_t& value) {
  if (!all_digits(text)) return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

// Splits at commas outside brackets, checking the brackets balance and never nest.
std::vector<std::string> split_names(const std::string& list) {
  std::vector<std::string> names;
  std::string current;
  bool in_bracket = false;
  for (char c : list) {
    if (c == '[') {
      if (in_bracket) malformed("node list", list, "'[' inside brackets");
      in_bracket = true;
    } else if (c == ']') {
      if (!in_bracket) malformed("node list", list, "']' without '['");
      in_bracket = false;
    } else if (c == ',' && !in_bracket) {
      names.push_back(current);
      current.clear();
      continue;
    }
    current += c;
  }
  if (in_bracket) malformed("node list", list, "'[' without ']'");
  names.push_back(current);
  return names;
}

// Appends prefix + each number of `ranges` ("01-04,07") + suffix to `hosts`.
void expand_ranges(const std::string& list, const std::string& prefix, const std::string& ranges,
                   const std::string& suffix, std::vector<std::string>& hosts) {
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = ranges.find(',', start);
    const std::string item = ranges.substr(start, comma == std::string::npos ? comma : comma - start);
    const std::size_t dash = item.find('-');
    const std::string low_text = item.substr(0, dash);
    const std::string high_text = dash == std::string::npos ? low_text : item.substr(dash + 1);
    int64_t low = 0;
    int64_t high = 0;
    if (!parse_count(low_text, low) || !parse_count(high_text, high)) {
      malformed("node list", list, "'[" + ranges + "]' is not a list of numbers and ranges");
    }
    if (high < low) malformed("node list", list, "range '" + item + "' is reversed");
    if (static_cast<uint64_t>(high - low) >= kMaxHosts - hosts.size()) {
      malformed("node list", list, "more than " + std::to_string(kMaxHosts) + " hosts");
    }
    // Slurm pads every number of a range to the width of its first one: [08-10].
    const std::size_t width = low_text.size();
    for (int64_t n = low; n <= high; ++n) {
      std::string digits = std::to_string(n);
      if (digits.size() < width) digits.insert(0, width - digits.size(), '0');
      hosts.push_back(prefix + digits + suffix);
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
}

}  // namespace

std::vector<std::string> expand_slurm_nodelist(const std::string& list) {
  if (list.empty()) malformed("node list", list, "it is empty");
  std::vector<std::string> hosts;
  for (const std::string& name : split_names(list)) {
    if (name.empty()) malformed("node list", list, "empty host name");
    const std::size_t open = name.find('[');
    if (open == std::string::npos) {
      hosts.push_back(name);
      continue;
    }
    const std::size_t close = name.find(']', open);  // split_names guarantees one
    const std::string suffix = name.substr(close + 1);
    if (suffix.find('[') != std::string::npos) {
      malformed("node list", list,
                "more than one bracket group in '" + name +
                    "' is not supported; set MASTER_ADDR to the first host instead");
    }
    expand_ranges(list, name.substr(0, open), name.substr(open + 1, close - open - 1), suffix,
                  hosts);
  }
  return hosts;
}

std::vector<int64_t> expand_slurm_tasks_per_node(const std::string& list) {
  if (list.empty()) malformed("task list", list, "it is empty");
  std::vector<int64_t> counts;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = list.find(',', start);
    const std::string item = list.substr(start, comma == std::string::npos ? comma : comma - start);
    // "N" or "N(xK)": N tasks on each of K nodes.
    std::string count_text = item;
    int64_t repeat = 1;
    const std::size_t paren = item.find('(');
    if (paren != std::string::npos) {
      count_text = item.substr(0, paren);
      const bool shaped = item.size() > paren + 3 && item.compare(paren, 2, "(x") == 0 &&
                          item.back() == ')';
      if (!shaped || !parse_count(item.substr(paren + 2, item.size() - paren - 3), repeat) ||
          repeat < 1) {
        malformed("task list", list, "'" + item + "' is not N or N(xK)");
      }
    }
    int64_t count = 0;
    if (!parse_count(count_text, count)) {
      malformed("task list", list, "'" + item + "' is not N or N(xK)");
    }
    if (static_cast<uint64_t>(repeat) > kMaxHosts - counts.size()) {
      malformed("task list", list, "more than " + std::to_string(kMaxHosts) + " nodes");
    }
    counts.insert(counts.end(), static_cast<std::size_t>(repeat), count);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return counts;
}

}  // namespace tutorial
