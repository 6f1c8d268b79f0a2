#include "services/lambda/event_source_mappings.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <deque>
#include <set>

#include "services/iam/memory_store_for_tests.h"

namespace nimbus::services::lambda {
namespace {

namespace json = boost::json;
using aws::ApiError;
using namespace std::chrono_literals;

constexpr std::string_view kStreamArn =
    "arn:aws:dynamodb:us-east-1:000000000000:table/orders/stream/2024-01-01T00:00:00.000";
constexpr std::string_view kFn = "arn:aws:lambda:us-east-1:000000000000:function:consumer";
constexpr std::string_view kOtherFn = "arn:aws:lambda:us-east-1:000000000000:function:other";

std::string sequence_text(uint64_t n) {
  std::string digits = std::to_string(n);
  return std::string(21 - digits.size(), '0') + digits;
}

// DynamoDB Streams' API over an in-memory shard: what GetRecords and
// friends answer, including expired iterators and a closed shard.
class FakeStream {
 public:
  explicit FakeStream(Clock& clock) : clock_(clock) {}

  void put(std::string_view event_name, std::string_view key, bool by_ttl = false) {
    json::object change{
        {"ApproximateCreationDateTime", static_cast<double>(clock_.wall_ms() / 1000)},
        {"Keys", json::object{{"id", json::object{{"S", key}}}}},
        {"SequenceNumber", sequence_text(next_sequence_ += 7)},  // gaps: numbers are global
        {"SizeBytes", 10},
        {"StreamViewType", "KEYS_ONLY"}};
    json::object record{{"eventID", "id-" + std::string(key)},
                        {"eventName", event_name},
                        {"eventVersion", "1.1"},
                        {"eventSource", "aws:dynamodb"},
                        {"awsRegion", "us-east-1"},
                        {"dynamodb", std::move(change)}};
    if (by_ttl)
      record["userIdentity"] =
          json::object{{"PrincipalId", "dynamodb.amazonaws.com"}, {"Type", "Service"}};
    records_.push_back(std::move(record));
  }
  void close() { closed_ = true; }
  int get_records_calls() const { return get_records_calls_; }

  Result<json::object, ApiError> call(std::string_view target, json::object req) {
    std::string op(target.substr(target.find('.') + 1));
    auto arn = req.contains("StreamArn") ? std::string(req.at("StreamArn").as_string()) : "";
    if ((op == "DescribeStream" || op == "GetShardIterator") && arn != kStreamArn)
      return fail(ApiError::make(400, "ResourceNotFoundException", "Stream not found"));
    if (op == "DescribeStream")
      return json::object{
          {"StreamDescription",
           json::object{{"StreamArn", arn},
                        {"Shards", json::array{json::object{{"ShardId", "shard-0"}}}}}}};
    if (op == "GetShardIterator") {
      std::string type(req.at("ShardIteratorType").as_string());
      size_t index = 0;
      if (type == "LATEST") index = records_.size();
      if (type == "AFTER_SEQUENCE_NUMBER") {
        std::string after(req.at("SequenceNumber").as_string());
        while (index < records_.size() && sequence_of(index) <= after) ++index;
      }
      return json::object{{"ShardIterator", iterator(index)}};
    }
    if (op == "GetRecords") {
      ++get_records_calls_;
      std::string text(req.at("ShardIterator").as_string());
      size_t index = std::stoul(text.substr(0, text.find('@')));
      int64_t issued = std::stoll(text.substr(text.find('@') + 1));
      if (clock_.wall_ms() - issued > 15 * 60 * 1000)
        return fail(ApiError::make(400, "ExpiredIteratorException", "Iterator expired"));
      size_t limit = static_cast<size_t>(req.at("Limit").as_int64());
      json::array out;
      for (; index < records_.size() && out.size() < limit; ++index) out.push_back(records_[index]);
      json::object answer{{"Records", std::move(out)}};
      if (!closed_ || index < records_.size()) answer["NextShardIterator"] = iterator(index);
      return answer;
    }
    return fail(ApiError::make(400, "UnknownOperationException", op));
  }

 private:
  std::string sequence_of(size_t i) const {
    return std::string(records_[i].at("dynamodb").at("SequenceNumber").as_string());
  }
  std::string iterator(size_t index) const {
    return std::to_string(index) + "@" + std::to_string(clock_.wall_ms());
  }

  Clock& clock_;
  std::vector<json::object> records_;
  uint64_t next_sequence_ = 1000;
  bool closed_ = false;
  int get_records_calls_ = 0;
};

// The function: remembers every event, answers as `behaviour` says, or
// holds the answer (an invocation still running).
struct FakeFunction {
  struct Call {
    std::string function_arn;
    json::object event;
    std::vector<std::string> keys() const {
      std::vector<std::string> out;
      for (const auto& r : event.at("Records").as_array())
        out.emplace_back(r.at("dynamodb").at("Keys").at("id").at("S").as_string());
      return out;
    }
  };
  enum class Answer { kOk, kError, kThrottle, kNotFound, kHold };
  std::vector<Call> calls;
  std::function<Answer(const Call&)> behaviour = [](const Call&) { return Answer::kOk; };
  std::function<std::string(const Call&)> response = [](const Call&) { return "null"; };
  std::vector<faas::InvokeCallback> held;

  void invoke(const std::string& arn, faas::Invocation inv, faas::InvokeCallback done,
              std::function<void(ApiError)> rejected) {
    calls.push_back(Call{arn, json::parse(inv.payload).as_object()});
    switch (behaviour(calls.back())) {
      case Answer::kOk:
        return done(faas::InvokeResult{.payload = response(calls.back())});
      case Answer::kError:
        return done(faas::InvokeResult{.status = faas::InvokeResult::Status::kFunctionError,
                                       .payload = R"({"errorMessage":"boom"})"});
      case Answer::kThrottle:
        return rejected(ApiError::make(429, "TooManyRequestsException", "Rate Exceeded."));
      case Answer::kNotFound:
        return rejected(ApiError::resource_not_found("Function not found: " + arn));
      case Answer::kHold:
        held.push_back(std::move(done));
        return;
    }
  }
  std::vector<std::vector<std::string>> batches() const {
    std::vector<std::vector<std::string>> out;
    for (const auto& c : calls) out.push_back(c.keys());
    return out;
  }
};

using Batches = std::vector<std::vector<std::string>>;

class EventSourceMappingsTest : public ::testing::Test {
 protected:
  void SetUp() override { start(); }

  void start() {
    EventSourceHooks hooks;
    hooks.dynamodb_streams = [this](std::string_view target, json::object req) {
      return stream.call(target, std::move(req));
    };
    hooks.invoke = [this](const std::string& arn, faas::Invocation inv, faas::InvokeCallback done,
                          std::function<void(ApiError)> rejected) {
      function.invoke(arn, std::move(inv), std::move(done), std::move(rejected));
    };
    hooks.resolve_function = [this](std::string_view name, std::string_view,
                                    std::string_view) -> Result<std::string, ApiError> {
      std::string arn = std::string(name).starts_with("arn:")
                            ? std::string(name)
                            : "arn:aws:lambda:us-east-1:000000000000:function:" + std::string(name);
      if (!functions.contains(arn))
        return fail(ApiError::resource_not_found("Function not found: " + arn));
      return arn;
    };
    hooks.run_blocking = [this](std::function<void()> work) { tasks.push_back(std::move(work)); };
    mappings = std::make_unique<EventSourceMappings>(store, clock, std::move(hooks));
    ASSERT_TRUE(mappings->start().ok());
  }

  // A restart: the old instance stops, work it had queued goes nowhere.
  void restart() {
    mappings.reset();
    tasks.clear();
    start();
  }

  void drain() {
    for (int i = 0; i < 10000 && !tasks.empty(); ++i) {
      auto task = std::move(tasks.front());
      tasks.pop_front();
      task();
    }
    ASSERT_TRUE(tasks.empty()) << "the poll loop did not settle";
  }

  // Lets `d` of virtual time pass, running the work it brings.
  void run_for(Duration d) {
    drain();
    for (Duration t{}; t < d; t += 50ms) {
      clock.advance(50ms);
      drain();
    }
  }

  json::object create(json::object extra = {}) {
    json::object req{{"EventSourceArn", kStreamArn},
                     {"FunctionName", "consumer"},
                     {"StartingPosition", "TRIM_HORIZON"}};
    for (auto& [k, v] : extra) req[k] = v;
    auto r = mappings->create(req, scope);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().code + ": " + r.error().message);
    return r.ok() ? r.value() : json::object{};
  }

  ApiError create_error(json::object req) {
    auto r = mappings->create(req, scope);
    EXPECT_FALSE(r.ok());
    return r.ok() ? ApiError{} : r.error();
  }

  std::string uuid_of(const json::object& m) { return std::string(m.at("UUID").as_string()); }

  std::string stored_checkpoint(const std::string& uuid) {
    auto text = store.get(std::string(EventSourceMappings::kKeyPrefix) + uuid);
    if (!text) return "<none>";
    auto v = json::parse(*text);
    return std::string(v.at("checkpoint").at("AfterSequenceNumber").as_string());
  }

  store::KeyValues stored_keys() {
    return static_cast<store::Store&>(store).scan(EventSourceMappings::kKeyPrefix);
  }

  std::string last_result(const std::string& uuid) {
    return std::string(mappings->get(uuid)->at("LastProcessingResult").as_string());
  }

  testing::MemoryStore store;
  ManualClock clock;
  FakeStream stream{clock};
  FakeFunction function;
  std::set<std::string> functions{std::string(kFn), std::string(kOtherFn)};
  std::deque<std::function<void()>> tasks;
  std::unique_ptr<EventSourceMappings> mappings;
  RequestScope scope{"us-east-1", "000000000000"};
};

// CreateEventSourceMapping answers the configuration with State Creating,
// Lambda's defaults for DynamoDB Streams, and the mapping reads Enabled after.
TEST_F(EventSourceMappingsTest, CreateAnswersLambdasShapeAndDefaults) {
  auto m = create();
  EXPECT_EQ(m.at("State").as_string(), "Creating");
  EXPECT_EQ(m.at("EventSourceArn").as_string(), kStreamArn);
  EXPECT_EQ(m.at("FunctionArn").as_string(), kFn);
  EXPECT_EQ(m.at("BatchSize").as_int64(), 100);
  EXPECT_EQ(m.at("MaximumBatchingWindowInSeconds").as_int64(), 0);
  EXPECT_EQ(m.at("MaximumRetryAttempts").as_int64(), -1);
  EXPECT_EQ(m.at("MaximumRecordAgeInSeconds").as_int64(), -1);
  EXPECT_EQ(m.at("ParallelizationFactor").as_int64(), 1);
  EXPECT_EQ(m.at("BisectBatchOnFunctionError").as_bool(), false);
  EXPECT_EQ(m.at("StartingPosition").as_string(), "TRIM_HORIZON");
  EXPECT_EQ(m.at("LastProcessingResult").as_string(), "No records processed");
  EXPECT_EQ(m.at("FunctionResponseTypes").as_array().size(), 0u);
  EXPECT_EQ(m.at("UUID").as_string().size(), 36u);
  auto got = mappings->get(uuid_of(m));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->at("State").as_string(), "Enabled");
}

// Lambda's refusals: StartingPosition is required for streams and
// AT_TIMESTAMP is Kinesis-only; BatchSize 1..10000; the source must be a
// stream that exists; the function must exist.
TEST_F(EventSourceMappingsTest, RefusesInvalidParameters) {
  json::object base{{"EventSourceArn", kStreamArn}, {"FunctionName", "consumer"}};
  EXPECT_EQ(create_error(base).code, "InvalidParameterValueException");  // no StartingPosition
  auto with = [&](std::string_view key, json::value v) {
    json::object req = base;
    req["StartingPosition"] = "LATEST";
    req[key] = std::move(v);
    return create_error(req);
  };
  EXPECT_NE(with("StartingPosition", "AT_TIMESTAMP").message.find("AT_TIMESTAMP"),
            std::string::npos);
  EXPECT_EQ(with("BatchSize", 0).code, "InvalidParameterValueException");
  EXPECT_EQ(with("BatchSize", 10001).code, "InvalidParameterValueException");
  EXPECT_EQ(with("MaximumRetryAttempts", 10001).code, "InvalidParameterValueException");
  EXPECT_EQ(with("MaximumRecordAgeInSeconds", 30).code, "InvalidParameterValueException");
  EXPECT_EQ(with("MaximumBatchingWindowInSeconds", 301).code, "InvalidParameterValueException");
  EXPECT_EQ(with("FunctionResponseTypes", json::array{"Other"}).code,
            "InvalidParameterValueException");
  EXPECT_EQ(with("EventSourceArn", "arn:aws:dynamodb:us-east-1:000000000000:table/orders").code,
            "InvalidParameterValueException");  // a table, not its stream
  EXPECT_EQ(with("EventSourceArn", "not-an-arn").code, "InvalidParameterValueException");
  EXPECT_NE(with("EventSourceArn", "arn:aws:sqs:us-east-1:000000000000:queue").message.find("sqs"),
            std::string::npos);
  EXPECT_EQ(with("EventSourceArn", json::string(std::string(kStreamArn) + "x")).code,
            "InvalidParameterValueException");  // no such stream
  EXPECT_EQ(with("FunctionName", "missing").code, "ResourceNotFoundException");
  EXPECT_TRUE(stored_keys().empty());
}

// What Nimbus does not implement is refused by name, never ignored; a
// member that asks for nothing ({"OnFailure": {}}, 0, []) is accepted.
TEST_F(EventSourceMappingsTest, RefusesUnimplementedParametersByName) {
  json::object req{
      {"EventSourceArn", kStreamArn}, {"FunctionName", "consumer"}, {"StartingPosition", "LATEST"}};
  for (auto [key, value] : std::vector<std::pair<std::string, json::value>>{
           {"FilterCriteria", json::parse(R"({"Filters":[{"Pattern":"{}"}]})")},
           {"DestinationConfig",
            json::parse(R"({"OnFailure":{"Destination":"arn:aws:sqs:us-east-1:1:q"}})")},
           {"TumblingWindowInSeconds", 60},
           {"ParallelizationFactor", 2},
           {"StartingPositionTimestamp", 1700000000},
           {"Queues", json::array{"q"}}}) {
    json::object r = req;
    r[key] = value;
    auto e = create_error(r);
    EXPECT_EQ(e.code, "InvalidParameterValueException") << key;
    EXPECT_NE(e.message.find(key), std::string::npos) << key << ": " << e.message;
  }
  json::object unset = req;
  unset["DestinationConfig"] = json::parse(R"({"OnFailure":{}})");
  unset["TumblingWindowInSeconds"] = 0;
  unset["FilterCriteria"] = json::object{};
  unset["ParallelizationFactor"] = 1;
  EXPECT_TRUE(mappings->create(unset, scope).ok());
}

// Lambda keeps one mapping per source and function.
TEST_F(EventSourceMappingsTest, DuplicateMappingIsAConflict) {
  auto first = create();
  auto e = create_error(json::object{
      {"EventSourceArn", kStreamArn}, {"FunctionName", kFn}, {"StartingPosition", "LATEST"}});
  EXPECT_EQ(e.code, "ResourceConflictException");
  EXPECT_NE(e.message.find(uuid_of(first)), std::string::npos);
  // Another function may read the same stream.
  EXPECT_TRUE(mappings
                  ->create(json::object{{"EventSourceArn", kStreamArn},
                                        {"FunctionName", "other"},
                                        {"StartingPosition", "LATEST"}},
                           scope)
                  .ok());
}

// Records reach the function in stream order, at most BatchSize per event,
// in Lambda's DynamoDB event shape; each batch's checkpoint is stored.
TEST_F(EventSourceMappingsTest, DeliversRecordsInOrderInBatches) {
  for (auto k : {"a", "b", "c", "d", "e"}) stream.put("INSERT", k);
  stream.put("REMOVE", "f", /*by_ttl=*/true);
  auto m = create({{"BatchSize", 2}});
  run_for(100ms);
  EXPECT_EQ(function.batches(), (Batches{{"a", "b"}, {"c", "d"}, {"e", "f"}}));
  const auto& record = function.calls[0].event.at("Records").as_array()[0].as_object();
  EXPECT_EQ(record.at("eventSourceARN").as_string(), kStreamArn);
  EXPECT_EQ(record.at("eventSource").as_string(), "aws:dynamodb");
  EXPECT_EQ(record.at("eventName").as_string(), "INSERT");
  EXPECT_EQ(record.at("dynamodb").at("Keys").at("id").at("S").as_string(), "a");
  const auto& ttl = function.calls[2].event.at("Records").as_array()[1].as_object();
  EXPECT_EQ(ttl.at("userIdentity"),
            json::parse(R"({"principalId":"dynamodb.amazonaws.com","type":"Service"})"));
  EXPECT_EQ(function.calls[0].function_arn, kFn);
  EXPECT_EQ(stored_checkpoint(uuid_of(m)), sequence_text(1042));
  EXPECT_EQ(last_result(uuid_of(m)), "OK");
  // New records are picked up by the idle poll.
  stream.put("MODIFY", "a");
  run_for(300ms);
  EXPECT_EQ(function.batches().back(), (std::vector<std::string>{"a"}));
}

// LATEST starts at the stream's end when the mapping is created.
TEST_F(EventSourceMappingsTest, LatestSkipsEarlierRecords) {
  stream.put("INSERT", "before");
  create({{"StartingPosition", "LATEST"}});
  run_for(300ms);
  EXPECT_TRUE(function.calls.empty());
  stream.put("INSERT", "after");
  run_for(300ms);
  EXPECT_EQ(function.batches(), (Batches{{"after"}}));
}

// A function error: the same batch again (nothing newer overtakes it), the
// checkpoint stays until it succeeds, LastProcessingResult says so.
TEST_F(EventSourceMappingsTest, RetriesAFailedBatchUntilItSucceeds) {
  stream.put("INSERT", "a");
  stream.put("INSERT", "b");
  int failures = 2;
  function.behaviour = [&](const FakeFunction::Call&) {
    return failures-- > 0 ? FakeFunction::Answer::kError : FakeFunction::Answer::kOk;
  };
  auto uuid = uuid_of(create());
  drain();
  EXPECT_EQ(function.calls.size(), 1u);
  EXPECT_EQ(last_result(uuid), "PROBLEM: Function call failed");
  EXPECT_EQ(stored_checkpoint(uuid), "");
  stream.put("INSERT", "c");  // arrives during the retries: not in the retried batch
  run_for(2s);
  EXPECT_EQ(function.batches(), (Batches{{"a", "b"}, {"a", "b"}, {"a", "b"}, {"c"}}));
  EXPECT_EQ(last_result(uuid), "OK");
  EXPECT_EQ(stored_checkpoint(uuid), sequence_text(1021));
}

// MaximumRetryAttempts exhausted: the batch is skipped, the next one goes.
TEST_F(EventSourceMappingsTest, SkipsABatchAfterMaximumRetryAttempts) {
  stream.put("INSERT", "poison");
  function.behaviour = [](const FakeFunction::Call& c) {
    return c.keys()[0] == "poison" ? FakeFunction::Answer::kError : FakeFunction::Answer::kOk;
  };
  auto uuid = uuid_of(create({{"MaximumRetryAttempts", 2}}));
  run_for(5s);
  stream.put("INSERT", "next");
  run_for(1s);
  EXPECT_EQ(function.batches(), (Batches{{"poison"}, {"poison"}, {"poison"}, {"next"}}));
  EXPECT_EQ(last_result(uuid), "OK");
}

// BisectBatchOnFunctionError: a failing batch is split in two and each half
// retried on its own, so one bad record does not hold back the others.
TEST_F(EventSourceMappingsTest, BisectsAFailingBatch) {
  for (auto k : {"a", "b", "c", "d"}) stream.put("INSERT", k);
  function.behaviour = [](const FakeFunction::Call& c) {
    auto keys = c.keys();
    return std::find(keys.begin(), keys.end(), "c") != keys.end() ? FakeFunction::Answer::kError
                                                                  : FakeFunction::Answer::kOk;
  };
  create({{"BisectBatchOnFunctionError", true}, {"MaximumRetryAttempts", 0}});
  run_for(3s);
  EXPECT_EQ(function.batches(),
            (Batches{{"a", "b", "c", "d"}, {"a", "b"}, {"c", "d"}, {"c"}, {"d"}}));
}

// ReportBatchItemFailures: the checkpoint moves to just before the first
// failed record and the retry starts there.
TEST_F(EventSourceMappingsTest, ReportBatchItemFailuresRetriesFromTheFailedRecord) {
  for (auto k : {"a", "b", "c", "d"}) stream.put("INSERT", k);
  function.response = [](const FakeFunction::Call& c) -> std::string {
    const auto& records = c.event.at("Records").as_array();
    if (c.keys()[0] != "a") return R"({"batchItemFailures":[]})";
    auto seq = [&](int i) {
      return std::string(records[i].at("dynamodb").at("SequenceNumber").as_string());
    };
    return R"({"batchItemFailures":[{"itemIdentifier":")" + seq(3) + R"("},{"itemIdentifier":")" +
           seq(2) + R"("}]})";
  };
  auto uuid = uuid_of(create({{"FunctionResponseTypes", json::array{"ReportBatchItemFailures"}}}));
  drain();
  EXPECT_EQ(stored_checkpoint(uuid), sequence_text(1014));  // "b"
  run_for(1s);
  EXPECT_EQ(function.batches(), (Batches{{"a", "b", "c", "d"}, {"c", "d"}}));
  EXPECT_EQ(stored_checkpoint(uuid), sequence_text(1028));
  EXPECT_EQ(mappings->get(uuid)->at("FunctionResponseTypes"),
            json::array{"ReportBatchItemFailures"});
}

// An itemIdentifier that is not in the batch fails the whole batch.
TEST_F(EventSourceMappingsTest, InvalidBatchItemFailuresFailTheBatch) {
  stream.put("INSERT", "a");
  int calls = 0;
  function.response = [&](const FakeFunction::Call&) -> std::string {
    return calls++ == 0 ? R"({"batchItemFailures":[{"itemIdentifier":"nope"}]})" : "{}";
  };
  create({{"FunctionResponseTypes", json::array{"ReportBatchItemFailures"}}});
  run_for(1s);
  EXPECT_EQ(function.batches(), (Batches{{"a"}, {"a"}}));
}

// After a restart the mapping goes on from its stored checkpoint: what was
// processed is not sent again, the batch in flight at the crash is.
TEST_F(EventSourceMappingsTest, ResumesFromTheCheckpointAfterARestart) {
  stream.put("INSERT", "a");
  auto uuid = uuid_of(create({{"BatchSize", 1}}));
  drain();
  function.behaviour = [](const FakeFunction::Call&) { return FakeFunction::Answer::kHold; };
  stream.put("INSERT", "b");  // in flight when the process dies
  run_for(300ms);
  EXPECT_EQ(function.batches(), (Batches{{"a"}, {"b"}}));
  restart();
  function.behaviour = [](const FakeFunction::Call&) { return FakeFunction::Answer::kOk; };
  stream.put("INSERT", "c");
  run_for(300ms);
  EXPECT_EQ(function.batches(), (Batches{{"a"}, {"b"}, {"b"}, {"c"}}));
  EXPECT_EQ(mappings->get(uuid)->at("LastProcessingResult").as_string(), "OK");
}

// A LATEST mapping's creation-time iterator expires while the server is
// down: the records written since the mapping was created still come.
TEST_F(EventSourceMappingsTest, ExpiredLatestIteratorStillDeliversRecordsSinceCreation) {
  stream.put("INSERT", "before");
  clock.advance(2s);
  create({{"StartingPosition", "LATEST"}});
  mappings.reset();  // down before the first poll
  tasks.clear();
  stream.put("INSERT", "while-down");
  clock.advance(20min);
  start();
  run_for(300ms);
  EXPECT_EQ(function.batches(), (Batches{{"while-down"}}));
}

// Throttles never reached the function: they use no retry attempt.
TEST_F(EventSourceMappingsTest, ThrottlesAreRetriedWithoutUsingAttempts) {
  stream.put("INSERT", "a");
  int throttles = 3;
  function.behaviour = [&](const FakeFunction::Call&) {
    return throttles-- > 0 ? FakeFunction::Answer::kThrottle : FakeFunction::Answer::kOk;
  };
  auto uuid = uuid_of(create({{"MaximumRetryAttempts", 0}}));
  run_for(3s);
  EXPECT_EQ(function.calls.size(), 4u);
  EXPECT_EQ(last_result(uuid), "OK");
}

// A deleted function: its mapping stays and its invokes fail (as on
// Lambda) without losing the records; a function of that name gets them.
TEST_F(EventSourceMappingsTest, MissingFunctionFailsInvokesUntilItIsBack) {
  stream.put("INSERT", "a");
  bool gone = true;
  function.behaviour = [&](const FakeFunction::Call&) {
    return gone ? FakeFunction::Answer::kNotFound : FakeFunction::Answer::kOk;
  };
  auto uuid = uuid_of(create({{"MaximumRetryAttempts", 0}}));
  run_for(5s);
  EXPECT_GE(function.calls.size(), 2u);  // retried: the batch never reached a function
  EXPECT_EQ(last_result(uuid), "PROBLEM: Function call failed");
  EXPECT_EQ(stored_checkpoint(uuid), "");
  gone = false;
  run_for(3s);
  EXPECT_EQ(function.batches().back(), (std::vector<std::string>{"a"}));
  EXPECT_EQ(last_result(uuid), "OK");
}

// MaximumRecordAgeInSeconds: older records are skipped, not sent.
TEST_F(EventSourceMappingsTest, SkipsRecordsOlderThanMaximumRecordAge) {
  stream.put("INSERT", "old");
  clock.advance(2min);
  stream.put("INSERT", "fresh");
  create({{"MaximumRecordAgeInSeconds", 60}});
  run_for(100ms);
  EXPECT_EQ(function.batches(), (Batches{{"fresh"}}));
}

// MaximumBatchingWindowInSeconds: records are gathered until the window
// closes or the batch is full.
TEST_F(EventSourceMappingsTest, BatchingWindowGathersAFullerBatch) {
  create({{"MaximumBatchingWindowInSeconds", 2}, {"BatchSize", 3}});
  stream.put("INSERT", "a");
  run_for(1s);
  EXPECT_TRUE(function.calls.empty());
  stream.put("INSERT", "b");
  run_for(1500ms);
  EXPECT_EQ(function.batches(), (Batches{{"a", "b"}}));
  for (auto k : {"c", "d", "e"}) stream.put("INSERT", k);
  run_for(300ms);  // a full batch goes before the window closes
  EXPECT_EQ(function.batches().back(), (std::vector<std::string>{"c", "d", "e"}));
}

// Disabling stops the poller (no more reads); enabling resumes where it
// stopped; deleting answers Deleting and forgets the mapping and its key.
TEST_F(EventSourceMappingsTest, DisableStopsPollingAndDeleteForgets) {
  auto uuid = uuid_of(create());
  run_for(1s);
  auto disabled = mappings->update(uuid, json::object{{"Enabled", false}}, scope);
  ASSERT_TRUE(disabled.ok());
  EXPECT_EQ(disabled->at("State").as_string(), "Disabling");
  EXPECT_EQ(mappings->get(uuid)->at("State").as_string(), "Disabled");
  int reads = stream.get_records_calls();
  stream.put("INSERT", "a");
  run_for(2s);
  EXPECT_EQ(stream.get_records_calls(), reads);
  EXPECT_TRUE(function.calls.empty());
  auto enabled = mappings->update(uuid, json::object{{"Enabled", true}}, scope);
  EXPECT_EQ(enabled->at("State").as_string(), "Enabling");
  run_for(300ms);
  EXPECT_EQ(function.batches(), (Batches{{"a"}}));
  auto deleted = mappings->remove(uuid);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->at("State").as_string(), "Deleting");
  EXPECT_EQ(mappings->get(uuid).error().code, "ResourceNotFoundException");
  EXPECT_EQ(mappings->remove(uuid).error().code, "ResourceNotFoundException");
  EXPECT_TRUE(stored_keys().empty());
  reads = stream.get_records_calls();
  run_for(1s);
  EXPECT_EQ(stream.get_records_calls(), reads);
}

// A delete while an invocation runs: its late answer writes no checkpoint.
TEST_F(EventSourceMappingsTest, DeleteDuringAnInvocationLeavesNoKey) {
  stream.put("INSERT", "a");
  function.behaviour = [](const FakeFunction::Call&) { return FakeFunction::Answer::kHold; };
  auto uuid = uuid_of(create());
  drain();
  ASSERT_EQ(function.held.size(), 1u);
  ASSERT_TRUE(mappings->remove(uuid).ok());
  function.held[0](faas::InvokeResult{});
  run_for(500ms);
  EXPECT_TRUE(stored_keys().empty());
  EXPECT_EQ(function.calls.size(), 1u);
}

// UpdateEventSourceMapping changes settings (kept across restarts) and may
// move the mapping to another function, but not onto an existing pair.
TEST_F(EventSourceMappingsTest, UpdateChangesSettingsAndFunction) {
  auto uuid = uuid_of(create());
  auto updated = mappings->update(
      uuid, json::object{{"BatchSize", 7}, {"FunctionName", "other"}, {"MaximumRetryAttempts", 3}},
      scope);
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->at("State").as_string(), "Updating");
  EXPECT_EQ(updated->at("FunctionArn").as_string(), kOtherFn);
  restart();
  auto got = mappings->get(uuid);
  EXPECT_EQ(got->at("BatchSize").as_int64(), 7);
  EXPECT_EQ(got->at("MaximumRetryAttempts").as_int64(), 3);
  stream.put("INSERT", "a");
  run_for(300ms);
  ASSERT_EQ(function.calls.size(), 1u);
  EXPECT_EQ(function.calls[0].function_arn, kOtherFn);

  auto second = uuid_of(create());  // consumer again
  EXPECT_EQ(mappings->update(second, json::object{{"FunctionName", "other"}}, scope).error().code,
            "ResourceConflictException");
  EXPECT_EQ(mappings->update(uuid, json::object{{"BatchSize", 0}}, scope).error().code,
            "InvalidParameterValueException");
  EXPECT_EQ(mappings
                ->update(uuid, json::object{{"FilterCriteria", json::parse(R"({"Filters":[{}]})")}},
                         scope)
                .error()
                .code,
            "InvalidParameterValueException");
  EXPECT_EQ(mappings->update("no-such-uuid", json::object{}, scope).error().code,
            "ResourceNotFoundException");
}

// ListEventSourceMappings filters by source and function and pages.
TEST_F(EventSourceMappingsTest, ListFiltersAndPages) {
  auto a = uuid_of(create());
  clock.advance(1ms);
  auto b = uuid_of(create({{"FunctionName", "other"}}));
  auto all = mappings->list({}, {}, {}, {});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->at("EventSourceMappings").as_array().size(), 2u);
  EXPECT_EQ(all->at("EventSourceMappings").as_array()[0].at("UUID").as_string(), a);
  auto by_fn = mappings->list({}, "other", {}, {});
  ASSERT_EQ(by_fn->at("EventSourceMappings").as_array().size(), 1u);
  EXPECT_EQ(by_fn->at("EventSourceMappings").as_array()[0].at("UUID").as_string(), b);
  EXPECT_EQ(mappings->list("arn:aws:dynamodb:us-east-1:000000000000:table/x/stream/y", {}, {}, {})
                ->at("EventSourceMappings")
                .as_array()
                .size(),
            0u);
  auto page = mappings->list({}, {}, {}, "1");
  EXPECT_EQ(page->at("EventSourceMappings").as_array().size(), 1u);
  auto rest = mappings->list({}, {}, page->at("NextMarker").as_string(), "1");
  EXPECT_EQ(rest->at("EventSourceMappings").as_array()[0].at("UUID").as_string(), b);
  EXPECT_FALSE(rest->contains("NextMarker"));
}

// A disabled stream's shard ends; the mapping processes what it holds and
// stops reading.
TEST_F(EventSourceMappingsTest, ClosedShardIsProcessedToItsEnd) {
  stream.put("INSERT", "a");
  stream.close();
  create();
  run_for(100ms);
  EXPECT_EQ(function.batches(), (Batches{{"a"}}));
  int reads = stream.get_records_calls();
  run_for(2s);
  EXPECT_EQ(stream.get_records_calls(), reads);
}

}  // namespace
}  // namespace nimbus::services::lambda
