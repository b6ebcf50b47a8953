#include "distributed/settings_agreement.h"

#include "core/errors.h"

#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>
#include <sstream>
#include <thread>

namespace tutorial {
namespace {

const std::string kVerdictKey = "tutorial/settings/verdict";
const std::string kVerdictReadKey = "tutorial/settings/verdict_read";
// How long rank 0, which hosts the store, waits for every rank to read a
// disagreement before it stops: they are all waiting for it already.
constexpr std::chrono::seconds kVerdictReadLimit{10};

std::string key_of(int64_t rank) { return "tutorial/settings/" + std::to_string(rank); }

void set_text(c10d::Store& store, const std::string& key, const std::string& text) {
  store.set(key, std::vector<uint8_t>(text.begin(), text.end()));
}

std::string get_text(c10d::Store& store, const std::string& key) {
  const std::vector<uint8_t> bytes = store.get(key);  // waits for the key
  return std::string(bytes.begin(), bytes.end());
}

// Rank 0 stays until the other ranks have read the verdict: a rank would
// otherwise find the store gone with rank 0 (LibTorch 2.x: "Failed to recv").
void wait_until_read(c10d::Store& store, int64_t readers) {
  const auto deadline = std::chrono::steady_clock::now() + kVerdictReadLimit;
  while (store.add(kVerdictReadKey, 0) < readers && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

std::string encode_settings(const Settings& settings) {
  std::string text;
  for (const auto& [name, value] : settings) text += name + "=" + value + "\n";
  return text;
}

Settings decode_settings(const std::string& text) {
  Settings settings;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const auto equals = line.find('=');
    if (equals != std::string::npos) settings.emplace_back(line.substr(0, equals), line.substr(equals + 1));
  }
  return settings;
}

std::string settings_disagreement(const Settings& rank0, int64_t rank, const Settings& theirs) {
  const std::string ending = "; every rank must be started with the same training options";
  for (const auto& [name, value] : rank0) {
    std::string their_value = "nothing";
    for (const auto& [their_name, v] : theirs) {
      if (their_name == name) their_value = v;
    }
    if (their_value != value) {
      return "rank " + std::to_string(rank) + " has " + name + " " + their_value +
             " but rank 0 has " + value + ending;
    }
  }
  if (theirs.size() != rank0.size()) {
    return "rank " + std::to_string(rank) + " is a different build of this program" + ending;
  }
  return "";
}

void agree_on_settings(c10d::Store& store, int64_t rank, int64_t world_size,
                       const Settings& settings) {
  set_text(store, key_of(rank), encode_settings(settings));
  std::string verdict;
  if (rank == 0) {
    for (int64_t other = 1; other < world_size && verdict.empty(); ++other) {
      verdict = settings_disagreement(settings, other, decode_settings(get_text(store, key_of(other))));
    }
    set_text(store, kVerdictKey, verdict);
    if (!verdict.empty()) wait_until_read(store, world_size - 1);
  } else {
    try {
      verdict = get_text(store, kVerdictKey);
      store.add(kVerdictReadKey, 1);
    } catch (const std::exception&) {
      throw UserError("rank " + std::to_string(rank) +
                      ": rank 0 ended before the ranks had compared their training options "
                      "(its own error says why)");
    }
  }
  if (!verdict.empty()) throw UserError(verdict);
}

}  // namespace tutorial
