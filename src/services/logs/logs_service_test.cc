#include "services/logs/logs_service.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <filesystem>
#include <thread>

#include "base/ids.h"

namespace nimbus::services::logs {
namespace {

namespace json = boost::json;

struct Answer {
  int status = 0;
  std::string content_type;
  json::object body;
  std::string error_type() const {
    auto* t = body.if_contains("__type");
    return t ? std::string(t->get_string()) : "";
  }
};

class LogsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("nimbus-logs-" + random_hex(6));
    auto s = store::open_rocksdb(dir_.string());
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(s.value());
    svc_ = std::make_unique<LogsService>(*store_, clock_);
  }
  void TearDown() override {
    svc_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  Answer call(std::string_view op, std::string body) {
    aws::Call c;
    c.http.method = "POST";
    c.http.headers.set("X-Amz-Target", "Logs_20140328." + std::string(op));
    c.http.body = std::move(body);
    c.request_id = "req-1";
    Answer a;
    bool replied = false;
    c.reply = [&](http::Response r) {
      replied = true;
      a.status = r.status;
      a.content_type = r.headers.get_or("Content-Type");
      a.body = json::parse(r.body).as_object();
    };
    svc_->handle(std::move(c));
    EXPECT_TRUE(replied);
    return a;
  }
  Answer call(std::string_view op, const json::object& body) {
    return call(op, json::serialize(body));
  }
  json::object ok(std::string_view op, const json::object& body) {
    auto a = call(op, body);
    EXPECT_EQ(a.status, 200) << op << ": " << json::serialize(a.body);
    return a.body;
  }
  void put(std::string_view group, std::string_view stream,
           std::vector<std::pair<int64_t, std::string>> events) {
    json::array arr;
    for (auto& [ts, m] : events) arr.push_back(json::object{{"timestamp", ts}, {"message", m}});
    ok("PutLogEvents", {{"logGroupName", group}, {"logStreamName", stream}, {"logEvents", arr}});
  }
  static std::vector<std::string> messages(const json::object& o) {
    std::vector<std::string> out;
    for (const auto& e : o.at("events").as_array()) {
      out.emplace_back(e.at("message").as_string());
    }
    return out;
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  ManualClock clock_;
  std::unique_ptr<LogsService> svc_;
  const int64_t t0_ = clock_.wall_ms();
};

TEST_F(LogsServiceTest, CreateDescribeDeleteGroups) {
  auto a = call("CreateLogGroup", {{"logGroupName", "/app/one"}});
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.content_type, "application/x-amz-json-1.1");
  ok("CreateLogGroup", {{"logGroupName", "/app/two"}});
  ok("CreateLogGroup", {{"logGroupName", "/other"}});
  EXPECT_EQ(call("CreateLogGroup", {{"logGroupName", "/app/one"}}).error_type(),
            "ResourceAlreadyExistsException");
  EXPECT_EQ(call("CreateLogGroup", {{"logGroupName", "bad name"}}).error_type(),
            "InvalidParameterException");

  auto d = ok("DescribeLogGroups", {{"logGroupNamePrefix", "/app/"}});
  auto& groups = d.at("logGroups").as_array();
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].at("logGroupName"), "/app/one");
  EXPECT_EQ(groups[0].at("arn"), "arn:aws:logs:us-east-1:000000000000:log-group:/app/one:*");
  EXPECT_EQ(groups[0].at("creationTime").as_int64(), t0_);

  ok("DeleteLogGroup", {{"logGroupName", "/app/one"}});
  auto del = call("DeleteLogGroup", {{"logGroupName", "/app/one"}});
  EXPECT_EQ(del.error_type(), "ResourceNotFoundException");
  EXPECT_EQ(del.body.at("message"), "The specified log group does not exist.");
  EXPECT_EQ(ok("DescribeLogGroups", {}).at("logGroups").as_array().size(), 2u);
}

TEST_F(LogsServiceTest, DescribeLogGroupsPaginates) {
  for (int i = 0; i < 7; ++i) ok("CreateLogGroup", {{"logGroupName", "g" + std::to_string(i)}});
  std::vector<std::string> seen;
  json::object req{{"limit", 3}};
  for (int pages = 0; pages < 10; ++pages) {
    auto page = ok("DescribeLogGroups", req);
    for (auto& g : page.at("logGroups").as_array())
      seen.emplace_back(g.at("logGroupName").as_string());
    if (!page.contains("nextToken")) break;
    req["nextToken"] = page.at("nextToken");
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"g0", "g1", "g2", "g3", "g4", "g5", "g6"}));
  EXPECT_EQ(call("DescribeLogGroups", {{"limit", 0}}).error_type(), "InvalidParameterException");
  EXPECT_EQ(call("DescribeLogGroups", {{"nextToken", "!!"}}).error_type(),
            "InvalidParameterException");
}

TEST_F(LogsServiceTest, StreamsRequireGroupAndDescribeOrders) {
  auto missing = call("CreateLogStream", {{"logGroupName", "g"}, {"logStreamName", "s"}});
  EXPECT_EQ(missing.error_type(), "ResourceNotFoundException");
  ok("CreateLogGroup", {{"logGroupName", "g"}});
  for (auto s : {"b", "a", "c"})
    ok("CreateLogStream", {{"logGroupName", "g"}, {"logStreamName", s}});
  EXPECT_EQ(call("CreateLogStream", {{"logGroupName", "g"}, {"logStreamName", "a"}}).error_type(),
            "ResourceAlreadyExistsException");
  put("g", "c", {{t0_ - 3000, "old"}});
  put("g", "a", {{t0_ - 1000, "new"}});
  put("g", "b", {{t0_ - 2000, "mid"}});

  auto names = [](const json::object& o) {
    std::vector<std::string> out;
    for (auto& s : o.at("logStreams").as_array())
      out.emplace_back(s.at("logStreamName").as_string());
    return out;
  };
  EXPECT_EQ(names(ok("DescribeLogStreams", {{"logGroupName", "g"}})),
            (std::vector<std::string>{"a", "b", "c"}));
  auto by_time = ok("DescribeLogStreams",
                    {{"logGroupName", "g"}, {"orderBy", "LastEventTime"}, {"descending", true}});
  EXPECT_EQ(names(by_time), (std::vector<std::string>{"a", "b", "c"}));
  auto& a = by_time.at("logStreams").as_array()[0].as_object();
  EXPECT_EQ(a.at("lastEventTimestamp").as_int64(), t0_ - 1000);
  EXPECT_EQ(a.at("firstEventTimestamp").as_int64(), t0_ - 1000);
  EXPECT_EQ(a.at("arn"), "arn:aws:logs:us-east-1:000000000000:log-group:g:log-stream:a");

  // Paging a descending listing, one stream per page.
  std::vector<std::string> seen;
  json::object req{{"logGroupName", "g"}, {"descending", true}, {"limit", 1}};
  for (int i = 0; i < 5; ++i) {
    auto page = ok("DescribeLogStreams", req);
    for (auto& n : names(page)) seen.push_back(n);
    if (!page.contains("nextToken")) break;
    req["nextToken"] = page.at("nextToken");
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"c", "b", "a"}));
  EXPECT_EQ(names(ok("DescribeLogStreams", {{"logGroupName", "g"}, {"logStreamNamePrefix", "b"}})),
            (std::vector<std::string>{"b"}));
  EXPECT_EQ(
      call("DescribeLogStreams",
           {{"logGroupName", "g"}, {"logStreamNamePrefix", "b"}, {"orderBy", "LastEventTime"}})
          .error_type(),
      "InvalidParameterException");

  ok("DeleteLogStream", {{"logGroupName", "g"}, {"logStreamName", "a"}});
  auto gone = call("GetLogEvents", {{"logGroupName", "g"}, {"logStreamName", "a"}});
  EXPECT_EQ(gone.error_type(), "ResourceNotFoundException");
  EXPECT_EQ(gone.body.at("message"), "The specified log stream does not exist.");
}

TEST_F(LogsServiceTest, PutLogEventsValidatesAndRejectsOutOfRange) {
  ok("CreateLogGroup", {{"logGroupName", "g"}});
  ok("CreateLogStream", {{"logGroupName", "g"}, {"logStreamName", "s"}});
  json::array unordered{json::object{{"timestamp", t0_}, {"message", "b"}},
                        json::object{{"timestamp", t0_ - 1}, {"message", "a"}}};
  auto bad = call("PutLogEvents",
                  {{"logGroupName", "g"}, {"logStreamName", "s"}, {"logEvents", unordered}});
  EXPECT_EQ(bad.error_type(), "InvalidParameterException");
  EXPECT_EQ(bad.body.at("message"),
            "Log events in a single PutLogEvents request must be in chronological order.");
  EXPECT_EQ(call("PutLogEvents",
                 {{"logGroupName", "g"},
                  {"logStreamName", "nope"},
                  {"logEvents", json::array{json::object{{"timestamp", t0_}, {"message", "x"}}}}})
                .error_type(),
            "ResourceNotFoundException");

  const int64_t day = 86'400'000;
  json::array mixed{json::object{{"timestamp", t0_ - 15 * day}, {"message", "ancient"}},
                    json::object{{"timestamp", t0_}, {"message", "now"}},
                    json::object{{"timestamp", t0_ + 3 * 3'600'000}, {"message", "future"}}};
  // Spans more than 24 hours: rejected as a whole.
  EXPECT_EQ(
      call("PutLogEvents", {{"logGroupName", "g"}, {"logStreamName", "s"}, {"logEvents", mixed}})
          .error_type(),
      "InvalidParameterException");
  json::array edge{json::object{{"timestamp", t0_}, {"message", "now"}},
                   json::object{{"timestamp", t0_ + 3 * 3'600'000}, {"message", "future"}}};
  auto r = ok("PutLogEvents", {{"logGroupName", "g"}, {"logStreamName", "s"}, {"logEvents", edge}});
  EXPECT_TRUE(r.contains("nextSequenceToken"));
  EXPECT_EQ(r.at("rejectedLogEventsInfo").at("tooNewLogEventStartIndex").as_int64(), 1);
  auto got = ok("GetLogEvents", {{"logGroupName", "g"}, {"logStreamName", "s"}});
  EXPECT_EQ(messages(got), (std::vector<std::string>{"now"}));
}

TEST_F(LogsServiceTest, GetLogEventsOrdersAndPagesBothWays) {
  ok("CreateLogGroup", {{"logGroupName", "g"}});
  ok("CreateLogStream", {{"logGroupName", "g"}, {"logStreamName", "s"}});
  // Two batches whose timestamps interleave: reads come back in timestamp order.
  put("g", "s", {{t0_ + 1, "e1"}, {t0_ + 3, "e3"}, {t0_ + 5, "e5"}});
  put("g", "s", {{t0_ + 2, "e2"}, {t0_ + 3, "e3b"}, {t0_ + 4, "e4"}});
  json::object base{{"logGroupName", "g"}, {"logStreamName", "s"}};

  auto all = ok("GetLogEvents", base);
  EXPECT_EQ(messages(all), (std::vector<std::string>{"e1", "e2", "e3", "e3b", "e4", "e5"}));
  EXPECT_EQ(all.at("events").as_array()[0].at("ingestionTime").as_int64(), t0_);

  // Default direction returns the newest `limit` events.
  auto tail = base;
  tail["limit"] = 2;
  EXPECT_EQ(messages(ok("GetLogEvents", tail)), (std::vector<std::string>{"e4", "e5"}));

  // Forward paging from the head until the token repeats.
  auto req = base;
  req["startFromHead"] = true;
  req["limit"] = 4;
  std::vector<std::string> seen;
  std::string prev;
  for (int i = 0; i < 5; ++i) {
    auto page = ok("GetLogEvents", req);
    for (auto& m : messages(page)) seen.push_back(m);
    std::string next(page.at("nextForwardToken").as_string());
    if (next == prev) break;
    prev = next;
    req["nextToken"] = next;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"e1", "e2", "e3", "e3b", "e4", "e5"}));

  // Backward paging from the tail.
  auto back = base;
  back["limit"] = 4;
  auto p1 = ok("GetLogEvents", back);
  EXPECT_EQ(messages(p1), (std::vector<std::string>{"e3", "e3b", "e4", "e5"}));
  back["nextToken"] = p1.at("nextBackwardToken");
  auto p2 = ok("GetLogEvents", back);
  EXPECT_EQ(messages(p2), (std::vector<std::string>{"e1", "e2"}));
  back["nextToken"] = p2.at("nextBackwardToken");
  auto p3 = ok("GetLogEvents", back);
  EXPECT_TRUE(messages(p3).empty());
  EXPECT_EQ(p3.at("nextBackwardToken"), p2.at("nextBackwardToken"));

  // Time window: startTime inclusive, endTime exclusive.
  auto window = base;
  window["startTime"] = t0_ + 2;
  window["endTime"] = t0_ + 4;
  EXPECT_EQ(messages(ok("GetLogEvents", window)), (std::vector<std::string>{"e2", "e3", "e3b"}));

  // A forward token from a tail read picks up events written later.
  auto poll = base;
  poll["nextToken"] = all.at("nextForwardToken");
  EXPECT_TRUE(messages(ok("GetLogEvents", poll)).empty());
  put("g", "s", {{t0_ + 6, "e6"}});
  EXPECT_EQ(messages(ok("GetLogEvents", poll)), (std::vector<std::string>{"e6"}));

  auto bad = base;
  bad["nextToken"] = "zzz";
  EXPECT_EQ(call("GetLogEvents", bad).error_type(), "InvalidParameterException");
}

TEST_F(LogsServiceTest, FilterLogEventsMergesStreamsAndMatchesTerms) {
  ok("CreateLogGroup", {{"logGroupName", "g"}});
  for (auto s : {"s1", "s2"}) ok("CreateLogStream", {{"logGroupName", "g"}, {"logStreamName", s}});
  put("g", "s1", {{t0_ + 1, "ERROR disk full"}, {t0_ + 4, "INFO ok"}});
  put("g", "s2", {{t0_ + 2, "ERROR net down"}, {t0_ + 3, "WARN slow \"disk\""}});

  auto filter = [&](json::object extra) {
    json::object req{{"logGroupName", "g"}};
    for (auto& kv : extra) req[kv.key()] = kv.value();
    return ok("FilterLogEvents", req);
  };
  auto all = filter({});
  EXPECT_EQ(messages(all), (std::vector<std::string>{"ERROR disk full", "ERROR net down",
                                                     "WARN slow \"disk\"", "INFO ok"}));
  auto& first = all.at("events").as_array()[0].as_object();
  EXPECT_EQ(first.at("logStreamName"), "s1");
  EXPECT_FALSE(first.at("eventId").as_string().empty());
  EXPECT_FALSE(all.contains("nextToken"));

  EXPECT_EQ(messages(filter({{"filterPattern", "ERROR disk"}})),
            (std::vector<std::string>{"ERROR disk full"}));
  EXPECT_EQ(messages(filter({{"filterPattern", "\"net down\""}})),
            (std::vector<std::string>{"ERROR net down"}));
  EXPECT_EQ(messages(filter({{"filterPattern", "?WARN ?INFO"}})),
            (std::vector<std::string>{"WARN slow \"disk\"", "INFO ok"}));
  EXPECT_EQ(messages(filter({{"filterPattern", "ERROR -disk"}})),
            (std::vector<std::string>{"ERROR net down"}));
  EXPECT_EQ(messages(filter({{"filterPattern", "\"\\\"disk\\\"\""}})),
            (std::vector<std::string>{"WARN slow \"disk\""}));
  EXPECT_EQ(call("FilterLogEvents", {{"logGroupName", "g"}, {"filterPattern", "{ $.a = 1 }"}})
                .error_type(),
            "InvalidParameterException");
  EXPECT_EQ(messages(filter({{"logStreamNames", json::array{"s2"}}})),
            (std::vector<std::string>{"ERROR net down", "WARN slow \"disk\""}));
  EXPECT_EQ(messages(filter({{"startTime", t0_ + 2}, {"endTime", t0_ + 4}})),
            (std::vector<std::string>{"ERROR net down", "WARN slow \"disk\""}));

  // Pagination as the CLI paginator does it: follow nextToken until absent.
  json::object req{{"logGroupName", "g"}, {"limit", 1}, {"interleaved", true}};
  std::vector<std::string> seen;
  for (int i = 0; i < 10; ++i) {
    auto page = ok("FilterLogEvents", req);
    for (auto& m : messages(page)) seen.push_back(m);
    if (!page.contains("nextToken")) break;
    EXPECT_NE(req["nextToken"], page.at("nextToken"));
    req["nextToken"] = page.at("nextToken");
  }
  EXPECT_EQ(seen, messages(all));
  EXPECT_EQ(call("FilterLogEvents", {{"logGroupName", "missing"}}).error_type(),
            "ResourceNotFoundException");
}

TEST_F(LogsServiceTest, AppendCreatesGroupAndStream) {
  std::vector<faas::LogEvent> lines{{t0_, "START RequestId: 1"}, {t0_ + 1, "END RequestId: 1"}};
  svc_->append("/aws/lambda/fn", "2024/01/01/[$LATEST]abc", lines);
  auto groups = ok("DescribeLogGroups", {});
  ASSERT_EQ(groups.at("logGroups").as_array().size(), 1u);
  EXPECT_EQ(groups.at("logGroups").as_array()[0].at("logGroupName"), "/aws/lambda/fn");
  auto streams = ok("DescribeLogStreams", {{"logGroupName", "/aws/lambda/fn"}});
  auto& s = streams.at("logStreams").as_array()[0].as_object();
  EXPECT_EQ(s.at("logStreamName"), "2024/01/01/[$LATEST]abc");
  EXPECT_EQ(s.at("lastEventTimestamp").as_int64(), t0_ + 1);

  // Metadata is cached: a second append shows in DescribeLogStreams at once, and
  // is in the store after flush() for a fresh service instance.
  clock_.advance(std::chrono::seconds(1));
  std::vector<faas::LogEvent> more{{t0_ + 1000, "REPORT RequestId: 1"}};
  svc_->append("/aws/lambda/fn", "2024/01/01/[$LATEST]abc", more);
  auto again = ok("DescribeLogStreams", {{"logGroupName", "/aws/lambda/fn"}});
  EXPECT_EQ(again.at("logStreams").as_array()[0].at("lastEventTimestamp").as_int64(), t0_ + 1000);
  svc_->flush();
  svc_ = std::make_unique<LogsService>(*store_, clock_);
  auto reopened = ok("DescribeLogStreams", {{"logGroupName", "/aws/lambda/fn"}});
  EXPECT_EQ(reopened.at("logStreams").as_array()[0].at("lastEventTimestamp").as_int64(),
            t0_ + 1000);
  auto events = ok("FilterLogEvents", {{"logGroupName", "/aws/lambda/fn"}});
  EXPECT_EQ(messages(events), (std::vector<std::string>{"START RequestId: 1", "END RequestId: 1",
                                                        "REPORT RequestId: 1"}));
  // A restarted service never reuses an event position (same ms, same stream).
  std::vector<faas::LogEvent> dup{{t0_, "START RequestId: 2"}};
  svc_->append("/aws/lambda/fn", "2024/01/01/[$LATEST]abc", dup);
  EXPECT_EQ(messages(ok("FilterLogEvents", {{"logGroupName", "/aws/lambda/fn"}})).size(), 4u);
}

// Function output is stored as one block of records per stream per flush
// (logs_util.h); reads must still see single events: pages that end inside a
// block resume after the right line, in both directions and in FilterLogEvents,
// whatever block boundaries the flushes made.
TEST_F(LogsServiceTest, PagesThroughBlocksOfFunctionOutput) {
  const std::string group = "/aws/lambda/fn", stream = "2024/01/01/[$LATEST]abc";
  std::vector<std::string> want;
  for (int batch = 0; batch < 3; ++batch) {
    std::vector<faas::LogEvent> lines;
    for (int i = 0; i < 5; ++i) {
      want.push_back("line " + std::to_string(batch * 5 + i));
      lines.push_back({t0_ + batch * 10 + i, want.back()});
    }
    svc_->append(group, stream, lines);
    if (batch == 1) ok("DescribeLogGroups", {});  // an API call writes the open block
  }
  // Every page of `op` until its token stops moving; `backward` pages come
  // newest first, so each goes in front of the ones before.
  auto all_pages = [&](std::string_view op, json::object req, std::string_view token,
                       bool backward = false) {
    std::vector<std::string> out;
    for (int i = 0; i < 20; ++i) {
      auto page = ok(op, req);
      auto got = messages(page);
      out.insert(backward ? out.begin() : out.end(), got.begin(), got.end());
      if (got.empty() || !page.contains(token)) break;
      req["nextToken"] = page.at(token);
    }
    return out;
  };
  EXPECT_EQ(all_pages("GetLogEvents",
                      {{"logGroupName", group},
                       {"logStreamName", stream},
                       {"startFromHead", true},
                       {"limit", 2}},
                      "nextForwardToken"),
            want);
  EXPECT_EQ(
      all_pages("GetLogEvents", {{"logGroupName", group}, {"logStreamName", stream}, {"limit", 3}},
                "nextBackwardToken", /*backward=*/true),
      want);
  EXPECT_EQ(
      all_pages("FilterLogEvents",
                {{"logGroupName", group}, {"filterPattern", "line"}, {"limit", 4}}, "nextToken"),
      want);

  // A time range cuts inside a block: [t0+12, t0+22) is lines 7..9 and 10..11.
  auto range = ok("GetLogEvents", {{"logGroupName", group},
                                   {"logStreamName", stream},
                                   {"startTime", t0_ + 12},
                                   {"endTime", t0_ + 22},
                                   {"startFromHead", true}});
  EXPECT_EQ(messages(range),
            (std::vector<std::string>{"line 7", "line 8", "line 9", "line 10", "line 11"}));
}

// A function's lines keep their order when the wall clock steps back: the
// stream's blocks may not overlap, so such a line is stamped with the stream's
// latest time rather than moved before its predecessors.
TEST_F(LogsServiceTest, ClockSteppingBackKeepsAStreamsLinesInOrder) {
  std::vector<faas::LogEvent> first{{t0_ + 100, "before the step"}};
  svc_->append("/aws/lambda/fn", "s", first);
  ok("DescribeLogGroups", {});  // stored as its own block
  std::vector<faas::LogEvent> second{{t0_ + 50, "after the step"}};
  svc_->append("/aws/lambda/fn", "s", second);
  auto got =
      ok("GetLogEvents",
         {{"logGroupName", "/aws/lambda/fn"}, {"logStreamName", "s"}, {"startFromHead", true}});
  EXPECT_EQ(messages(got), (std::vector<std::string>{"before the step", "after the step"}));
  EXPECT_EQ(got.at("events").as_array()[1].at("timestamp").as_int64(), t0_ + 100);
}

TEST(LogRecords, RoundTripAndRejectMalformedValues) {
  std::string value;
  append_record(value, position(5, 7), 1234, "hello: world");
  append_record(value, position(6, 8), 99, "");
  std::string_view rest = value;
  auto a = take_record(rest);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->pos, position(5, 7));
  EXPECT_EQ(a->ingestion_ms, 1234);
  EXPECT_EQ(a->message, "hello: world");
  auto b = take_record(rest);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->message, "");
  EXPECT_FALSE(take_record(rest));
  // A length past the end, a missing separator or a short position stop the scan.
  for (std::string bad : {position(1, 1) + "5:99:abc", position(1, 1) + "5", std::string("123")}) {
    std::string_view r = bad;
    EXPECT_FALSE(take_record(r)) << bad;
    EXPECT_TRUE(r.empty());
  }
}

TEST_F(LogsServiceTest, ConcurrentAppendsLoseNoLines) {
  constexpr int kThreads = 8, kPerThread = 250;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::vector<faas::LogEvent> line{
            {t0_ + i, "t" + std::to_string(t) + " " + std::to_string(i)}};
        // Half the threads share one stream, so same-millisecond lines collide on time.
        svc_->append("/aws/lambda/fn", t % 2 ? "shared" : "own" + std::to_string(t), line);
      }
    });
  }
  for (auto& th : threads) th.join();
  size_t total = 0;
  json::object req{{"logGroupName", "/aws/lambda/fn"}};
  for (int i = 0; i < 10; ++i) {
    auto page = ok("FilterLogEvents", req);
    total += page.at("events").as_array().size();
    if (!page.contains("nextToken")) break;
    req["nextToken"] = page.at("nextToken");
  }
  EXPECT_EQ(total, static_cast<size_t>(kThreads * kPerThread));
  auto shared = ok(
      "GetLogEvents",
      {{"logGroupName", "/aws/lambda/fn"}, {"logStreamName", "shared"}, {"startFromHead", true}});
  EXPECT_EQ(shared.at("events").as_array().size(), static_cast<size_t>(kThreads / 2 * kPerThread));
}

TEST_F(LogsServiceTest, RetentionHidesExpiredEventsAndTagsRoundTrip) {
  ok("CreateLogGroup", {{"logGroupName", "g"}, {"tags", {{"team", "a"}}}});
  ok("CreateLogStream", {{"logGroupName", "g"}, {"logStreamName", "s"}});
  put("g", "s", {{t0_ - 2 * 86'400'000, "two days old"}});
  put("g", "s", {{t0_, "fresh"}});
  EXPECT_EQ(
      call("PutRetentionPolicy", {{"logGroupName", "g"}, {"retentionInDays", 2}}).error_type(),
      "InvalidParameterException");
  ok("PutRetentionPolicy", {{"logGroupName", "g"}, {"retentionInDays", 1}});
  EXPECT_EQ(ok("DescribeLogGroups", {}).at("logGroups").as_array()[0].at("retentionInDays"), 1);
  EXPECT_EQ(messages(ok("FilterLogEvents", {{"logGroupName", "g"}})),
            (std::vector<std::string>{"fresh"}));
  ok("DeleteRetentionPolicy", {{"logGroupName", "g"}});
  EXPECT_FALSE(ok("DescribeLogGroups", {})
                   .at("logGroups")
                   .as_array()[0]
                   .as_object()
                   .contains("retentionInDays"));
  EXPECT_EQ(messages(ok("FilterLogEvents", {{"logGroupName", "g"}})).size(), 2u);

  ok("TagLogGroup", {{"logGroupName", "g"}, {"tags", {{"env", "dev"}}}});
  ok("UntagResource", {{"resourceArn", "arn:aws:logs:us-east-1:000000000000:log-group:g"},
                       {"tagKeys", json::array{"team"}}});
  auto tags = ok("ListTagsForResource",
                 {{"resourceArn", "arn:aws:logs:us-east-1:000000000000:log-group:g:*"}});
  EXPECT_EQ(json::serialize(tags.at("tags")), R"({"env":"dev"})");
}

TEST_F(LogsServiceTest, ProtocolErrorsAndReset) {
  auto unknown = call("NoSuchThing", std::string("{}"));
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(unknown.error_type(), "UnknownOperationException");
  auto malformed = call("DescribeLogGroups", std::string("{not json"));
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(malformed.error_type(), "SerializationException");
  EXPECT_EQ(call("CreateLogGroup", {{"logGroupName", 5}}).error_type(), "SerializationException");
  EXPECT_EQ(call("CreateLogGroup", json::object{}).error_type(), "InvalidParameterException");

  std::vector<faas::LogEvent> line{{t0_, "x"}};
  svc_->append("/aws/lambda/fn", "s", line);
  svc_->reset();
  EXPECT_TRUE(ok("DescribeLogGroups", {}).at("logGroups").as_array().empty());
  EXPECT_TRUE(store_->scan("logs/").empty());
  // Appends after reset recreate the group (the cache was wiped with the store).
  svc_->append("/aws/lambda/fn", "s", line);
  EXPECT_EQ(ok("DescribeLogGroups", {}).at("logGroups").as_array().size(), 1u);
}

}  // namespace
}  // namespace nimbus::services::logs
