#include "faas/runtime_channel.h"

#include <cerrno>
#include <cstring>

namespace nimbus::faas {

namespace {

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// Splits off the next NUL-terminated field; false when there is none.
bool take_field(std::string_view& body, std::string& field) {
  auto nul = body.find('\0');
  if (nul == std::string_view::npos) return false;
  field.assign(body.substr(0, nul));
  body.remove_prefix(nul + 1);
  return true;
}

}  // namespace

std::string encode_event_frame(const RuntimeEvent& e) {
  std::string deadline = std::to_string(e.deadline_ms);
  const std::string_view fields[] = {e.request_id, deadline,         e.invoked_arn,
                                     e.trace_id,   e.client_context, e.cognito_identity};
  size_t body = e.payload.size();
  for (auto f : fields) body += f.size() + 1;
  std::string out;
  out.reserve(5 + body);
  put_u32(out, static_cast<uint32_t>(body + 1));
  out.push_back(static_cast<char>(FrameKind::kEvent));
  for (auto f : fields) {
    out.append(f);
    out.push_back('\0');
  }
  out.append(e.payload);
  return out;
}

Result<std::optional<RuntimeMessage>> FrameReader::next() {
  std::string_view avail(buffer_);
  avail.remove_prefix(offset_);
  if (avail.size() < 4) return std::optional<RuntimeMessage>();
  uint32_t len = get_u32(avail.data());
  if (len == 0) return fail(SysError{"runtime channel: empty frame"});
  if (len > max_frame_bytes_)
    return fail(SysError{"runtime channel: frame of " + std::to_string(len) +
                             " bytes exceeds the limit of " + std::to_string(max_frame_bytes_),
                         EMSGSIZE});
  if (avail.size() < 4 + static_cast<size_t>(len)) return std::optional<RuntimeMessage>();

  RuntimeMessage m;
  std::string_view body = avail.substr(5, len - 1);
  m.kind = static_cast<FrameKind>(avail[4]);
  bool ok = true;
  switch (m.kind) {
    case FrameKind::kReady:
      ok = body.empty();
      break;
    case FrameKind::kResponse:
      ok = take_field(body, m.request_id);
      break;
    case FrameKind::kError:
      ok = take_field(body, m.request_id) && take_field(body, m.error_type);
      break;
    case FrameKind::kInitError:
      ok = take_field(body, m.error_type);
      break;
    default:
      return fail(SysError{"runtime channel: unknown frame kind " +
                           std::to_string(static_cast<unsigned char>(avail[4]))});
  }
  if (!ok) return fail(SysError{"runtime channel: malformed frame"});
  m.payload.assign(body);
  offset_ += 4 + len;
  // Drop consumed bytes once they dominate, so the buffer does not grow forever.
  if (offset_ == buffer_.size()) {
    buffer_.clear();
    offset_ = 0;
  } else if (offset_ > 65536 && offset_ > buffer_.size() / 2) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  return std::optional<RuntimeMessage>(std::move(m));
}

}  // namespace nimbus::faas
