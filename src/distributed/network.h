// Small socket helpers for rendezvous: a free port for single-machine runs,
// and this machine's address on the route to the master, for Gloo to bind to.
#pragma once

#include <optional>
#include <string>

namespace tutorial {

// True when `host` (a name or an address) resolves to an address.
bool resolves(const std::string& host);

// A TCP port on this machine that nobody listens on right now (the kernel
// picks it).
int find_free_port();

// The local IP address this machine would use to reach `host` (a name or an
// address), e.g. "10.0.0.5", or "127.0.0.1" for a loopback master; nullopt
// when `host` does not resolve or is unreachable. Binding Gloo there, rather
// than to whatever the hostname resolves to, keeps ranks on the interface
// that actually leads to the other nodes.
std::optional<std::string> local_address_towards(const std::string& host);

}  // namespace tutorial
