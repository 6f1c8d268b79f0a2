// Small text helpers shared by every layer (header names and values, ARNs,
// paths, cgroup files), so that no module keeps its own copy.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace nimbus {

// ASCII lower-casing (header names, methods, hex); other bytes are unchanged.
std::string ascii_lower(std::string_view s);
constexpr char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
// Strips HTTP optional whitespace (spaces and tabs, RFC 9110 "OWS") at both ends.
std::string_view trim_ows(std::string_view s);
// Splits at every `sep`: "" gives one empty part, "a,,b," gives a, "", b, "".
std::vector<std::string_view> split(std::string_view s, char sep);

}  // namespace nimbus
