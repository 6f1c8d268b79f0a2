#include "services/logs/logs_util.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "base/ids.h"

namespace nimbus::services::logs {

std::string group_key(std::string_view group) {
  return std::string(kGroupPrefix) + std::string(group);
}

std::string streams_prefix(std::string_view group) {
  return "logs/stream/" + std::string(group) + kSep;
}

std::string stream_key(std::string_view group, std::string_view stream) {
  return streams_prefix(group) + std::string(stream);
}

std::string group_events_prefix(std::string_view group) {
  return "logs/ev/" + std::string(group) + kSep;
}

std::string stream_events_prefix(std::string_view group, std::string_view stream) {
  return group_events_prefix(group) + std::string(stream) + kSep;
}

namespace {
void append_digits(std::string& out, uint64_t v, int width) {
  char buf[20];
  for (int i = width - 1; i >= 0; --i, v /= 10) buf[i] = static_cast<char>('0' + v % 10);
  out.append(buf, static_cast<size_t>(width));
}
}  // namespace

std::string ts_bound(int64_t ts) {
  std::string out;
  append_digits(out, static_cast<uint64_t>(std::max<int64_t>(ts, 0)), 20);
  return out;
}
void append_position(std::string& out, int64_t ts, uint64_t seq) {
  append_digits(out, static_cast<uint64_t>(std::max<int64_t>(ts, 0)), 20);
  append_digits(out, seq % 100'000'000, 8);
}
std::string position(int64_t ts, uint64_t seq) {
  std::string out;
  out.reserve(kPosLen);
  append_position(out, ts, seq);
  return out;
}
int64_t position_timestamp(std::string_view pos) {
  int64_t ts = 0;
  std::from_chars(pos.data(), pos.data() + std::min<size_t>(20, pos.size()), ts);
  return ts;
}

bool valid_bound(std::string_view s) {
  return (s.size() == 20 || s.size() == kPosLen) &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void append_record(std::string& value, std::string_view pos, int64_t ingestion_ms,
                   std::string_view message) {
  char num[24];
  value += pos;
  auto r = std::to_chars(num, num + sizeof num, ingestion_ms);
  value.append(num, r.ptr);
  value += ':';
  r = std::to_chars(num, num + sizeof num, message.size());
  value.append(num, r.ptr);
  value += ':';
  value += message;
}
std::optional<EventRecord> take_record(std::string_view& rest) {
  auto number = [&](auto& out) {
    auto colon = rest.find(':');
    if (colon == std::string_view::npos) return false;
    auto r = std::from_chars(rest.data(), rest.data() + colon, out);
    if (r.ec != std::errc() || r.ptr != rest.data() + colon) return false;
    rest.remove_prefix(colon + 1);
    return true;
  };
  EventRecord rec;
  size_t len = 0;
  if (rest.size() >= kPosLen) {
    rec.pos = rest.substr(0, kPosLen);
    rest.remove_prefix(kPosLen);
    if (number(rec.ingestion_ms) && number(len) && len <= rest.size()) {
      rec.message = rest.substr(0, len);
      rest.remove_prefix(len);
      return rec;
    }
  }
  rest = {};
  return std::nullopt;
}

std::string encode_token(std::string_view raw) {
  return base64_encode(raw);
}

std::optional<std::string> decode_token(std::string_view token) {
  std::string out;
  if (!base64_decode(token, out)) return std::nullopt;
  return out;
}

bool valid_group_name(std::string_view name) {
  if (name.empty() || name.size() > 512) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_' || c == '/' || c == '#';
  });
}

bool valid_stream_name(std::string_view name) {
  if (name.empty() || name.size() > 512) return false;
  return name.find_first_of(std::string_view(":*\x01", 3)) == std::string_view::npos;
}

std::string group_from_identifier(std::string_view id) {
  constexpr std::string_view kMarker = ":log-group:";
  if (!id.starts_with("arn:")) return std::string(id);
  auto at = id.find(kMarker);
  if (at == std::string_view::npos) return std::string(id);
  auto name = id.substr(at + kMarker.size());
  if (name.ends_with(":*")) name.remove_suffix(2);
  return std::string(name);
}

std::string group_arn(std::string_view region, std::string_view account, std::string_view group) {
  return "arn:aws:logs:" + std::string(region) + ":" + std::string(account) +
         ":log-group:" + std::string(group) + ":*";
}

aws::ApiError invalid_parameter(std::string message) {
  return aws::ApiError::make(400, "InvalidParameterException", std::move(message));
}

// CloudWatch Logs answers every client error with status 400, not found included.
aws::ApiError group_not_found() {
  return aws::ApiError::make(400, "ResourceNotFoundException",
                             "The specified log group does not exist.");
}

aws::ApiError stream_not_found() {
  return aws::ApiError::make(400, "ResourceNotFoundException",
                             "The specified log stream does not exist.");
}

// ---- Params ----

std::string Params::group() {
  if (auto name = str("logGroupName")) return *name;
  if (auto id = str("logGroupIdentifier")) return group_from_identifier(*id);
  set_error(invalid_parameter("Should provide either logGroupName or logGroupIdentifier."));
  return {};
}

// ---- FilterPattern ----

Result<FilterPattern, aws::ApiError> FilterPattern::parse(std::string_view text) {
  FilterPattern p;
  size_t i = 0;
  auto skip_space = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  };
  skip_space();
  if (i < text.size() && (text[i] == '{' || text[i] == '[')) {
    return fail(invalid_parameter(
        "Nimbus supports only term filter patterns (terms, \"phrases\", ?any, -exclude)."));
  }
  while (skip_space(), i < text.size()) {
    auto* bucket = &p.all_;
    if (text[i] == '?' || text[i] == '-') {
      bucket = text[i] == '?' ? &p.any_ : &p.none_;
      ++i;
    }
    std::string term;
    if (i < text.size() && text[i] == '"') {
      // A quoted phrase: spaces are part of it and \" is a literal quote.
      ++i;
      bool closed = false;
      for (; i < text.size(); ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) {
          term.push_back(text[++i]);
        } else if (text[i] == '"') {
          closed = true;
          ++i;
          break;
        } else {
          term.push_back(text[i]);
        }
      }
      if (!closed) return fail(invalid_parameter("Invalid filter pattern: unterminated quote."));
    } else {
      while (i < text.size() && text[i] != ' ' && text[i] != '\t') term.push_back(text[i++]);
    }
    if (!term.empty()) bucket->push_back(std::move(term));
  }
  return p;
}

bool FilterPattern::matches(std::string_view message) const {
  auto has = [&](const std::string& t) { return message.find(t) != std::string_view::npos; };
  if (!std::all_of(all_.begin(), all_.end(), has)) return false;
  if (std::any_of(none_.begin(), none_.end(), has)) return false;
  return any_.empty() || std::any_of(any_.begin(), any_.end(), has);
}

}  // namespace nimbus::services::logs
