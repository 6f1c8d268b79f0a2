// A small blocking HTTP/1.1 client for the CLI and tests (one request per call,
// a fresh connection each time).
#pragma once

#include <string>

#include "base/result.h"
#include "http/message.h"

namespace nimbus::http {

// `url` is "http://host:port" (no TLS); `req.target` is the path and query.
Result<Response> fetch(const std::string& base_url, const Request& req, int timeout_seconds = 960);

}  // namespace nimbus::http
