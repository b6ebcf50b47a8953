// Slurm's compressed lists, as found in SLURM_NODELIST and SLURM_TASKS_PER_NODE.
//
// Slurm hands a job its hosts as "node[01-04,07],login1" rather than one name
// per node; a job needs the first of them as its rendezvous (master) address.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tutorial {

// Expands a host list: "node01" -> {node01}; "node[01-04,07]" -> node01..node04,
// node07 (a range keeps the zero padding of its first number);
// "a[1-2],b3" -> {a1, a2, b3}; "gpu-[1-3]-ib" -> gpu-1-ib..gpu-3-ib.
// One bracket group per name: names like "rack[1-2]-n[1-4]" are rare and are
// rejected with a hint to set MASTER_ADDR, rather than expanded wrongly.
// Malformed lists (empty, unbalanced brackets, reversed ranges such as [5-2])
// throw UserError quoting the list.
std::vector<std::string> expand_slurm_nodelist(const std::string& list);

// Expands a task count list: "2(x3),1" -> {2, 2, 2, 1}, one count per node.
// Malformed lists throw UserError quoting the list.
std::vector<int64_t> expand_slurm_tasks_per_node(const std::string& list);

}  // namespace tutorial
