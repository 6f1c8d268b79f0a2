#include "http/peer.h"

#include <charconv>
#include <cstdio>
#include <string>

#include "store/blobs.h"

namespace nimbus::http {

namespace {

// "0100007F:1F90" is 127.0.0.1:8080 (address in host byte order, port in hex).
bool is_loopback_endpoint(std::string_view field, uint16_t port) {
  char want[16];
  std::snprintf(want, sizeof want, "0100007F:%04X", port);
  return field == want;
}

std::string_view next_field(std::string_view& line) {
  size_t start = line.find_first_not_of(' ');
  if (start == std::string_view::npos) {
    line = {};
    return {};
  }
  line.remove_prefix(start);
  size_t end = line.find(' ');
  auto field = line.substr(0, end);
  line = end == std::string_view::npos ? std::string_view{} : line.substr(end);
  return field;
}

}  // namespace

std::optional<uid_t> find_peer_uid(std::string_view table, uint16_t client_port,
                                   uint16_t server_port) {
  size_t pos = table.find('\n');  // skip the header line
  while (pos != std::string_view::npos && pos + 1 < table.size()) {
    size_t end = table.find('\n', pos + 1);
    std::string_view line = table.substr(
        pos + 1, end == std::string_view::npos ? std::string_view::npos : end - pos - 1);
    pos = end;
    // sl local rem st tx:rx tr:when retrnsmt uid ...
    std::string_view f = line;
    next_field(f);
    auto local = next_field(f);
    auto remote = next_field(f);
    if (!is_loopback_endpoint(local, client_port) || !is_loopback_endpoint(remote, server_port))
      continue;
    for (int i = 0; i < 4; ++i) next_field(f);
    auto uid_field = next_field(f);
    uid_t uid = 0;
    auto [p, ec] = std::from_chars(uid_field.data(), uid_field.data() + uid_field.size(), uid);
    if (ec == std::errc()) return uid;
  }
  return std::nullopt;
}

std::optional<uid_t> loopback_peer_uid(uint16_t client_port, uint16_t server_port) {
  auto table = store::read_file("/proc/net/tcp");
  if (!table) return std::nullopt;
  return find_peer_uid(table.value(), client_port, server_port);
}

}  // namespace nimbus::http
