// Who is on the other end of a loopback TCP connection. TCP carries no
// credentials (unlike SO_PEERCRED on unix sockets), but for loopback the
// kernel's socket table (/proc/net/tcp) names the owner uid of the client's
// socket: it is how an instance's Runtime API endpoint refuses connections
// from any process but its own instance.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string_view>

namespace nimbus::http {

// The uid owning the IPv4 socket whose local end is 127.0.0.1:client_port and
// remote end 127.0.0.1:server_port, or nullopt when there is none.
std::optional<uid_t> loopback_peer_uid(uint16_t client_port, uint16_t server_port);

// The same lookup over a /proc/net/tcp text (for tests).
std::optional<uid_t> find_peer_uid(std::string_view proc_net_tcp, uint16_t client_port,
                                   uint16_t server_port);

}  // namespace nimbus::http
