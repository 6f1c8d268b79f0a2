// Small text helpers for protocol fields (header names and values, methods),
// shared so that each layer does not keep its own copy.
#pragma once

#include <string>
#include <string_view>

namespace nimbus::http {

// ASCII lower-casing (header names, methods, hex); other bytes are unchanged.
std::string ascii_lower(std::string_view s);
// Strips HTTP optional whitespace (spaces and tabs, RFC 9110 "OWS") at both ends.
std::string_view trim_ows(std::string_view s);

}  // namespace nimbus::http
