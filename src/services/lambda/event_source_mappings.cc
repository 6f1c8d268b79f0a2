#include "services/lambda/event_source_mappings.h"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <cctype>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#include "base/ids.h"
#include "services/lambda/names.h"

namespace nimbus::services::lambda {

namespace json = boost::json;
using aws::ApiError;

namespace {

constexpr std::string_view kStreamsTarget = "DynamoDBStreams_20120810.";
constexpr size_t kMaxRecordsPerRead = 1000;  // GetRecords' largest Limit
constexpr std::string_view kNoRecordsProcessed = "No records processed";
constexpr std::string_view kProcessedOk = "OK";
constexpr std::string_view kFunctionCallFailed = "PROBLEM: Function call failed";
constexpr std::string_view kUserAction = "User action";  // StateTransitionReason of API changes
constexpr int64_t kDefaultBatchSize = 100;               // DynamoDB Streams' default
constexpr int64_t kMaxBatchSize = 10000;                 // and maximum
constexpr int64_t kDefaultListItems = 100;

// Members each operation takes. Any other member with a value is refused by
// name: Nimbus never ignores a setting the caller expects to take effect.
const std::set<std::string_view, std::less<>> kCreateMembers = {"EventSourceArn",
                                                                "FunctionName",
                                                                "Enabled",
                                                                "BatchSize",
                                                                "StartingPosition",
                                                                "MaximumBatchingWindowInSeconds",
                                                                "ParallelizationFactor",
                                                                "MaximumRecordAgeInSeconds",
                                                                "MaximumRetryAttempts",
                                                                "BisectBatchOnFunctionError",
                                                                "FunctionResponseTypes"};
const std::set<std::string_view, std::less<>> kUpdateMembers = {"FunctionName",
                                                                "Enabled",
                                                                "BatchSize",
                                                                "MaximumBatchingWindowInSeconds",
                                                                "ParallelizationFactor",
                                                                "MaximumRecordAgeInSeconds",
                                                                "MaximumRetryAttempts",
                                                                "BisectBatchOnFunctionError",
                                                                "FunctionResponseTypes"};

// What a mapping was configured with.
struct Settings {
  std::string uuid;
  std::string event_source_arn;
  std::string function_arn;
  std::string starting_position;  // TRIM_HORIZON | LATEST
  int64_t batch_size = kDefaultBatchSize;
  int64_t batching_window_s = 0;
  int64_t max_record_age_s = -1;    // -1: until the stream drops the record
  int64_t max_retry_attempts = -1;  // -1: until the record is too old
  int64_t parallelization_factor = 1;
  bool bisect_on_error = false;
  bool report_item_failures = false;
  bool enabled = true;
  int64_t last_modified_ms = 0;
  int64_t created_ms = 0;  // orders ListEventSourceMappings
};

// Where processing stands; stored with the settings.
struct Checkpoint {
  std::string after_sequence;  // the last record processed; "" = none yet
  // A LATEST mapping's position until its first record is processed: the
  // iterator taken at creation and when (iterators expire after 15 minutes;
  // then the records written since that time are read instead).
  std::string latest_iterator;
  int64_t latest_since_ms = 0;
  std::string last_result = std::string(kNoRecordsProcessed);
};

// A record read from the source, ready for the function's event.
struct PendingRecord {
  std::string sequence;
  int64_t created_ms = 0;  // ApproximateCreationDateTime
  std::string event_json;  // the record as the event's Records[] carries it
};

// The poll loop's own state; only the mapping's one outstanding step reads
// or writes it, so it needs no lock.
struct Poller {
  bool primed = false;  // read_through initialised from the checkpoint
  std::optional<std::string> iterator;
  std::string read_through;  // the last record read (buffered or processed)
  // Records older than this are skipped (an expired LATEST iterator's stand-in).
  std::optional<int64_t> not_before_ms;
  std::deque<PendingRecord> buffer;  // read, not yet processed, in order
  size_t buffer_bytes = 0;
  std::optional<TimePoint> window_start;  // when the batching window opened
  // Batch sizes to deliver before new batches: the front one is in flight or
  // failed (a retry sends exactly it again); after it, bisected halves.
  std::deque<size_t> spans;
  int attempts = 0;     // failed invocations of the front span
  bool closed = false;  // the shard ended (its stream was disabled)
  // The last problem logged of each kind, so a repeating one logs once.
  std::string last_source_error;
  std::string last_invoke_error;
};

struct Mapping {
  std::mutex mu;
  Settings settings;      // mu
  Checkpoint checkpoint;  // mu
  bool deleted = false;   // mu
  bool running = false;   // mu: a step, a timer or an invocation is outstanding
  bool parked = false;    // mu: the loop waits for `timer`
  uint64_t park_id = 0;   // mu: tells a stale timer callback from the current one
  TimerHandle timer;      // mu
  Poller poll;
};

std::string storage_key(std::string_view uuid) {
  return std::string(EventSourceMappings::kKeyPrefix) + std::string(uuid);
}

std::string str(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

int64_t int_or(const json::object& o, std::string_view key, int64_t fallback) {
  auto* v = o.if_contains(key);
  return v && (v->is_int64() || v->is_uint64()) ? v->to_number<int64_t>() : fallback;
}

bool bool_or(const json::object& o, std::string_view key, bool fallback) {
  auto* v = o.if_contains(key);
  return v && v->is_bool() ? v->as_bool() : fallback;
}

std::string serialize(const Settings& s, const Checkpoint& c) {
  json::object settings{{"UUID", s.uuid},
                        {"EventSourceArn", s.event_source_arn},
                        {"FunctionArn", s.function_arn},
                        {"StartingPosition", s.starting_position},
                        {"BatchSize", s.batch_size},
                        {"MaximumBatchingWindowInSeconds", s.batching_window_s},
                        {"MaximumRecordAgeInSeconds", s.max_record_age_s},
                        {"MaximumRetryAttempts", s.max_retry_attempts},
                        {"ParallelizationFactor", s.parallelization_factor},
                        {"BisectBatchOnFunctionError", s.bisect_on_error},
                        {"ReportBatchItemFailures", s.report_item_failures},
                        {"Enabled", s.enabled},
                        {"LastModifiedMs", s.last_modified_ms},
                        {"CreatedMs", s.created_ms}};
  json::object checkpoint{{"AfterSequenceNumber", c.after_sequence},
                          {"LatestIterator", c.latest_iterator},
                          {"LatestSinceMs", c.latest_since_ms},
                          {"LastProcessingResult", c.last_result}};
  return json::serialize(
      json::object{{"settings", std::move(settings)}, {"checkpoint", std::move(checkpoint)}});
}

std::optional<std::pair<Settings, Checkpoint>> parse_stored(std::string_view text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  auto* so = v.as_object().if_contains("settings");
  auto* co = v.as_object().if_contains("checkpoint");
  if (!so || !so->is_object() || !co || !co->is_object()) return std::nullopt;
  const auto& o = so->as_object();
  Settings s;
  s.uuid = str(o, "UUID");
  s.event_source_arn = str(o, "EventSourceArn");
  s.function_arn = str(o, "FunctionArn");
  s.starting_position = str(o, "StartingPosition");
  s.batch_size = int_or(o, "BatchSize", kDefaultBatchSize);
  s.batching_window_s = int_or(o, "MaximumBatchingWindowInSeconds", 0);
  s.max_record_age_s = int_or(o, "MaximumRecordAgeInSeconds", -1);
  s.max_retry_attempts = int_or(o, "MaximumRetryAttempts", -1);
  s.parallelization_factor = int_or(o, "ParallelizationFactor", 1);
  s.bisect_on_error = bool_or(o, "BisectBatchOnFunctionError", false);
  s.report_item_failures = bool_or(o, "ReportBatchItemFailures", false);
  s.enabled = bool_or(o, "Enabled", true);
  s.last_modified_ms = int_or(o, "LastModifiedMs", 0);
  s.created_ms = int_or(o, "CreatedMs", 0);
  if (s.uuid.empty() || s.event_source_arn.empty() || s.function_arn.empty()) return std::nullopt;
  const auto& p = co->as_object();
  Checkpoint c;
  c.after_sequence = str(p, "AfterSequenceNumber");
  c.latest_iterator = str(p, "LatestIterator");
  c.latest_since_ms = int_or(p, "LatestSinceMs", 0);
  c.last_result = str(p, "LastProcessingResult");
  if (c.last_result.empty()) c.last_result = kNoRecordsProcessed;
  return std::make_pair(std::move(s), std::move(c));
}

// The EventSourceMappingConfiguration shape. The members Nimbus does not
// implement read as Lambda shows them unset.
json::object describe(const Settings& s, const Checkpoint& c, std::string_view state) {
  json::array response_types;
  if (s.report_item_failures) response_types.emplace_back("ReportBatchItemFailures");
  return json::object{{"UUID", s.uuid},
                      {"StartingPosition", s.starting_position},
                      {"BatchSize", s.batch_size},
                      {"MaximumBatchingWindowInSeconds", s.batching_window_s},
                      {"ParallelizationFactor", s.parallelization_factor},
                      {"EventSourceArn", s.event_source_arn},
                      {"FunctionArn", s.function_arn},
                      {"LastModified", static_cast<double>(s.last_modified_ms) / 1000.0},
                      {"LastProcessingResult", c.last_result},
                      {"State", state},
                      {"StateTransitionReason", kUserAction},
                      {"DestinationConfig", json::object{{"OnFailure", json::object{}}}},
                      {"MaximumRecordAgeInSeconds", s.max_record_age_s},
                      {"BisectBatchOnFunctionError", s.bisect_on_error},
                      {"MaximumRetryAttempts", s.max_retry_attempts},
                      {"TumblingWindowInSeconds", 0},
                      {"FunctionResponseTypes", std::move(response_types)}};
}

// Decimal sequence numbers of any length: numeric order.
bool sequence_before(std::string_view a, std::string_view b) {
  auto strip = [](std::string_view s) {
    while (s.size() > 1 && s.front() == '0') s.remove_prefix(1);
    return s;
  };
  a = strip(a);
  b = strip(b);
  if (a.size() != b.size()) return a.size() < b.size();
  return a < b;
}

// A member that says nothing (null, {}, [], "", 0, false, or an object of
// such, like DestinationConfig {"OnFailure": {}}) is no request for a feature.
bool is_unset(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return true;
    case json::kind::bool_:
      return !v.get_bool();
    case json::kind::int64:
      return v.get_int64() == 0;
    case json::kind::uint64:
      return v.get_uint64() == 0;
    case json::kind::double_:
      return v.get_double() == 0;
    case json::kind::string:
      return v.get_string().empty();
    case json::kind::array:
      return v.get_array().empty();
    case json::kind::object:
      return std::all_of(v.get_object().begin(), v.get_object().end(),
                         [](const auto& member) { return is_unset(member.value()); });
  }
  return false;
}

Result<void, ApiError> refuse_unimplemented(const json::object& in,
                                            const std::set<std::string_view, std::less<>>& known) {
  std::string refused;
  for (const auto& [key, value] : in)
    if (!known.contains(std::string_view(key)) && !is_unset(value))
      refused += (refused.empty() ? "" : ", ") + std::string(key);
  if (refused.empty()) return {};
  return fail(ApiError::invalid_parameter(
      "Nimbus does not implement " + refused +
      " for event source mappings (supported: DynamoDB Streams with BatchSize, "
      "MaximumBatchingWindowInSeconds, StartingPosition TRIM_HORIZON or LATEST, "
      "MaximumRetryAttempts, MaximumRecordAgeInSeconds, BisectBatchOnFunctionError, "
      "FunctionResponseTypes, Enabled); remove it from the request"));
}

Result<std::optional<int64_t>, ApiError> int_member(const json::object& in, std::string_view key) {
  auto* v = in.if_contains(key);
  if (!v || v->is_null()) return std::optional<int64_t>{};
  if (!v->is_int64() && !v->is_uint64())
    return fail(ApiError::invalid_parameter(std::string(key) + " must be an integer"));
  if (v->is_uint64() && v->get_uint64() > static_cast<uint64_t>(INT64_MAX))
    return fail(ApiError::invalid_parameter(std::string(key) + " is out of range"));
  return std::optional<int64_t>{v->to_number<int64_t>()};
}

Result<std::optional<bool>, ApiError> bool_member(const json::object& in, std::string_view key) {
  auto* v = in.if_contains(key);
  if (!v || v->is_null()) return std::optional<bool>{};
  if (!v->is_bool())
    return fail(ApiError::invalid_parameter(std::string(key) + " must be a boolean"));
  return std::optional<bool>{v->as_bool()};
}

// Applies the members Create and Update share to `s`, with DynamoDB
// Streams' limits.
Result<void, ApiError> apply_settings(const json::object& in, Settings& s) {
  auto range = [](std::string_view key, int64_t n, int64_t lo,
                  int64_t hi) -> Result<void, ApiError> {
    if (n >= lo && n <= hi) return {};
    return fail(ApiError::invalid_parameter(std::string(key) + " " + std::to_string(n) +
                                            " is out of range: DynamoDB Streams event sources "
                                            "take " +
                                            std::to_string(lo) + " to " + std::to_string(hi)));
  };
  auto batch = int_member(in, "BatchSize");
  if (!batch) return fail(batch.take_error());
  if (*batch) {
    if (auto r = range("BatchSize", **batch, 1, kMaxBatchSize); !r) return r;
    s.batch_size = **batch;
  }
  auto window = int_member(in, "MaximumBatchingWindowInSeconds");
  if (!window) return fail(window.take_error());
  if (*window) {
    if (auto r = range("MaximumBatchingWindowInSeconds", **window, 0, 300); !r) return r;
    s.batching_window_s = **window;
  }
  auto age = int_member(in, "MaximumRecordAgeInSeconds");
  if (!age) return fail(age.take_error());
  if (*age) {
    if (**age != -1)
      if (auto r = range("MaximumRecordAgeInSeconds", **age, 60, 604800); !r)
        return fail(ApiError::invalid_parameter(
            "MaximumRecordAgeInSeconds " + std::to_string(**age) +
            " is out of range: -1 (records are retried until they expire) or 60 to 604800"));
    s.max_record_age_s = **age;
  }
  auto retries = int_member(in, "MaximumRetryAttempts");
  if (!retries) return fail(retries.take_error());
  if (*retries) {
    if (auto r = range("MaximumRetryAttempts", **retries, -1, 10000); !r) return r;
    s.max_retry_attempts = **retries;
  }
  auto parallel = int_member(in, "ParallelizationFactor");
  if (!parallel) return fail(parallel.take_error());
  if (*parallel) {
    if (auto r = range("ParallelizationFactor", **parallel, 1, 10); !r) return r;
    if (**parallel != 1)
      return fail(ApiError::invalid_parameter(
          "Nimbus does not implement ParallelizationFactor " + std::to_string(**parallel) +
          ": a shard is processed one batch at a time (ParallelizationFactor 1)"));
    s.parallelization_factor = 1;
  }
  auto bisect = bool_member(in, "BisectBatchOnFunctionError");
  if (!bisect) return fail(bisect.take_error());
  if (*bisect) s.bisect_on_error = **bisect;
  auto enabled = bool_member(in, "Enabled");
  if (!enabled) return fail(enabled.take_error());
  if (*enabled) s.enabled = **enabled;
  if (auto* types = in.if_contains("FunctionResponseTypes"); types && !types->is_null()) {
    if (!types->is_array() || types->as_array().size() > 1)
      return fail(ApiError::invalid_parameter(
          "FunctionResponseTypes must be a list of at most one value: ReportBatchItemFailures"));
    bool report = false;
    for (const auto& t : types->as_array()) {
      if (!t.is_string() || t.as_string() != "ReportBatchItemFailures")
        return fail(ApiError::invalid_parameter(
            "FunctionResponseTypes: the only function response type is ReportBatchItemFailures"));
      report = true;
    }
    s.report_item_failures = report;
  }
  return {};
}

// Checks that an EventSourceArn names a DynamoDB stream:
// arn:PARTITION:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL.
Result<void, ApiError> check_stream_arn(std::string_view arn) {
  std::vector<std::string_view> parts;
  std::string_view rest = arn;
  for (int i = 0; i < 5; ++i) {
    size_t colon = rest.find(':');
    if (colon == std::string_view::npos) break;
    parts.push_back(rest.substr(0, colon));
    rest.remove_prefix(colon + 1);
  }
  if (parts.size() != 5 || parts[0] != "arn" || !parts[1].starts_with("aws") || parts[2].empty())
    return fail(ApiError::invalid_parameter(
        "Invalid EventSourceArn " + std::string(arn) +
        ": expected arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL"));
  if (parts[2] != "dynamodb")
    return fail(ApiError::invalid_parameter(
        "Nimbus implements DynamoDB Streams as the only event source; " + std::string(parts[2]) +
        " sources are not implemented (" + std::string(arn) + ")"));
  size_t stream_at = rest.find("/stream/");
  if (!rest.starts_with("table/") || stream_at == std::string_view::npos || stream_at <= 6 ||
      stream_at + 8 >= rest.size())
    return fail(
        ApiError::invalid_parameter("EventSourceArn " + std::string(arn) +
                                    " is not a DynamoDB stream: use the table's LatestStreamArn "
                                    "(arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL)"));
  return {};
}

// Lambda's event record: GetRecords' record plus eventSourceARN, with
// userIdentity's keys in the event's lower camel case.
std::optional<PendingRecord> to_pending(const json::value& record, const std::string& stream_arn) {
  if (!record.is_object()) return std::nullopt;
  json::object event = record.as_object();
  auto* change = event.if_contains("dynamodb");
  if (!change || !change->is_object()) return std::nullopt;
  PendingRecord out;
  out.sequence = str(change->as_object(), "SequenceNumber");
  if (out.sequence.empty()) return std::nullopt;
  if (auto* t = change->as_object().if_contains("ApproximateCreationDateTime"); t && t->is_number())
    out.created_ms = static_cast<int64_t>(t->to_number<double>() * 1000);
  if (auto* identity = event.if_contains("userIdentity"); identity && identity->is_object()) {
    json::object lower;
    for (const auto& [key, value] : identity->as_object()) {
      std::string k(key);
      if (!k.empty()) k[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(k[0])));
      lower[k] = value;
    }
    *identity = std::move(lower);
  }
  event["eventSourceARN"] = stream_arn;
  out.event_json = json::serialize(event);
  return out;
}

// Reads a ReportBatchItemFailures response for the first `n` buffered
// records: the index of the first failed record, none when all succeeded,
// or why the response counts as a failure of the whole batch (Lambda's
// rules: an empty or null list, or no list at all, is success; an item
// without a valid itemIdentifier of the batch fails the batch).
Result<std::optional<size_t>, std::string> first_failed(std::string_view payload,
                                                        const std::deque<PendingRecord>& records,
                                                        size_t n) {
  boost::system::error_code ec;
  auto v = json::parse(payload, ec);
  if (ec || !v.is_object()) return std::optional<size_t>{};
  auto* failures = v.as_object().if_contains("batchItemFailures");
  if (!failures || failures->is_null()) return std::optional<size_t>{};
  if (!failures->is_array()) return fail(std::string("batchItemFailures is not a list"));
  std::optional<size_t> first;
  for (const auto& f : failures->as_array()) {
    const json::value* id = f.is_object() ? f.as_object().if_contains("itemIdentifier") : nullptr;
    if (!id || !id->is_string() || id->as_string().empty())
      return fail(std::string("a batchItemFailures entry has no itemIdentifier"));
    size_t i = 0;
    while (i < n && records[i].sequence != id->as_string()) ++i;
    if (i == n)
      return fail("itemIdentifier " + std::string(id->as_string()) + " is not in the batch");
    if (!first || i < *first) first = i;
  }
  return first;
}

}  // namespace

class EventSourceMappings::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(store::Store& store, Clock& clock, EventSourceHooks hooks, EventSourceOptions options)
      : store_(store), clock_(clock), hooks_(std::move(hooks)), options_(options) {}

  Status start();
  void clear();
  void shutdown();

  Result<json::object, ApiError> create(const json::object& in, const RequestScope& scope);
  Result<json::object, ApiError> get(std::string_view uuid) const;
  Result<json::object, ApiError> list(std::string_view arn, std::string_view function_name,
                                      std::string_view marker, std::string_view max_items) const;
  Result<json::object, ApiError> update(std::string_view uuid, const json::object& in,
                                        const RequestScope& scope);
  Result<json::object, ApiError> remove(std::string_view uuid);

 private:
  using MappingPtr = std::shared_ptr<Mapping>;

  MappingPtr find(std::string_view uuid) const;
  // ResourceConflictException when another mapping joins the same source
  // and function (Lambda allows one). Called under mu_.
  Result<void, ApiError> check_unique(const Settings& s) const;
  Status persist(const Settings& s, const Checkpoint& c);

  // The streams API.
  Result<json::object, ApiError> streams(std::string_view op, json::object request) const;
  Result<std::string, ApiError> shard_of(const std::string& stream_arn) const;
  Result<std::string, ApiError> shard_iterator(const std::string& stream_arn,
                                               const std::string& shard, std::string_view type,
                                               std::string_view sequence = {}) const;

  // The poll loop: kick → step → (park → step | deliver → on_result → step).
  void kick(const MappingPtr& m);
  void post_step(const MappingPtr& m);
  void step(const MappingPtr& m);
  void park(const MappingPtr& m, Duration delay);
  // Copies the settings and checkpoint; false (and the loop ends) when the
  // mapping was disabled or deleted or the service stops.
  bool snapshot(const MappingPtr& m, Settings& s, Checkpoint& c);
  Result<void, ApiError> read(const Settings& s, const Checkpoint& c, Poller& p);
  Result<std::string, ApiError> open_iterator(const Settings& s, const Checkpoint& c, Poller& p,
                                              bool latest_expired);
  void deliver(const MappingPtr& m, const Settings& s);
  void on_result(const MappingPtr& m, size_t n, faas::InvokeResult result);
  void on_rejected(const MappingPtr& m, size_t n, const ApiError& error);
  // A failed invocation of the front `n` records: bisect, retry or skip.
  void failure(const MappingPtr& m, const Settings& s, size_t n, bool may_bisect,
               const std::string& why);
  // Marks the first `n` buffered records processed: the checkpoint moves
  // past them (synced) and `result`, when given, becomes LastProcessingResult.
  void commit(const MappingPtr& m, size_t n, std::optional<std::string_view> result);
  void set_result(const MappingPtr& m, std::string_view result);
  // Logs a problem once while it repeats.
  void note_problem(const Settings& s, std::string& last, const std::string& what);

  store::Store& store_;
  Clock& clock_;
  EventSourceHooks hooks_;
  EventSourceOptions options_;
  std::atomic<bool> stopped_{false};
  // Guards the map; taken before any mapping's own mutex, never after.
  mutable std::mutex mu_;
  std::map<std::string, MappingPtr, std::less<>> mappings_;
};

// ---------------------------------------------------------------------------
// Lifecycle

Status EventSourceMappings::Impl::start() {
  std::vector<MappingPtr> enabled;
  {
    std::lock_guard lk(mu_);
    for (auto& [key, value] : store_.scan(kKeyPrefix)) {
      auto stored = parse_stored(value);
      if (!stored) {
        spdlog::error("lambda: unreadable event source mapping {}; skipped", key);
        continue;
      }
      auto m = std::make_shared<Mapping>();
      m->settings = std::move(stored->first);
      m->checkpoint = std::move(stored->second);
      if (m->settings.enabled) enabled.push_back(m);
      mappings_[m->settings.uuid] = m;
    }
  }
  if (!enabled.empty()) spdlog::info("lambda: resuming {} event source mappings", enabled.size());
  for (auto& m : enabled) kick(m);
  return {};
}

// Ends every loop at its next step; a parked loop ends at once.
static void stop_loop_locked(Mapping& m) {
  if (m.parked) {
    m.parked = false;
    m.running = false;
    m.timer.cancel();
  }
}

void EventSourceMappings::Impl::clear() {
  std::lock_guard lk(mu_);
  for (auto& [uuid, m] : mappings_) {
    std::lock_guard mlk(m->mu);
    m->deleted = true;
    stop_loop_locked(*m);
  }
  mappings_.clear();
}

void EventSourceMappings::Impl::shutdown() {
  stopped_ = true;
  std::lock_guard lk(mu_);
  for (auto& [uuid, m] : mappings_) {
    std::lock_guard mlk(m->mu);
    stop_loop_locked(*m);
  }
}

// ---------------------------------------------------------------------------
// The API

EventSourceMappings::Impl::MappingPtr EventSourceMappings::Impl::find(std::string_view uuid) const {
  std::lock_guard lk(mu_);
  auto it = mappings_.find(uuid);
  return it == mappings_.end() ? nullptr : it->second;
}

static ApiError mapping_not_found() {
  return ApiError::resource_not_found("The resource you requested does not exist.");
}

Result<void, ApiError> EventSourceMappings::Impl::check_unique(const Settings& s) const {
  for (const auto& [uuid, other] : mappings_) {
    if (uuid == s.uuid) continue;
    std::lock_guard lk(other->mu);
    if (other->settings.event_source_arn == s.event_source_arn &&
        other->settings.function_arn == s.function_arn)
      return fail(ApiError::resource_conflict(
          "The event source arn (" + s.event_source_arn + ") and function (" + s.function_arn +
          ") provided mapping already exists. Please update or delete the existing mapping "
          "with UUID " +
          uuid));
  }
  return {};
}

Status EventSourceMappings::Impl::persist(const Settings& s, const Checkpoint& c) {
  return store_.put(storage_key(s.uuid), serialize(s, c));
}

Result<json::object, ApiError> EventSourceMappings::Impl::streams(std::string_view op,
                                                                  json::object request) const {
  if (!hooks_.dynamodb_streams)
    return fail(ApiError::invalid_parameter("DynamoDB Streams is not available in this server"));
  std::string target = std::string(kStreamsTarget) + std::string(op);
  return hooks_.dynamodb_streams(target, std::move(request));
}

Result<std::string, ApiError> EventSourceMappings::Impl::shard_of(
    const std::string& stream_arn) const {
  auto r = streams("DescribeStream", json::object{{"StreamArn", stream_arn}});
  if (!r) return fail(r.take_error());
  // DynamoDB streams in Nimbus have one shard.
  const json::value* shards = nullptr;
  if (auto* d = r->if_contains("StreamDescription"); d && d->is_object())
    shards = d->as_object().if_contains("Shards");
  if (shards && shards->is_array() && !shards->as_array().empty() &&
      shards->as_array()[0].is_object())
    if (auto id = str(shards->as_array()[0].as_object(), "ShardId"); !id.empty()) return id;
  return fail(
      ApiError::make(400, "ResourceNotFoundException", "Stream " + stream_arn + " has no shard"));
}

Result<std::string, ApiError> EventSourceMappings::Impl::shard_iterator(
    const std::string& stream_arn, const std::string& shard, std::string_view type,
    std::string_view sequence) const {
  json::object req{{"StreamArn", stream_arn}, {"ShardId", shard}, {"ShardIteratorType", type}};
  if (!sequence.empty()) req["SequenceNumber"] = sequence;
  auto r = streams("GetShardIterator", std::move(req));
  if (!r) return fail(r.take_error());
  auto it = str(*r, "ShardIterator");
  if (it.empty()) return fail(ApiError::service_failure("GetShardIterator gave no iterator"));
  return it;
}

Result<json::object, ApiError> EventSourceMappings::Impl::create(const json::object& in,
                                                                 const RequestScope& scope) {
  // Named first: StartingPositionTimestamp would otherwise be refused as
  // unimplemented, when the real reason is DynamoDB's.
  if (str(in, "StartingPosition") == "AT_TIMESTAMP")
    return fail(ApiError::invalid_parameter(
        "StartingPosition AT_TIMESTAMP (with StartingPositionTimestamp) is not supported for "
        "DynamoDB Streams event sources: use TRIM_HORIZON or LATEST"));
  if (auto r = refuse_unimplemented(in, kCreateMembers); !r) return fail(r.take_error());
  auto* function_name = in.if_contains("FunctionName");
  if (!function_name || !function_name->is_string())
    return fail(ApiError::validation(
        "1 validation error detected: Value null at 'functionName' failed to satisfy "
        "constraint: Member must not be null"));
  Settings s;
  s.event_source_arn = str(in, "EventSourceArn");
  if (s.event_source_arn.empty())
    return fail(ApiError::invalid_parameter(
        "EventSourceArn is required: the ARN of a DynamoDB stream (the table's "
        "LatestStreamArn)"));
  if (auto r = check_stream_arn(s.event_source_arn); !r) return fail(r.take_error());
  s.starting_position = str(in, "StartingPosition");
  if (s.starting_position.empty())
    return fail(ApiError::invalid_parameter(
        "StartingPosition is required for DynamoDB Streams event sources: TRIM_HORIZON or "
        "LATEST"));
  if (s.starting_position != "TRIM_HORIZON" && s.starting_position != "LATEST")
    return fail(ApiError::invalid_parameter("Invalid StartingPosition " + s.starting_position +
                                            ": TRIM_HORIZON or LATEST"));
  if (auto r = apply_settings(in, s); !r) return fail(r.take_error());
  auto function_arn =
      hooks_.resolve_function(function_name->as_string(), scope.region, scope.account);
  if (!function_arn) return fail(function_arn.take_error());
  s.function_arn = std::move(function_arn.value());

  // The stream must exist; a LATEST mapping starts at the stream's end now.
  auto shard = shard_of(s.event_source_arn);
  if (!shard) {
    if (shard.error().code == "ResourceNotFoundException" ||
        shard.error().code == "ValidationException")
      return fail(ApiError::invalid_parameter(
          "Cannot access stream " + s.event_source_arn +
          ". Please ensure the role can perform the GetRecords, GetShardIterator, "
          "DescribeStream, and ListStreams Actions on your stream in IAM."));
    return fail(shard.take_error());
  }
  Checkpoint c;
  if (s.starting_position == "LATEST") {
    c.latest_since_ms = clock_.wall_ms();
    auto it = shard_iterator(s.event_source_arn, *shard, "LATEST");
    if (!it) return fail(it.take_error());
    c.latest_iterator = std::move(it.value());
  }
  s.uuid = new_uuid();
  s.created_ms = s.last_modified_ms = clock_.wall_ms();

  auto m = std::make_shared<Mapping>();
  m->settings = s;
  m->checkpoint = c;
  {
    std::lock_guard lk(mu_);
    if (auto u = check_unique(s); !u) return fail(u.take_error());
    if (auto st = persist(s, c); !st) return fail(ApiError::service_failure(st.error().message));
    mappings_[s.uuid] = m;
  }
  kick(m);
  return describe(s, c, "Creating");
}

Result<json::object, ApiError> EventSourceMappings::Impl::get(std::string_view uuid) const {
  auto m = find(uuid);
  if (!m) return fail(mapping_not_found());
  std::lock_guard lk(m->mu);
  return describe(m->settings, m->checkpoint, m->settings.enabled ? "Enabled" : "Disabled");
}

Result<json::object, ApiError> EventSourceMappings::Impl::list(std::string_view arn,
                                                               std::string_view function_name,
                                                               std::string_view marker,
                                                               std::string_view max_items) const {
  int64_t max = kDefaultListItems;
  if (!max_items.empty()) {
    try {
      max = std::stoll(std::string(max_items));
    } catch (...) {
      max = 0;
    }
    if (max < 1 || max > 10000)
      return fail(ApiError::invalid_parameter("MaxItems must be between 1 and 10000"));
  }
  std::optional<FunctionRef> want;
  if (!function_name.empty()) {
    auto ref = parse_function_ref(function_name);
    if (!ref) return fail(ref.take_error());
    want = std::move(ref.value());
  }
  std::vector<std::pair<std::pair<int64_t, std::string>, json::object>> items;
  {
    std::lock_guard lk(mu_);
    for (const auto& [uuid, m] : mappings_) {
      std::lock_guard mlk(m->mu);
      const Settings& s = m->settings;
      if (!arn.empty() && s.event_source_arn != arn) continue;
      if (want) {
        auto ref = parse_function_ref(s.function_arn);
        // An unqualified name lists the mappings of every version and alias.
        if (!ref || ref->name != want->name ||
            (!want->qualifier.empty() && ref->qualifier != want->qualifier))
          continue;
      }
      items.emplace_back(std::make_pair(s.created_ms, s.uuid),
                         describe(s, m->checkpoint, s.enabled ? "Enabled" : "Disabled"));
    }
  }
  std::sort(items.begin(), items.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  size_t start = 0;
  if (!marker.empty()) {
    try {
      start = std::stoull(std::string(marker));
    } catch (...) {
      return fail(ApiError::invalid_parameter("Invalid Marker " + std::string(marker)));
    }
  }
  json::array page;
  for (size_t i = start; i < items.size() && page.size() < static_cast<size_t>(max); ++i)
    page.push_back(std::move(items[i].second));
  json::object out{{"EventSourceMappings", std::move(page)}};
  if (start + static_cast<size_t>(max) < items.size())
    out["NextMarker"] = std::to_string(start + static_cast<size_t>(max));
  return out;
}

Result<json::object, ApiError> EventSourceMappings::Impl::update(std::string_view uuid,
                                                                 const json::object& in,
                                                                 const RequestScope& scope) {
  if (auto r = refuse_unimplemented(in, kUpdateMembers); !r) return fail(r.take_error());
  auto m = find(uuid);
  if (!m) return fail(mapping_not_found());
  {
    // Validate before resolving the function (cheap errors first).
    Settings probe;
    if (auto r = apply_settings(in, probe); !r) return fail(r.take_error());
  }
  std::optional<std::string> function_arn;
  if (auto* f = in.if_contains("FunctionName"); f && !f->is_null()) {
    if (!f->is_string()) return fail(ApiError::invalid_parameter("FunctionName must be a string"));
    auto resolved = hooks_.resolve_function(f->as_string(), scope.region, scope.account);
    if (!resolved) return fail(resolved.take_error());
    function_arn = std::move(resolved.value());
  }
  Settings s;
  Checkpoint c;
  bool was_enabled = false;
  {
    std::lock_guard lk(mu_);
    {
      std::lock_guard mlk(m->mu);
      if (m->deleted) return fail(mapping_not_found());
      s = m->settings;
      c = m->checkpoint;
    }
    was_enabled = s.enabled;
    if (auto r = apply_settings(in, s); !r) return fail(r.take_error());
    if (function_arn) s.function_arn = *function_arn;
    s.last_modified_ms = clock_.wall_ms();
    if (auto u = check_unique(s); !u) return fail(u.take_error());
    std::lock_guard mlk(m->mu);
    // The checkpoint may have moved while the lock was released.
    c = m->checkpoint;
    if (auto st = persist(s, c); !st) return fail(ApiError::service_failure(st.error().message));
    m->settings = s;
    if (!s.enabled) stop_loop_locked(*m);
  }
  if (s.enabled) kick(m);
  std::string_view state = was_enabled == s.enabled ? "Updating"
                           : s.enabled              ? "Enabling"
                                                    : "Disabling";
  return describe(s, c, state);
}

Result<json::object, ApiError> EventSourceMappings::Impl::remove(std::string_view uuid) {
  std::lock_guard lk(mu_);
  auto it = mappings_.find(uuid);
  if (it == mappings_.end()) return fail(mapping_not_found());
  MappingPtr m = it->second;
  std::lock_guard mlk(m->mu);
  if (auto st = store_.del(storage_key(m->settings.uuid)); !st)
    return fail(ApiError::service_failure(st.error().message));
  // Under the mapping's lock, so no checkpoint write can follow the delete.
  m->deleted = true;
  stop_loop_locked(*m);
  json::object out = describe(m->settings, m->checkpoint, "Deleting");
  mappings_.erase(it);
  return out;
}

// ---------------------------------------------------------------------------
// The poll loop

void EventSourceMappings::Impl::kick(const MappingPtr& m) {
  {
    std::lock_guard lk(m->mu);
    if (m->running || m->deleted || !m->settings.enabled || stopped_) return;
    m->running = true;
  }
  post_step(m);
}

void EventSourceMappings::Impl::post_step(const MappingPtr& m) {
  hooks_.run_blocking([self = shared_from_this(), m] { self->step(m); });
}

bool EventSourceMappings::Impl::snapshot(const MappingPtr& m, Settings& s, Checkpoint& c) {
  std::lock_guard lk(m->mu);
  if (stopped_ || m->deleted || !m->settings.enabled) {
    m->running = false;
    return false;
  }
  s = m->settings;
  c = m->checkpoint;
  return true;
}

void EventSourceMappings::Impl::park(const MappingPtr& m, Duration delay) {
  std::lock_guard lk(m->mu);
  if (stopped_ || m->deleted || !m->settings.enabled) {
    m->running = false;
    return;
  }
  m->parked = true;
  uint64_t id = ++m->park_id;
  std::weak_ptr<Impl> weak_self = weak_from_this();
  std::weak_ptr<Mapping> weak_mapping = m;
  // The timer only posts: its callback runs on the clock's (I/O) thread.
  m->timer = clock_.call_after(delay, [weak_self, weak_mapping, id] {
    auto self = weak_self.lock();
    auto mapping = weak_mapping.lock();
    if (!self || !mapping) return;
    {
      std::lock_guard lk(mapping->mu);
      if (!mapping->parked || mapping->park_id != id) return;  // cancelled or superseded
      mapping->parked = false;
    }
    self->post_step(mapping);
  });
}

void EventSourceMappings::Impl::note_problem(const Settings& s, std::string& last,
                                             const std::string& what) {
  if (what == last) return;
  last = what;
  spdlog::warn("lambda: event source mapping {} ({} → {}): {}", s.uuid, s.event_source_arn,
               s.function_arn, what);
}

void EventSourceMappings::Impl::step(const MappingPtr& m) {
  Settings s;
  Checkpoint c;
  if (!snapshot(m, s, c)) return;
  Poller& p = m->poll;
  if (!p.primed) {
    p.read_through = c.after_sequence;
    p.primed = true;
  }
  if (!p.closed && p.buffer.size() < static_cast<size_t>(s.batch_size)) {
    if (auto r = read(s, c, p); !r) {
      note_problem(s, p.last_source_error,
                   "reading the stream failed: " + r.error().code + ": " + r.error().message);
      return park(m, options_.source_error_retry);
    }
  }
  if (p.buffer.empty()) {
    if (p.closed) {
      // The shard ended (its stream was disabled) and everything in it was
      // processed: nothing more will come.
      spdlog::info("lambda: event source mapping {}: stream {} ended", s.uuid, s.event_source_arn);
      std::lock_guard lk(m->mu);
      m->running = false;
      return;
    }
    return park(m, options_.idle_poll);
  }
  TimePoint now = clock_.now();
  if (!p.window_start) p.window_start = now;
  Duration window = std::chrono::seconds(s.batching_window_s);
  bool ready = !p.spans.empty() || p.buffer.size() >= static_cast<size_t>(s.batch_size) ||
               p.buffer_bytes >= options_.max_payload_bytes || p.closed ||
               now - *p.window_start >= window;
  if (!ready) return park(m, std::min(options_.idle_poll, *p.window_start + window - now));
  deliver(m, s);
}

Result<std::string, ApiError> EventSourceMappings::Impl::open_iterator(const Settings& s,
                                                                       const Checkpoint& c,
                                                                       Poller& p,
                                                                       bool latest_expired) {
  auto shard = shard_of(s.event_source_arn);
  if (!shard) return fail(shard.take_error());
  const std::string& arn = s.event_source_arn;
  if (!p.read_through.empty()) {
    auto it = shard_iterator(arn, *shard, "AFTER_SEQUENCE_NUMBER", p.read_through);
    // The record itself was trimmed: everything left is newer, and what was
    // read already is skipped by read_through.
    if (!it && it.error().code == "TrimmedDataAccessException")
      return shard_iterator(arn, *shard, "TRIM_HORIZON");
    return it;
  }
  if (s.starting_position == "TRIM_HORIZON") return shard_iterator(arn, *shard, "TRIM_HORIZON");
  // LATEST, and no record read yet: the iterator taken at creation, or once
  // it expired, the records written since then (at-least-once: a record of
  // the same second before creation may come too).
  if (!latest_expired && !c.latest_iterator.empty()) return c.latest_iterator;
  if (c.latest_since_ms > 0) {
    p.not_before_ms = c.latest_since_ms / 1000 * 1000;
    return shard_iterator(arn, *shard, "TRIM_HORIZON");
  }
  return shard_iterator(arn, *shard, "LATEST");
}

Result<void, ApiError> EventSourceMappings::Impl::read(const Settings& s, const Checkpoint& c,
                                                       Poller& p) {
  bool reopened = false;
  const size_t batch_size = static_cast<size_t>(s.batch_size);
  // A full page asks for the next at once, up to a batch.
  while (!p.closed && p.buffer.size() < batch_size) {
    if (!p.iterator) {
      auto it = open_iterator(s, c, p, false);
      if (!it) return fail(it.take_error());
      p.iterator = std::move(it.value());
    }
    size_t want = std::min(batch_size - p.buffer.size(), kMaxRecordsPerRead);
    auto r = streams("GetRecords", json::object{{"ShardIterator", *p.iterator},
                                                {"Limit", static_cast<int64_t>(want)}});
    if (!r) {
      p.iterator.reset();
      // An iterator unused for 15 minutes (a long retry, or the one stored
      // at creation read after a restart): open a new one at the same place.
      if (r.error().code == "ExpiredIteratorException" && !reopened) {
        reopened = true;
        auto it = open_iterator(s, c, p, true);
        if (!it) return fail(it.take_error());
        p.iterator = std::move(it.value());
        continue;
      }
      return fail(r.take_error());
    }
    size_t got = 0;
    if (auto* records = r->if_contains("Records"); records && records->is_array()) {
      for (const auto& record : records->as_array()) {
        ++got;
        auto pending = to_pending(record, s.event_source_arn);
        if (!pending) {
          note_problem(s, p.last_source_error, "skipping a malformed stream record");
          continue;
        }
        if (!p.read_through.empty() && !sequence_before(p.read_through, pending->sequence))
          continue;  // read (and processed or buffered) already
        p.read_through = pending->sequence;
        if (p.not_before_ms) {
          if (pending->created_ms < *p.not_before_ms) continue;
          p.not_before_ms.reset();  // records come in order: the rest are newer
        }
        p.buffer_bytes += pending->event_json.size();
        p.buffer.push_back(std::move(*pending));
      }
    }
    p.last_source_error.clear();
    auto* next = r->if_contains("NextShardIterator");
    if (!next || !next->is_string()) {
      p.closed = true;
      p.iterator.reset();
      break;
    }
    p.iterator = std::string(next->as_string());
    if (got < want) break;  // caught up with the shard
  }
  return {};
}

void EventSourceMappings::Impl::deliver(const MappingPtr& m, const Settings& s) {
  Poller& p = m->poll;
  // Records older than MaximumRecordAgeInSeconds (or, with -1, than the
  // stream keeps them) are not sent: skipped, as Lambda discards them.
  int64_t max_age_ms =
      s.max_record_age_s >= 0 ? s.max_record_age_s * 1000 : options_.stream_retention_ms;
  int64_t now_ms = clock_.wall_ms();
  size_t expired = 0;
  while (expired < p.buffer.size() && now_ms - p.buffer[expired].created_ms > max_age_ms) ++expired;
  if (expired > 0) {
    spdlog::warn(
        "lambda: event source mapping {}: skipping {} records older than {} s (sequence numbers "
        "{} to {})",
        s.uuid, expired, max_age_ms / 1000, p.buffer.front().sequence,
        p.buffer[expired - 1].sequence);
    commit(m, expired, std::nullopt);
    p.attempts = 0;
    return post_step(m);
  }

  size_t n = std::min(p.spans.empty() ? static_cast<size_t>(s.batch_size) : p.spans.front(),
                      p.buffer.size());
  // Lambda's payload limit cuts a batch short (one record always goes).
  std::string payload = R"({"Records":[)";
  size_t fit = 0;
  for (; fit < n; ++fit) {
    const std::string& record = p.buffer[fit].event_json;
    if (fit > 0 && payload.size() + record.size() + 3 > options_.max_payload_bytes) break;
    if (fit > 0) payload += ',';
    payload += record;
  }
  payload += "]}";
  if (p.spans.empty()) {
    p.spans.push_back(fit);
  } else if (fit < p.spans.front()) {
    size_t rest = p.spans.front() - fit;
    p.spans.front() = fit;
    p.spans.insert(p.spans.begin() + 1, rest);
  }

  faas::Invocation inv;
  inv.request_id = new_uuid();
  inv.payload = std::move(payload);
  auto self = shared_from_this();
  // Both answers come back through the worker: `rejected` may be called
  // inside invoke, and `done` on an I/O thread.
  hooks_.invoke(
      s.function_arn, std::move(inv),
      [self, m, fit](faas::InvokeResult result) {
        self->hooks_.run_blocking([self, m, fit, result = std::move(result)]() mutable {
          self->on_result(m, fit, std::move(result));
        });
      },
      [self, m, fit](ApiError error) {
        self->hooks_.run_blocking(
            [self, m, fit, error = std::move(error)] { self->on_rejected(m, fit, error); });
      });
}

void EventSourceMappings::Impl::on_result(const MappingPtr& m, size_t n,
                                          faas::InvokeResult result) {
  Settings s;
  {
    // A disabled mapping still records the batch it delivered.
    std::lock_guard lk(m->mu);
    if (stopped_ || m->deleted) {
      m->running = false;
      return;
    }
    s = m->settings;
  }
  Poller& p = m->poll;
  if (result.status == faas::InvokeResult::Status::kFunctionError)
    return failure(m, s, n, true, "the function failed: " + result.payload.substr(0, 512));
  if (s.report_item_failures) {
    auto failed = first_failed(result.payload, p.buffer, n);
    if (!failed) return failure(m, s, n, true, "invalid batchItemFailures: " + failed.error());
    if (*failed) {
      size_t i = **failed;
      if (i == 0) return failure(m, s, n, true, "batchItemFailures names the batch's first record");
      // The records before the first failure are done; the rest is retried
      // from the failed record on (a retry attempt, never bisected).
      commit(m, i, kProcessedOk);
      return failure(m, s, n - i, false,
                     "batchItemFailures names record " + p.buffer.front().sequence);
    }
  }
  commit(m, n, kProcessedOk);
  p.attempts = 0;
  p.last_invoke_error.clear();
  // The next batching window starts when an invocation completes.
  p.window_start.reset();
  if (!p.buffer.empty()) p.window_start = clock_.now();
  post_step(m);  // more may be waiting: read again at once
}

void EventSourceMappings::Impl::on_rejected(const MappingPtr& m, size_t n, const ApiError& error) {
  Settings s;
  {
    std::lock_guard lk(m->mu);
    if (stopped_ || m->deleted) {
      m->running = false;
      return;
    }
    s = m->settings;
  }
  // The batch never reached the function: no retry attempt is used (as on
  // Lambda); a throttle is retried soon, anything else (a deleted function)
  // at the slower pace of source errors. Records still expire by age.
  if (error.status == 429) return park(m, options_.throttled_retry);
  set_result(m, kFunctionCallFailed);
  note_problem(s, m->poll.last_invoke_error,
               "invoking " + s.function_arn + " failed: " + error.code + ": " + error.message);
  park(m, options_.source_error_retry);
}

void EventSourceMappings::Impl::failure(const MappingPtr& m, const Settings& s, size_t n,
                                        bool may_bisect, const std::string& why) {
  Poller& p = m->poll;
  ++p.attempts;
  set_result(m, kFunctionCallFailed);
  if (may_bisect && s.bisect_on_error && n > 1) {
    // Two halves, each retried on its own; the split is not a retry.
    p.spans.front() = n / 2;
    p.spans.insert(p.spans.begin() + 1, n - n / 2);
    p.attempts = 0;
    spdlog::debug("lambda: event source mapping {}: batch of {} failed ({}); bisecting", s.uuid, n,
                  why);
    return park(m, options_.retry_backoff_min);
  }
  if (s.max_retry_attempts >= 0 && p.attempts > s.max_retry_attempts) {
    spdlog::warn(
        "lambda: event source mapping {}: skipping a batch of {} records (sequence numbers {} to "
        "{}) after {} failed attempts: {}",
        s.uuid, n, p.buffer.front().sequence, p.buffer[n - 1].sequence, p.attempts, why);
    commit(m, n, std::nullopt);
    p.attempts = 0;
    return post_step(m);
  }
  spdlog::debug("lambda: event source mapping {}: batch of {} failed (attempt {}): {}", s.uuid, n,
                p.attempts, why);
  Duration delay = options_.retry_backoff_min;
  for (int i = 1; i < p.attempts && delay < options_.retry_backoff_max; ++i) delay *= 2;
  park(m, std::min(delay, options_.retry_backoff_max));
}

void EventSourceMappings::Impl::commit(const MappingPtr& m, size_t n,
                                       std::optional<std::string_view> result) {
  Poller& p = m->poll;
  std::string sequence = p.buffer[n - 1].sequence;
  for (size_t i = 0; i < n; ++i) {
    p.buffer_bytes -= p.buffer.front().event_json.size();
    p.buffer.pop_front();
  }
  for (size_t left = n; left > 0 && !p.spans.empty();) {
    size_t take = std::min(left, p.spans.front());
    p.spans.front() -= take;
    left -= take;
    if (p.spans.front() == 0) p.spans.pop_front();
  }
  // Under the mapping's lock: a delete cannot slip between the check and
  // the write, so a deleted mapping's key never comes back.
  std::lock_guard lk(m->mu);
  if (m->deleted || stopped_) return;
  m->checkpoint.after_sequence = sequence;
  m->checkpoint.latest_iterator.clear();
  if (result) m->checkpoint.last_result = *result;
  if (auto st = persist(m->settings, m->checkpoint); !st)
    // Processing goes on; after a restart the batches since the last stored
    // checkpoint are delivered again (at-least-once still holds).
    spdlog::error("lambda: event source mapping {}: storing the checkpoint failed: {}",
                  m->settings.uuid, st.error().message);
}

void EventSourceMappings::Impl::set_result(const MappingPtr& m, std::string_view result) {
  std::lock_guard lk(m->mu);
  m->checkpoint.last_result = result;
}

// ---------------------------------------------------------------------------

EventSourceMappings::EventSourceMappings(store::Store& store, Clock& clock, EventSourceHooks hooks,
                                         EventSourceOptions options)
    : impl_(std::make_shared<Impl>(store, clock, std::move(hooks), options)) {}

EventSourceMappings::~EventSourceMappings() {
  impl_->shutdown();
}

Status EventSourceMappings::start() {
  return impl_->start();
}

void EventSourceMappings::clear() {
  impl_->clear();
}

Result<json::object, ApiError> EventSourceMappings::create(const json::object& request,
                                                           const RequestScope& scope) {
  return impl_->create(request, scope);
}

Result<json::object, ApiError> EventSourceMappings::get(std::string_view uuid) const {
  return impl_->get(uuid);
}

Result<json::object, ApiError> EventSourceMappings::list(std::string_view event_source_arn,
                                                         std::string_view function_name,
                                                         std::string_view marker,
                                                         std::string_view max_items) const {
  return impl_->list(event_source_arn, function_name, marker, max_items);
}

Result<json::object, ApiError> EventSourceMappings::update(std::string_view uuid,
                                                           const json::object& request,
                                                           const RequestScope& scope) {
  return impl_->update(uuid, request, scope);
}

Result<json::object, ApiError> EventSourceMappings::remove(std::string_view uuid) {
  return impl_->remove(uuid);
}

}  // namespace nimbus::services::lambda
