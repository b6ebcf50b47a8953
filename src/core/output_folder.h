// The folder a run writes to, checked before any work is done: a run that
// cannot save its model should say so at start, not after training.
#pragma once

#include <string>

namespace tutorial {

// Creates `path` (and its parents) if missing and proves it writable by
// creating and removing a file in it. A file in the way, a path that cannot
// be created, a folder that cannot be written: a UserError naming the path
// and the reason ("--output-dir PATH: ...").
void prepare_output_folder(const std::string& path);

}  // namespace tutorial
