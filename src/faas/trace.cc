#include "faas/trace.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <random>
#include <unordered_map>
#include <utility>

namespace nimbus::faas {

namespace {

constexpr int64_t kMaxTimeMs = int64_t{1} << 50;     // ~35,000 years: no overflow in ns
constexpr uint32_t kMaxDurationMs = 15 * 60 * 1000;  // Lambda's longest timeout
constexpr uint32_t kMaxMemoryMb = 10240;
constexpr size_t kMaxNameLength = 256;
constexpr int kAzureMinutes = 1440;
constexpr uint32_t kMaxPerMinute = 10'000'000;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

template <class T>
bool to_number(std::string_view s, T& out) {
  s = trim(s);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

// Splits a line at every comma.
void split_fields(std::string_view line, std::vector<std::string_view>& out) {
  out.clear();
  for (;;) {
    size_t comma = line.find(',');
    out.push_back(line.substr(0, comma));
    if (comma == std::string_view::npos) return;
    line.remove_prefix(comma + 1);
  }
}

class Builder {
 public:
  explicit Builder(const TraceOptions& o) : o_(o) {}
  // Returns the function's index, or false when the name is invalid.
  bool function(std::string_view name, uint32_t& index) {
    name = trim(name);
    if (name.empty() || name.size() > kMaxNameLength) return false;
    auto it = index_.find(std::string(name));
    if (it == index_.end()) {
      it = index_.emplace(std::string(name), static_cast<uint32_t>(trace_.functions.size())).first;
      trace_.functions.emplace_back(name);
    }
    index = it->second;
    return true;
  }
  bool add(const TraceEvent& e) {
    if (trace_.events.size() >= o_.max_events) return false;
    trace_.events.push_back(e);
    return true;
  }
  Trace finish() {
    std::stable_sort(
        trace_.events.begin(), trace_.events.end(),
        [](const TraceEvent& a, const TraceEvent& b) { return a.time_ms < b.time_ms; });
    return std::move(trace_);
  }

 private:
  const TraceOptions& o_;
  Trace trace_;
  std::unordered_map<std::string, uint32_t> index_;
};

Failure<TraceError> error_at(size_t line, std::string_view what) {
  return fail(TraceError{"trace line " + std::to_string(line) + ": " + std::string(what)});
}

// Calls fn(line_number, line) for each line that is not blank or a comment.
template <class Fn>
bool for_each_line(std::string_view text, Fn&& fn) {
  size_t number = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++number;
    if (line.empty() || line.front() == '#') continue;
    if (!fn(number, line)) return false;
  }
  return true;
}

Result<Trace, TraceError> parse_nimbus(std::string_view text, const TraceOptions& o) {
  Builder b(o);
  std::vector<std::string_view> f;
  std::optional<Failure<TraceError>> err;
  auto bad = [&err](size_t n, std::string_view what) {
    err = error_at(n, what);
    return false;
  };
  bool first = true;
  for_each_line(text, [&](size_t n, std::string_view line) {
    split_fields(line, f);
    if (first) {
      first = false;
      int64_t ignored;
      if (f.size() == 4 && !to_number(f[0], ignored)) return true;  // a header
    }
    if (f.size() != 4) return bad(n, "expected timestamp_ms,function,duration_ms,memory_mb");
    TraceEvent e;
    if (!to_number(f[0], e.time_ms) || e.time_ms < 0 || e.time_ms > kMaxTimeMs)
      return bad(n, "bad timestamp_ms");
    if (!b.function(f[1], e.function)) return bad(n, "bad function name");
    if (!to_number(f[2], e.duration_ms) || e.duration_ms > kMaxDurationMs)
      return bad(n, "bad duration_ms (0 to 900000)");
    if (!to_number(f[3], e.memory_mb) || e.memory_mb == 0 || e.memory_mb > kMaxMemoryMb)
      return bad(n, "bad memory_mb (1 to 10240)");
    if (!b.add(e)) return bad(n, "too many invocations");
    return true;
  });
  if (err) return std::move(*err);
  return b.finish();
}

Result<Trace, TraceError> parse_azure(std::string_view text, const TraceOptions& o) {
  Builder b(o);
  // mt19937_64's sequence is fixed by the standard, and the offsets are drawn
  // with a plain modulo (the distributions' algorithms are not): the same
  // seed gives the same trace everywhere.
  std::mt19937_64 rng(o.seed);
  std::vector<std::string_view> f;
  std::optional<Failure<TraceError>> err;
  auto bad = [&err](size_t n, std::string_view what) {
    err = error_at(n, what);
    return false;
  };
  bool header = true;
  for_each_line(text, [&](size_t n, std::string_view line) {
    if (std::exchange(header, false)) return true;
    split_fields(line, f);
    if (f.size() != 4 + kAzureMinutes) return bad(n, "expected 4 + 1440 fields");
    // HashApp/HashFunction: function hashes repeat across apps.
    std::string name = std::string(trim(f[1])) + "/" + std::string(trim(f[2]));
    TraceEvent e;
    e.duration_ms = o.default_duration_ms;
    e.memory_mb = o.default_memory_mb;
    if (!b.function(name, e.function)) return bad(n, "bad function hash");
    for (int m = 0; m < kAzureMinutes; ++m) {
      uint32_t count;
      if (!to_number(f[4 + m], count) || count > kMaxPerMinute) return bad(n, "bad count");
      for (uint32_t i = 0; i < count; ++i) {
        e.time_ms = int64_t{m} * 60'000 + static_cast<int64_t>(rng() % 60'000);
        if (!b.add(e)) return bad(n, "too many invocations");
      }
    }
    return true;
  });
  if (err) return std::move(*err);
  return b.finish();
}

}  // namespace

Result<Trace, TraceError> parse_trace(std::string_view text, const TraceOptions& options) {
  std::string_view first = text.substr(0, text.find('\n'));
  if (trim(first).starts_with("HashOwner")) return parse_azure(text, options);
  return parse_nimbus(text, options);
}

}  // namespace nimbus::faas
