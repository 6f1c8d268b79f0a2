// LogsService: dispatch, log groups, log streams, tags and the ingest path
// shared by the LogSink and PutLogEvents. Event reads live in logs_events.cc.
#include "services/logs/logs_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <charconv>

namespace nimbus::services::logs {

namespace {

constexpr std::string_view kTargetPrefix = "Logs_20140328.";
// Sequence numbers are reserved in blocks so that a restart never reuses one
// (which could overwrite an event of the same stream and millisecond) while
// costing one synced write per block rather than per event.
constexpr uint64_t kSeqBlock = 1'000'000;
constexpr size_t kScanChunk = 256;
constexpr std::array<int64_t, 22> kRetentionDays = {1,    3,    5,    7,    14,   30,  60,  90,
                                                    120,  150,  180,  365,  400,  545, 731, 1096,
                                                    1827, 2192, 2557, 2922, 3288, 3653};

int64_t get_i64(const boost::json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v || !v->is_number()) return 0;
  boost::json::error_code ec;
  auto n = v->to_number<int64_t>(ec);
  return ec ? 0 : n;
}

std::optional<boost::json::object> parse_object(std::string_view text) {
  boost::json::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.get_object());
}

bool icontains(std::string_view hay, std::string_view needle) {
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  });
  return it != hay.end();
}

aws::ApiError already_exists(std::string what) {
  return aws::ApiError::make(400, "ResourceAlreadyExistsException",
                             "The specified " + what + " already exists");
}

aws::ApiError store_failure(const SysError& e) {
  return aws::ApiError::service_failure("The service cannot complete the request: " + e.message);
}

Result<int64_t, aws::ApiError> page_limit(std::optional<int64_t> limit, int64_t def, int64_t max) {
  int64_t n = limit.value_or(def);
  if (n < 1 || n > max) {
    return fail(invalid_parameter("1 validation error detected: Value '" + std::to_string(n) +
                                  "' at 'limit' failed to satisfy constraint: Member must have "
                                  "value between 1 and " +
                                  std::to_string(max)));
  }
  return n;
}

aws::ApiError bad_group_name(std::string_view name) {
  return invalid_parameter("1 validation error detected: Value '" + std::string(name) +
                           "' at 'logGroupName' failed to satisfy constraint: Member must satisfy "
                           "regular expression pattern: [\\.\\-_/#A-Za-z0-9]+");
}

aws::ApiError bad_token() {
  return invalid_parameter("The specified nextToken is invalid.");
}

}  // namespace

LogsService::LogsService(store::Store& store, Clock& clock) : store_(store), clock_(clock) {
  if (auto v = store_.get(kSeqKey)) {
    std::from_chars(v->data(), v->data() + v->size(), next_seq_);
  }
  seq_reserved_until_ = next_seq_;
}

LogsService::~LogsService() {
  flush_timer_.cancel();
  flush();
}

void LogsService::set_identity(std::string region, std::string account_id) {
  std::lock_guard lock(mu_);
  region_ = std::move(region);
  account_ = std::move(account_id);
}

// ---- dispatch ----

const std::unordered_map<std::string_view, LogsService::Op>& LogsService::ops() {
  static const std::unordered_map<std::string_view, Op> table = {
      {"CreateLogGroup", &LogsService::create_log_group},
      {"DeleteLogGroup", &LogsService::delete_log_group},
      {"DescribeLogGroups", &LogsService::describe_log_groups},
      {"CreateLogStream", &LogsService::create_log_stream},
      {"DeleteLogStream", &LogsService::delete_log_stream},
      {"DescribeLogStreams", &LogsService::describe_log_streams},
      {"PutRetentionPolicy", &LogsService::put_retention_policy},
      {"DeleteRetentionPolicy", &LogsService::delete_retention_policy},
      {"TagLogGroup", &LogsService::tag_log_group},
      {"UntagLogGroup", &LogsService::untag_log_group},
      {"ListTagsLogGroup", &LogsService::list_tags_log_group},
      {"TagResource", &LogsService::tag_resource},
      {"UntagResource", &LogsService::untag_resource},
      {"ListTagsForResource", &LogsService::list_tags_for_resource},
      {"PutLogEvents", &LogsService::put_log_events},
      {"GetLogEvents", &LogsService::get_log_events},
      {"FilterLogEvents", &LogsService::filter_log_events},
  };
  return table;
}

void LogsService::handle(aws::Call call) {
  OpResult r = [&]() -> OpResult {
    try {
      return dispatch(call);
    } catch (const std::exception& e) {  // a broken invariant fails this request only
      spdlog::error("logs: request failed: {}", e.what());
      return fail(aws::ApiError::internal(e.what()));
    }
  }();
  if (!r) return reply_error(call, r.error());
  call.reply(aws::json_answer(protocol(), r.value(), call.request_id));
}

LogsService::OpResult LogsService::dispatch(const aws::Call& call) {
  flush_pending();  // every API answer sees the lines functions wrote before it
  std::string target = call.http.headers.get_or("X-Amz-Target");
  std::string_view op = target;
  auto it = ops().end();
  if (op.starts_with(kTargetPrefix)) it = ops().find(op.substr(kTargetPrefix.size()));
  if (it == ops().end()) {
    return fail(aws::ApiError::unknown_operation("Unknown operation " + target));
  }
  auto body = aws::parse_json_body(call.http.body);
  if (!body) return fail(body.error());
  Params p(body.value());
  return (this->*(it->second))(call, p);
}

// ---- log groups ----

std::optional<boost::json::object> LogsService::load_group(std::string_view group) const {
  auto v = store_.get(group_key(group));
  if (!v) return std::nullopt;
  return parse_object(*v).value_or(Json{});
}

int64_t LogsService::retention_cutoff(const Json& rec) const {
  int64_t days = get_i64(rec, "retentionInDays");
  return days > 0 ? clock_.wall_ms() - days * 86'400'000 : 0;
}

Result<void, aws::ApiError> LogsService::update_group(std::string_view group,
                                                      const std::function<void(Json&)>& fn) {
  std::lock_guard lock(mu_);
  auto rec = load_group(group);
  if (!rec) return fail(group_not_found());
  fn(*rec);
  if (auto s = store_.put(group_key(group), boost::json::serialize(*rec)); !s) {
    return fail(store_failure(s.error()));
  }
  return {};
}

LogsService::OpResult LogsService::create_log_group(const aws::Call& call, Params& p) {
  auto group = p.required("logGroupName");
  auto* tags = p.object("tags");
  p.str("kmsKeyId");
  if (p.error()) return fail(*p.error());
  if (!valid_group_name(group)) return fail(bad_group_name(group));
  if (tags && !std::all_of(tags->begin(), tags->end(),
                           [](const auto& kv) { return kv.value().is_string(); })) {
    return fail(invalid_parameter("Tag values must be strings."));
  }
  std::lock_guard lock(mu_);
  if (load_group(group)) return fail(already_exists("log group"));
  Json rec{{"creationTime", clock_.wall_ms()},
           {"arn", group_arn(call.region, call.account_id, group)}};
  if (tags && !tags->empty()) rec["tags"] = *tags;
  if (auto s = store_.put(group_key(group), boost::json::serialize(rec)); !s) {
    return fail(store_failure(s.error()));
  }
  groups_.emplace(group);
  return Json{};
}

LogsService::OpResult LogsService::delete_log_group(const aws::Call&, Params& p) {
  auto group = p.required("logGroupName");
  if (p.error()) return fail(*p.error());
  std::lock_guard lock(mu_);
  if (!load_group(group)) return fail(group_not_found());
  // Events first: a crash midway leaves a group without events, never orphans.
  for (const auto& prefix : {group_events_prefix(group), streams_prefix(group)}) {
    if (auto s = store_.delete_prefix(prefix); !s) return fail(store_failure(s.error()));
  }
  if (auto s = store_.del(group_key(group)); !s) return fail(store_failure(s.error()));
  groups_.erase(group);
  std::erase_if(streams_, [&](auto& kv) {
    bool in_group = kv.first.size() > group.size() && kv.first.starts_with(group) &&
                    kv.first[group.size()] == kSep;
    if (in_group) std::erase(open_blocks_, &kv.second);  // lines appended since the op began
    return in_group;
  });
  return Json{};
}

LogsService::OpResult LogsService::describe_log_groups(const aws::Call&, Params& p) {
  auto prefix = p.str("logGroupNamePrefix");
  auto pattern = p.str("logGroupNamePattern");
  auto limit = p.int64("limit");
  auto token = p.str("nextToken");
  if (p.error()) return fail(*p.error());
  if (prefix && pattern) {
    return fail(invalid_parameter(
        "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters."));
  }
  auto lim = page_limit(limit, 50, 50);
  if (!lim) return fail(lim.error());
  std::string after;
  if (token) {
    auto last = decode_token(*token);
    if (!last) return fail(bad_token());
    after = group_key(*last);
  }
  std::string scan_prefix = std::string(kGroupPrefix) + prefix.value_or("");
  boost::json::array groups;
  std::string last_name;
  bool more = false;
  while (!more) {
    auto chunk = store_.scan(scan_prefix, after, kScanChunk);
    for (const auto& [key, value] : chunk) {
      std::string_view name = std::string_view(key).substr(kGroupPrefix.size());
      if (pattern && !icontains(name, *pattern)) continue;
      if (static_cast<int64_t>(groups.size()) == *lim) {
        more = true;
        break;
      }
      auto rec = parse_object(value).value_or(Json{});
      Json g{{"logGroupName", name},
             {"creationTime", get_i64(rec, "creationTime")},
             {"metricFilterCount", 0},
             {"arn", rec.contains("arn") ? rec["arn"] : boost::json::value(name)},
             {"storedBytes", 0}};
      if (int64_t days = get_i64(rec, "retentionInDays")) g["retentionInDays"] = days;
      groups.emplace_back(std::move(g));
      last_name = name;
    }
    if (chunk.size() < kScanChunk) break;
    after = chunk.back().first;
  }
  Json out{{"logGroups", std::move(groups)}};
  if (more) out["nextToken"] = encode_token(last_name);
  return out;
}

LogsService::OpResult LogsService::put_retention_policy(const aws::Call&, Params& p) {
  auto group = p.required("logGroupName");
  auto days = p.int64("retentionInDays");
  if (p.error()) return fail(*p.error());
  if (!days ||
      std::find(kRetentionDays.begin(), kRetentionDays.end(), *days) == kRetentionDays.end()) {
    return fail(invalid_parameter(
        "1 validation error detected: Value '" + (days ? std::to_string(*days) : "null") +
        "' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: "
        "[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, "
        "2922, 3288, 3653]"));
  }
  auto r = update_group(group, [&](Json& rec) { rec["retentionInDays"] = *days; });
  if (!r) return fail(r.error());
  return Json{};
}

LogsService::OpResult LogsService::delete_retention_policy(const aws::Call&, Params& p) {
  auto group = p.required("logGroupName");
  if (p.error()) return fail(*p.error());
  auto r = update_group(group, [](Json& rec) { rec.erase("retentionInDays"); });
  if (!r) return fail(r.error());
  return Json{};
}

// ---- tags ----

Result<void, aws::ApiError> LogsService::apply_tags(std::string_view group, const Json* add,
                                                    const std::vector<std::string>* remove) {
  if (add && !std::all_of(add->begin(), add->end(),
                          [](const auto& kv) { return kv.value().is_string(); })) {
    return fail(invalid_parameter("Tag values must be strings."));
  }
  return update_group(group, [&](Json& rec) {
    auto& tags = rec["tags"];
    if (!tags.is_object()) tags = Json{};
    if (add) {
      for (const auto& kv : *add) tags.get_object()[kv.key()] = kv.value();
    }
    if (remove) {
      for (const auto& k : *remove) tags.get_object().erase(k);
    }
  });
}

LogsService::OpResult LogsService::tag_log_group(const aws::Call&, Params& p) {
  auto group = p.required("logGroupName");
  auto* tags = p.object("tags");
  if (p.error()) return fail(*p.error());
  if (auto r = apply_tags(group, tags, nullptr); !r) return fail(r.error());
  return Json{};
}

LogsService::OpResult LogsService::untag_log_group(const aws::Call&, Params& p) {
  auto group = p.required("logGroupName");
  auto keys = p.strings("tags");
  if (p.error()) return fail(*p.error());
  if (auto r = apply_tags(group, nullptr, keys ? &*keys : nullptr); !r) return fail(r.error());
  return Json{};
}

LogsService::OpResult LogsService::list_tags_log_group(const aws::Call&, Params& p) {
  auto group = p.required("logGroupName");
  if (p.error()) return fail(*p.error());
  auto rec = load_group(group);
  if (!rec) return fail(group_not_found());
  auto* tags = rec->if_contains("tags");
  return Json{{"tags", tags && tags->is_object() ? *tags : boost::json::value(Json{})}};
}

LogsService::OpResult LogsService::tag_resource(const aws::Call&, Params& p) {
  auto group = group_from_identifier(p.required("resourceArn"));
  auto* tags = p.object("tags");
  if (p.error()) return fail(*p.error());
  if (auto r = apply_tags(group, tags, nullptr); !r) return fail(r.error());
  return Json{};
}

LogsService::OpResult LogsService::untag_resource(const aws::Call&, Params& p) {
  auto group = group_from_identifier(p.required("resourceArn"));
  auto keys = p.strings("tagKeys");
  if (p.error()) return fail(*p.error());
  if (auto r = apply_tags(group, nullptr, keys ? &*keys : nullptr); !r) return fail(r.error());
  return Json{};
}

LogsService::OpResult LogsService::list_tags_for_resource(const aws::Call& call, Params& p) {
  auto arn = p.required("resourceArn");
  if (p.error()) return fail(*p.error());
  boost::json::object body{{"logGroupName", group_from_identifier(arn)}};
  Params inner(body);
  return list_tags_log_group(call, inner);
}

// ---- log streams ----

LogsService::OpResult LogsService::create_log_stream(const aws::Call&, Params& p) {
  auto group = p.required("logGroupName");
  auto stream = p.required("logStreamName");
  if (p.error()) return fail(*p.error());
  if (!valid_stream_name(stream)) {
    return fail(invalid_parameter("1 validation error detected: Value '" + stream +
                                  "' at 'logStreamName' failed to satisfy constraint: Member must "
                                  "satisfy regular expression pattern: [^:*]*"));
  }
  std::lock_guard lock(mu_);
  if (!load_group(group)) return fail(group_not_found());
  if (store_.get(stream_key(group, stream))) return fail(already_exists("log stream"));
  StreamState st;
  st.creation_time = st.flushed_at_ms = clock_.wall_ms();
  st.events_prefix = stream_events_prefix(group, stream);
  if (auto s = store_.put(stream_key(group, stream), stream_json(st)); !s) {
    return fail(store_failure(s.error()));
  }
  streams_[std::string(group) + kSep + stream] = st;
  return Json{};
}

LogsService::OpResult LogsService::delete_log_stream(const aws::Call&, Params& p) {
  auto group = p.required("logGroupName");
  auto stream = p.required("logStreamName");
  if (p.error()) return fail(*p.error());
  std::lock_guard lock(mu_);
  if (!load_group(group)) return fail(group_not_found());
  if (!store_.get(stream_key(group, stream))) return fail(stream_not_found());
  if (auto s = store_.delete_prefix(stream_events_prefix(group, stream)); !s) {
    return fail(store_failure(s.error()));
  }
  if (auto s = store_.del(stream_key(group, stream)); !s) return fail(store_failure(s.error()));
  if (auto it = streams_.find(std::string(group) + kSep + stream); it != streams_.end()) {
    std::erase(open_blocks_, &it->second);  // lines appended since the op began
    streams_.erase(it);
  }
  return Json{};
}

boost::json::object LogsService::stream_view(std::string_view group, std::string_view stream,
                                             std::string_view value) const {
  Json view;
  {
    std::lock_guard lock(mu_);
    auto it = streams_.find(std::string(group) + kSep + std::string(stream));
    if (it != streams_.end()) view = parse_object(stream_json(it->second)).value_or(Json{});
  }
  if (view.empty()) view = parse_object(value).value_or(Json{});
  view["logStreamName"] = stream;
  return view;
}

LogsService::OpResult LogsService::describe_log_streams(const aws::Call&, Params& p) {
  auto group = p.group();
  auto prefix = p.str("logStreamNamePrefix");
  auto order = p.str("orderBy");
  bool descending = p.boolean("descending").value_or(false);
  auto limit = p.int64("limit");
  auto token = p.str("nextToken");
  if (p.error()) return fail(*p.error());
  if (order && *order != "LogStreamName" && *order != "LastEventTime") {
    return fail(invalid_parameter("1 validation error detected: Value '" + *order +
                                  "' at 'orderBy' failed to satisfy constraint: Member must "
                                  "satisfy enum value set: [LogStreamName, LastEventTime]"));
  }
  bool by_time = order && *order == "LastEventTime";
  if (by_time && prefix) {
    return fail(invalid_parameter("Cannot order by LastEventTime with a logStreamNamePrefix."));
  }
  auto lim = page_limit(limit, 50, 50);
  if (!lim) return fail(lim.error());
  std::optional<std::string> after;
  if (token && !(after = decode_token(*token))) return fail(bad_token());
  auto rec = load_group(group);
  if (!rec) return fail(group_not_found());

  // Every ordering sorts the whole (prefix-filtered) stream list, so the token is
  // the sort key of the last stream returned and stays valid as streams change.
  std::string scan_prefix = streams_prefix(group) + prefix.value_or("");
  std::vector<std::pair<std::string, Json>> rows;
  for (std::string start;;) {
    auto chunk = store_.scan(scan_prefix, start, kScanChunk);
    for (const auto& [key, value] : chunk) {
      std::string name = key.substr(streams_prefix(group).size());
      Json view = stream_view(group, name, value);
      std::string sort_key =
          by_time ? ts_bound(get_i64(view, "lastEventTimestamp")) + kSep + name : name;
      rows.emplace_back(std::move(sort_key), std::move(view));
    }
    if (chunk.size() < kScanChunk) break;
    start = chunk.back().first;
  }
  auto less = [](const auto& a, const auto& b) { return a.first < b.first; };
  std::sort(rows.begin(), rows.end(), less);
  if (descending) std::reverse(rows.begin(), rows.end());

  auto* arn = rec->if_contains("arn");
  std::string arn_base = arn && arn->is_string() ? std::string(arn->get_string())
                                                 : group_arn("us-east-1", "000000000000", group);
  if (arn_base.ends_with("*")) arn_base.pop_back();
  boost::json::array streams;
  std::string last_key;
  bool more = false;
  for (auto& [key, view] : rows) {
    if (after && (descending ? key >= *after : key <= *after)) continue;
    if (static_cast<int64_t>(streams.size()) == *lim) {
      more = true;
      break;
    }
    view["arn"] = arn_base + "log-stream:" + std::string(view["logStreamName"].get_string());
    streams.emplace_back(std::move(view));
    last_key = key;
  }
  Json out{{"logStreams", std::move(streams)}};
  if (more) out["nextToken"] = encode_token(last_key);
  return out;
}

// ---- ingest (LogSink and PutLogEvents) ----

std::string LogsService::stream_json(const StreamState& s) {
  Json o{{"creationTime", s.creation_time}, {"storedBytes", s.stored_bytes}};
  if (s.last_ingestion != 0) {
    o["firstEventTimestamp"] = s.first_event;
    o["lastEventTimestamp"] = s.last_event;
    o["lastIngestionTime"] = s.last_ingestion;
  }
  return boost::json::serialize(o);
}

uint64_t LogsService::next_seq_locked() {
  if (next_seq_ >= seq_reserved_until_) {
    seq_reserved_until_ = next_seq_ + kSeqBlock;
    if (auto s = store_.put(std::string(kSeqKey), std::to_string(seq_reserved_until_)); !s) {
      spdlog::warn("logs: cannot record sequence reservation: {}", s.error().message);
    }
  }
  return next_seq_++;
}

LogsService::StreamState* LogsService::stream_locked(std::string_view group,
                                                     std::string_view stream, Mode mode,
                                                     int64_t now, store::WriteBatch& batch,
                                                     bool& group_missing) {
  // Found on every append: the key is composed in a reused buffer.
  lookup_key_.assign(group).append(1, kSep).append(stream);
  if (auto it = streams_.find(lookup_key_); it != streams_.end()) return &it->second;
  std::string cache_key = lookup_key_;
  std::string gname(group);
  if (!groups_.contains(gname)) {
    if (store_.get(group_key(group))) {
      groups_.insert(gname);
    } else if (mode == Mode::kApi) {
      group_missing = true;
      return nullptr;
    } else {
      Json rec{{"creationTime", now}, {"arn", group_arn(region_, account_, group)}};
      batch.put(group_key(group), boost::json::serialize(rec));
      groups_.insert(gname);
    }
  }
  StreamState st;
  st.events_prefix = stream_events_prefix(group, stream);
  if (auto v = store_.get(stream_key(group, stream))) {
    auto o = parse_object(*v).value_or(Json{});
    st.creation_time = get_i64(o, "creationTime");
    st.first_event = get_i64(o, "firstEventTimestamp");
    st.last_event = get_i64(o, "lastEventTimestamp");
    st.last_ingestion = get_i64(o, "lastIngestionTime");
    st.stored_bytes = get_i64(o, "storedBytes");
    st.flushed_at_ms = now;
  } else if (mode == Mode::kApi) {
    return nullptr;
  } else {
    st.creation_time = now;
    st.unflushed = kFlushAppends;  // a new stream is written with its first events
  }
  return &streams_.emplace(std::move(cache_key), st).first->second;
}

Result<std::string, aws::ApiError> LogsService::ingest(std::string_view group,
                                                       std::string_view stream,
                                                       std::span<const faas::LogEvent> events,
                                                       Mode mode) {
  int64_t now = clock_.wall_ms();
  store::WriteBatch api_batch;
  std::lock_guard lock(mu_);
  // An API write takes the function output gathered so far along, so stream
  // records never go backwards.
  if (mode == Mode::kApi) {
    seal_blocks_locked();
    api_batch = std::exchange(pending_, {});
  }
  store::WriteBatch& batch = mode == Mode::kApi ? api_batch : pending_;
  bool group_missing = false;
  StreamState* s = stream_locked(group, stream, mode, now, batch, group_missing);
  if (!s) return fail(group_missing ? group_not_found() : stream_not_found());
  std::string pos;
  for (const auto& e : events) {
    bool first = s->last_ingestion == 0;
    int64_t ts = e.timestamp_ms;
    if (mode == Mode::kSink) {
      // Blocks of one stream must not overlap (logs_util.h): a clock stepping
      // back does not move a line before the stream's earlier ones.
      if (!first) ts = std::max(ts, s->last_event);
      if (s->block.empty()) open_blocks_.push_back(s);
      pos.clear();
      append_position(pos, ts, next_seq_locked());
      append_record(s->block, pos, now, e.message);
      s->block_last = pos;
    } else {
      pos = position(ts, next_seq_locked());
      std::string value;
      append_record(value, pos, now, e.message);
      batch.put(s->events_prefix + pos, std::move(value));
    }
    s->first_event = first ? ts : std::min(s->first_event, ts);
    s->last_event = first ? ts : std::max(s->last_event, ts);
    s->last_ingestion = now;
    s->stored_bytes += static_cast<int64_t>(e.message.size());
  }
  ++s->unflushed;
  if (mode == Mode::kApi || s->unflushed >= kFlushAppends || now - s->flushed_at_ms >= kFlushMs) {
    batch.put(stream_key(group, stream), stream_json(*s));
    s->unflushed = 0;
    s->flushed_at_ms = now;
  }
  if (mode == Mode::kSink) {
    if (s->block.size() >= kMaxBlockBytes) {
      seal_block_locked(*s, pending_);
      std::erase(open_blocks_, s);
    }
    schedule_flush_locked();
    return pos;
  }
  // Writing under mu_ keeps a concurrent DeleteLogGroup from interleaving with
  // this batch; RocksDB serializes writers anyway, so little is lost.
  if (Status st = store_.write(batch); !st) return fail(store_failure(st.error()));
  return pos;
}

void LogsService::schedule_flush_locked() {
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  std::weak_ptr<bool> alive = alive_;
  flush_timer_ = clock_.call_after(kSinkFlushDelay, [this, alive] {
    if (alive.lock()) flush_pending();
  });
}

void LogsService::seal_block_locked(StreamState& s, store::WriteBatch& batch) {
  if (s.block.empty()) return;
  batch.put(s.events_prefix + s.block_last, std::exchange(s.block, {}));
}

void LogsService::seal_blocks_locked() {
  for (StreamState* s : open_blocks_) seal_block_locked(*s, pending_);
  open_blocks_.clear();
}

void LogsService::flush_pending() {
  std::lock_guard lock(mu_);
  flush_scheduled_ = false;
  seal_blocks_locked();
  if (pending_.empty()) return;
  auto batch = std::exchange(pending_, {});
  if (auto st = store_.write_buffered(batch); !st) {
    spdlog::warn("logs: dropping {} buffered writes: {}", batch.ops().size(), st.error().message);
  }
}

void LogsService::append(std::string_view group, std::string_view stream,
                         std::span<const faas::LogEvent> events) {
  if (events.empty()) return;
  if (!valid_group_name(group) || !valid_stream_name(stream)) {
    spdlog::warn("logs: dropping {} lines for invalid group/stream '{}'/'{}'", events.size(), group,
                 stream);
    return;
  }
  if (auto r = ingest(group, stream, events, Mode::kSink); !r) {
    spdlog::warn("logs: dropping {} lines for {}: {}", events.size(), group, r.error().message);
  }
}

void LogsService::flush() {
  flush_pending();
  std::lock_guard lock(mu_);
  store::WriteBatch batch;
  int64_t now = clock_.wall_ms();
  for (auto& [key, s] : streams_) {
    if (s.unflushed == 0) continue;
    auto sep = key.find(kSep);
    batch.put(stream_key(key.substr(0, sep), key.substr(sep + 1)), stream_json(s));
    s.unflushed = 0;
    s.flushed_at_ms = now;
  }
  if (batch.empty()) return;
  if (auto s = store_.write(batch); !s) {
    spdlog::warn("logs: cannot write stream metadata: {}", s.error().message);
  }
}

void LogsService::reset() {
  std::lock_guard lock(mu_);
  pending_ = {};
  if (auto s = store_.delete_prefix(kRootPrefix); !s) {
    spdlog::warn("logs: reset failed: {}", s.error().message);
  }
  groups_.clear();
  open_blocks_.clear();
  streams_.clear();
  seq_reserved_until_ = next_seq_;  // logs/seq is gone: record the next reservation again
}

}  // namespace nimbus::services::logs
