// Ranks that disagree stop before they train: each rank writes the settings
// that must be equal everywhere to the rendezvous store, rank 0 compares them
// and writes its verdict, and every rank reads it. Through the store rather
// than a collective: a collective over buffers of different sizes is itself
// what crashes when ranks disagree (Gloo's "op.preamble.length <= op.nbytes").
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace c10d {
class Store;
}

namespace tutorial {

// (name as the user gives it, value), e.g. {"--lr", "0.001"}.
using Settings = std::vector<std::pair<std::string, std::string>>;

// Returns normally when every rank holds the same `settings`; otherwise
// throws, on every rank, a UserError naming the first setting that differs
// and two ranks' values: "rank 1 has --lr 0.1 but rank 0 has 0.001; every
// rank must be started with the same training options".
void agree_on_settings(c10d::Store& store, int64_t rank, int64_t world_size,
                       const Settings& settings);

// The first difference between rank 0's settings and `rank`'s, as above, or "".
std::string settings_disagreement(const Settings& rank0, int64_t rank, const Settings& theirs);

// One line per setting, and back (the store holds bytes).
std::string encode_settings(const Settings& settings);
Settings decode_settings(const std::string& text);

}  // namespace tutorial
