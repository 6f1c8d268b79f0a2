// Nimbus's own runtimes (runtimes/python, runtimes/node and the C++ SDK) talk to
// their instance over two pipes inherited as fd 3 (events, read by the runtime)
// and fd 4 (results, written by it); NIMBUS_RUNTIME_FD is "3,4". The HTTP
// Runtime API stays for every other runtime (`provided` bootstraps,
// aws-lambda-ric). Same exchange, less work: one frame per event and one per
// result, no HTTP parsing, no acknowledgement, no long poll; a result also says
// "ready for the next event". Pipes rather than a unix socketpair: a 1 KB
// message round trip cost 37-45 µs of CPU over a stream socketpair on the
// reference machine and 21-25 µs over two pipes (docs/BENCHMARKS.md).
//
// A frame is a 4-byte little-endian length of what follows, one kind byte and
// the body. Bodies are fields separated by NUL bytes, the payload last (JSON
// text never contains a raw NUL, and the payload is taken whole):
//   V event      request id, deadline ms, invoked ARN, trace id, client
//                context, cognito identity, payload          (server → runtime)
//   N ready      empty: init is over, send the first event     (runtime → server)
//   R response   request id, payload
//   E error      request id, error type, payload
//   I init error error type, payload
//
// The server may write the next event while the runtime still runs the
// current one (one queued at most, see Instance::invoke): a runtime reads
// events in order and runs one at a time, so it must keep whatever it read
// past the end of a frame. That event's deadline counts from when it was
// written, so it can be earlier than the one the server enforces.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace nimbus::faas {

constexpr char kRuntimeChannelFdEnv[] = "NIMBUS_RUNTIME_FD";
constexpr char kRuntimeChannelFds[] = "3,4";  // events in, results out

enum class FrameKind : char {
  kEvent = 'V',
  kReady = 'N',
  kResponse = 'R',
  kError = 'E',
  kInitError = 'I',
};

struct RuntimeEvent {
  std::string_view request_id;
  int64_t deadline_ms = 0;
  std::string_view invoked_arn;
  std::string_view trace_id;
  std::string_view client_context;
  std::string_view cognito_identity;
  std::string_view payload;
};

// The whole frame, ready to write.
std::string encode_event_frame(const RuntimeEvent& event);

// What a runtime sent. For kReady every field is empty; kInitError has no
// request id.
struct RuntimeMessage {
  FrameKind kind = FrameKind::kReady;
  std::string request_id;
  std::string error_type;
  std::string payload;
};

// Reassembles frames from a byte stream, bounded by max_frame_bytes.
class FrameReader {
 public:
  explicit FrameReader(size_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}
  void feed(std::string_view bytes) { buffer_.append(bytes); }
  // The next complete message, nothing while one is incomplete, or an error
  // for a malformed or oversized frame (the channel is then unusable).
  Result<std::optional<RuntimeMessage>> next();

 private:
  size_t max_frame_bytes_;
  std::string buffer_;
  size_t offset_ = 0;  // start of the unread part of buffer_
};

}  // namespace nimbus::faas
