// LogsService event operations: PutLogEvents, GetLogEvents, FilterLogEvents.
//
// Events of one stream are keys "<stream prefix><pos>" in (timestamp, sequence)
// order. A time range maps onto key bounds: ts_bound(t) sorts just before every
// position at t, so "after ts_bound(start)" includes start and "before
// ts_bound(end)" excludes end, as CloudWatch's startTime/endTime do.
#include <algorithm>
#include <deque>
#include <queue>

#include "services/logs/logs_service.h"

namespace nimbus::services::logs {

namespace {

constexpr size_t kScanChunk = 128;
constexpr size_t kMaxResponseBytes = 1'048'576;  // CloudWatch caps a page at 1 MB
constexpr size_t kMaxBatchBytes = 1'048'576;
constexpr size_t kEventOverhead = 26;  // bytes CloudWatch adds per event to the batch size
constexpr size_t kMaxBatchEvents = 10'000;
// FilterLogEvents examines at most this many events per call and then answers
// with what it found and a nextToken, as CloudWatch does for sparse matches.
constexpr size_t kFilterScanBudget = 100'000;
constexpr int64_t kHourMs = 3'600'000;
constexpr int64_t kDayMs = 24 * kHourMs;

struct Event {
  std::string pos;
  int64_t timestamp = 0;
  int64_t ingestion = 0;
  std::string message;
};

boost::json::object output_event(const Event& e) {
  return {{"timestamp", e.timestamp}, {"message", e.message}, {"ingestionTime", e.ingestion}};
}

// The events of one stream with after < pos < before, in position order, read
// lazily in chunks of keys (each a block of records, logs_util.h). An empty
// `before` means no upper bound. GetLogEvents reads one; FilterLogEvents merges
// one per stream. Its records point into the chunk it holds, so it never moves.
class EventScan {
 public:
  EventScan(const EventScan&) = delete;
  EventScan& operator=(const EventScan&) = delete;
  EventScan(const store::Store& store, std::string prefix, std::string name,
            const std::string& after, std::string before)
      : store_(store),
        prefix_(std::move(prefix)),
        name_(std::move(name)),
        after_(after),
        start_(prefix_ + after),
        before_(std::move(before)) {}

  // The current event, or nullptr at the end.
  const EventRecord* current() {
    while (i_ == records_.size()) {
      if (done_) return nullptr;
      fill();
    }
    return &records_[i_];
  }
  void next() { ++i_; }
  const std::string& name() const { return name_; }

  Event event() {
    const EventRecord& r = *current();
    return Event{std::string(r.pos), position_timestamp(r.pos), r.ingestion_ms,
                 std::string(r.message)};
  }

 private:
  void fill() {
    chunk_ = store_.scan(prefix_, start_, kScanChunk);
    done_ = chunk_.size() < kScanChunk;
    if (!chunk_.empty()) start_ = chunk_.back().first;
    records_.clear();
    i_ = 0;
    for (const auto& kv : chunk_) {
      // The first key after `after` may be a block that begins before it.
      std::string_view rest = kv.second;
      while (auto r = take_record(rest)) {
        if (r->pos <= after_) continue;
        if (!before_.empty() && r->pos >= before_) {
          done_ = true;
          return;
        }
        records_.push_back(*r);
      }
    }
  }

  const store::Store& store_;
  std::string prefix_, name_, after_, start_, before_;
  store::KeyValues chunk_;  // the records point into these values
  std::vector<EventRecord> records_;
  size_t i_ = 0;
  bool done_ = false;
};

struct ParsedToken {
  char kind;
  std::string bound;
};

std::optional<ParsedToken> parse_get_token(std::string_view token) {
  if (token.size() < 3 || (token[0] != 'f' && token[0] != 'b') || token[1] != '/') {
    return std::nullopt;
  }
  if (!valid_bound(token.substr(2))) return std::nullopt;
  return ParsedToken{token[0], std::string(token.substr(2))};
}

}  // namespace

// ---- PutLogEvents ----

LogsService::OpResult LogsService::put_log_events(const aws::Call&, Params& p) {
  auto group = p.required("logGroupName");
  auto stream = p.required("logStreamName");
  auto* items = p.array("logEvents");
  p.str("sequenceToken");  // ignored, as CloudWatch now does
  if (p.error()) return fail(*p.error());
  if (!items || items->empty() || items->size() > kMaxBatchEvents) {
    return fail(invalid_parameter(
        "1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member "
        "must have length between 1 and 10000"));
  }
  std::vector<faas::LogEvent> events;
  size_t bytes = 0;
  for (const auto& item : *items) {
    if (!item.is_object()) {
      return fail(aws::ApiError::make(400, "SerializationException", "Expected a log event"));
    }
    Params ep(item.get_object());
    auto ts = ep.int64("timestamp");
    auto msg = ep.str("message");
    if (ep.error()) return fail(*ep.error());
    if (!ts || !msg || msg->empty()) {
      return fail(invalid_parameter("Each log event needs a timestamp and a non-empty message."));
    }
    if (!events.empty() && *ts < events.back().timestamp_ms) {
      return fail(invalid_parameter(
          "Log events in a single PutLogEvents request must be in chronological order."));
    }
    bytes += msg->size() + kEventOverhead;
    events.push_back({*ts, std::move(*msg)});
  }
  if (bytes > kMaxBatchBytes) {
    return fail(invalid_parameter("Upload too large: " + std::to_string(bytes) +
                                  " bytes exceeds limit of 1048576"));
  }
  if (events.back().timestamp_ms - events.front().timestamp_ms > kDayMs) {
    return fail(
        invalid_parameter("The batch of log events in a single PutLogEvents request "
                          "cannot span more than 24 hours."));
  }
  auto rec = load_group(group);
  if (!rec) return fail(group_not_found());

  // Events are sorted, so the too-old and expired ones form a prefix and the
  // too-new ones a suffix; CloudWatch stores the rest and reports the indexes.
  int64_t now = clock_.wall_ms();
  int64_t cutoff = retention_cutoff(*rec);
  int64_t n = static_cast<int64_t>(events.size());
  int64_t too_old_end = -1, expired_end = -1, too_new_start = n;
  for (int64_t i = 0; i < n; ++i) {
    int64_t ts = events[i].timestamp_ms;
    if (ts < now - 14 * kDayMs) too_old_end = i;
    if (cutoff && ts < cutoff) expired_end = i;
    if (ts > now + 2 * kHourMs && too_new_start == n) too_new_start = i;
  }
  int64_t first = std::max(too_old_end, expired_end) + 1;
  int64_t count = std::max<int64_t>(0, too_new_start - first);
  auto accepted = std::span<const faas::LogEvent>(events).subspan(first, count);
  auto pos = ingest(group, stream, accepted, Mode::kApi);
  if (!pos) return fail(pos.error());

  Json out{{"nextSequenceToken", pos->empty() ? position(now, 0) : *pos}};
  Json rejected;
  if (too_new_start < n) rejected["tooNewLogEventStartIndex"] = too_new_start;
  if (too_old_end >= 0) rejected["tooOldLogEventEndIndex"] = too_old_end;
  if (expired_end >= 0) rejected["expiredLogEventEndIndex"] = expired_end;
  if (!rejected.empty()) out["rejectedLogEventsInfo"] = std::move(rejected);
  return out;
}

// ---- GetLogEvents ----

LogsService::OpResult LogsService::get_log_events(const aws::Call&, Params& p) {
  auto group = p.group();
  auto stream = p.required("logStreamName");
  auto start = p.int64("startTime");
  auto end = p.int64("endTime");
  auto token_text = p.str("nextToken");
  auto limit = p.int64("limit");
  bool from_head = p.boolean("startFromHead").value_or(false);
  p.boolean("unmask");
  if (p.error()) return fail(*p.error());
  int64_t lim = limit.value_or(10'000);
  if (lim < 1 || lim > 10'000) {
    return fail(invalid_parameter("limit must be between 1 and 10000"));
  }
  std::optional<ParsedToken> token;
  if (token_text && !(token = parse_get_token(*token_text))) {
    return fail(invalid_parameter("The specified nextToken is invalid."));
  }
  auto rec = load_group(group);
  if (!rec) return fail(group_not_found());
  if (!store_.get(stream_key(group, stream))) return fail(stream_not_found());

  std::string lower = ts_bound(std::max(start.value_or(0), retention_cutoff(*rec)));
  std::string upper = end ? ts_bound(*end) : std::string();
  std::string prefix = stream_events_prefix(group, stream);
  bool forward = token ? token->kind == 'f' : from_head;
  std::deque<Event> events;
  size_t bytes = 0;
  std::string fwd, bwd;  // token bounds when no event comes back

  if (forward) {
    // The first `lim` events after the token (or from startTime).
    std::string after = token ? std::max(token->bound, lower) : lower;
    EventScan scan(store_, prefix, stream, after, upper);
    for (; scan.current() && static_cast<int64_t>(events.size()) < lim; scan.next()) {
      bytes += scan.current()->message.size();
      if (bytes > kMaxResponseBytes && !events.empty()) break;
      events.push_back(scan.event());
    }
    fwd = bwd = after;
  } else {
    // The last `lim` events before the token (or endTime): forward-only scans
    // keep a sliding window, since the Store has no reverse iteration.
    std::string before = upper;
    if (token && (before.empty() || token->bound < before)) before = token->bound;
    for (EventScan scan(store_, prefix, stream, lower, before); scan.current(); scan.next()) {
      bytes += scan.current()->message.size();
      events.push_back(scan.event());
      while (static_cast<int64_t>(events.size()) > lim ||
             (bytes > kMaxResponseBytes && events.size() > 1)) {
        bytes -= events.front().message.size();
        events.pop_front();
      }
    }
    fwd = token ? token->bound : lower;
    bwd = token ? token->bound : (upper.empty() ? lower : upper);
  }

  boost::json::array out_events;
  for (const auto& e : events) out_events.emplace_back(output_event(e));
  if (!events.empty()) {
    fwd = events.back().pos;
    bwd = events.front().pos;
  }
  // At either end the token handed in comes back unchanged, which is how
  // SDK loops over GetLogEvents know they are done.
  return Json{{"events", std::move(out_events)},
              {"nextForwardToken", "f/" + fwd},
              {"nextBackwardToken", "b/" + bwd}};
}

// ---- FilterLogEvents ----

LogsService::OpResult LogsService::filter_log_events(const aws::Call&, Params& p) {
  auto group = p.group();
  auto names = p.strings("logStreamNames");
  auto name_prefix = p.str("logStreamNamePrefix");
  auto start = p.int64("startTime");
  auto end = p.int64("endTime");
  auto pattern_text = p.str("filterPattern");
  auto token = p.str("nextToken");
  auto limit = p.int64("limit");
  p.boolean("interleaved");  // always interleaved
  p.boolean("unmask");
  if (p.error()) return fail(*p.error());
  if (names && name_prefix) {
    return fail(invalid_parameter(
        "logStreamNames and logStreamNamePrefix are mutually exclusive parameters."));
  }
  int64_t lim = limit.value_or(10'000);
  if (lim < 1 || lim > 10'000) {
    return fail(invalid_parameter("limit must be between 1 and 10000"));
  }
  if (token && !valid_bound(*token)) {
    return fail(invalid_parameter("The specified nextToken is invalid."));
  }
  auto pattern = FilterPattern::parse(pattern_text.value_or(""));
  if (!pattern) return fail(pattern.error());
  auto rec = load_group(group);
  if (!rec) return fail(group_not_found());

  // The token is the position of the last event examined. Positions order the
  // events of all streams alike, so it resumes every stream's cursor at once.
  std::string after = ts_bound(std::max(start.value_or(0), retention_cutoff(*rec)));
  if (token) after = std::max(after, *token);
  std::string before = end ? ts_bound(*end) : std::string();

  std::vector<std::string> streams;
  if (names) {
    for (auto& n : *names) {
      if (store_.get(stream_key(group, n))) streams.push_back(std::move(n));
    }
  } else {
    std::string sp = streams_prefix(group) + name_prefix.value_or("");
    for (std::string start_key;;) {
      auto chunk = store_.scan(sp, start_key, kScanChunk);
      for (const auto& kv : chunk) streams.push_back(kv.first.substr(streams_prefix(group).size()));
      if (chunk.size() < kScanChunk) break;
      start_key = chunk.back().first;
    }
  }

  std::deque<EventScan> cursors;  // never moved once built
  for (const auto& s : streams) {
    cursors.emplace_back(store_, stream_events_prefix(group, s), s, after, before);
  }
  auto later = [&](size_t a, size_t b) {
    return cursors[a].current()->pos > cursors[b].current()->pos;
  };
  std::priority_queue<size_t, std::vector<size_t>, decltype(later)> heap(later);
  for (size_t i = 0; i < cursors.size(); ++i) {
    if (cursors[i].current()) heap.push(i);
  }

  boost::json::array out_events;
  size_t examined = 0, bytes = 0;
  std::string last_examined;
  while (!heap.empty() && static_cast<int64_t>(out_events.size()) < lim &&
         examined < kFilterScanBudget && bytes < kMaxResponseBytes) {
    size_t i = heap.top();
    heap.pop();
    EventScan& c = cursors[i];
    last_examined = c.current()->pos;
    ++examined;
    if (pattern->matches(c.current()->message)) {
      Event e = c.event();
      bytes += e.message.size();
      auto o = output_event(e);
      o["logStreamName"] = c.name();
      o["eventId"] = e.pos;
      out_events.emplace_back(std::move(o));
    }
    c.next();
    if (c.current()) heap.push(i);
  }
  Json out{{"events", std::move(out_events)}, {"searchedLogStreams", boost::json::array()}};
  if (!heap.empty()) out["nextToken"] = last_examined;
  return out;
}

}  // namespace nimbus::services::logs
