// A TCP port on this machine that nobody listens on right now, for a
// single-machine rendezvous (the kernel picks it).
#pragma once

namespace tutorial {

int find_free_port();

}  // namespace tutorial
