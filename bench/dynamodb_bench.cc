// DynamoDB inside the server (issue 4: "GetItem p50 under 100 µs inside the
// server"): the service's own work per call, without the client, the socket,
// the HTTP parser or the hop to the worker pool. A real DynamoDbService on a
// real RocksDB store (store::open_rocksdb, every write synced) in a temp dir;
// each iteration builds one aws::Call (as the edge router hands it over) and
// runs DynamoDbService::handle(), which answers inline for these operations.
//
//   build/bench/nimbus_dynamodb_bench                      # 10k and 100k items
//   NIMBUS_DDB_BENCH_ITEMS=10000,1000000 build/bench/nimbus_dynamodb_bench
//   TMPDIR=/somewhere/on/disk ...                          # where the store lives
//
// Benchmarks (the table: pk S HASH, sk N RANGE, 100-byte string attribute v;
// the same items as bench/dynamodb_loadgen.cc loads):
//   GetItem/ITEMS        a uniformly random loaded key
//   GetItemEdge/ITEMS    the same through server::EdgeRouter with SigV4
//                        verification on (as with `nimbus serve --credentials`),
//                        requests pre-signed outside the timed loop
//   Query/ITEMS          pk = one of 1000 partitions of 5 items
//   PutItem/ITEMS        a new key per call (one synced RocksDB write each)
//   StoreWriteSynced     store::Store::write of one 150-byte entry: the fsync alone
//   StoreWriteBuffered   the same without waiting for the disk
// Besides Google Benchmark's mean, each reports p50_us, p99_us over the
// iterations (every call timed with steady_clock).
#include <benchmark/benchmark.h>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "aws/credentials.h"
#include "aws/sigv4.h"
#include "base/clock.h"
#include "server/edge_router.h"
#include "services/dynamodb/dynamodb_service.h"
#include "store/store.h"

namespace {

using namespace nimbus;
using Steady = std::chrono::steady_clock;

constexpr const char* kKey = "AKIDNIMBUSBENCH00001";
constexpr const char* kSecret = "nimbus/bench/secret/0123456789abcdefghij";
// 100 random characters (as bench/dynamodb_loadgen.cc: the store cannot
// compress them away).
std::string value_of(uint64_t seed) {
  static const char* letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::mt19937_64 r(seed);
  std::string v(100, 'x');
  for (auto& c : v) c = letters[r() & 63];
  return v;
}

std::string item_json(const std::string& pk, int sk, uint64_t seed) {
  return R"({"pk":{"S":")" + pk + R"("},"sk":{"N":")" + std::to_string(sk) + R"("},"v":{"S":")" +
         value_of(seed) + R"("}})";
}

struct Answer {
  int status = 0;
  std::string body;
};

// One loaded table, kept for every benchmark of the same size.
class World {
 public:
  explicit World(int64_t items) : items_(items) {
    dir_ = std::filesystem::temp_directory_path() /
           ("nimbus-ddb-bench-" + std::to_string(::getpid()) + "-" + std::to_string(items));
    std::filesystem::remove_all(dir_);
    auto s = store::open_rocksdb(dir_.string());
    if (!s) throw std::runtime_error(s.error().message);
    store_ = std::move(s.value());
    svc_ = std::make_unique<services::dynamodb::DynamoDbService>(*store_, clock_,
                                                                 [](std::function<void()>) {});
    creds_ = std::make_unique<aws::CredentialStore>(clock_);
    aws::Identity id;
    id.access_key = kKey;
    id.secret_key = kSecret;
    id.principal_arn = "arn:aws:iam::000000000000:root";
    creds_->add_static(id);
    edge_ = std::make_unique<server::EdgeRouter>(server::EdgeOptions{true, false, "us-east-1"},
                                                 *creds_, clock_);
    edge_->add_service(*svc_);

    must(call(
        "CreateTable",
        R"({"TableName":"bench","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},)"
        R"({"AttributeName":"sk","AttributeType":"N"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},)"
        R"({"AttributeName":"sk","KeyType":"RANGE"}],"BillingMode":"PAY_PER_REQUEST"})"));
    auto t0 = Steady::now();
    for (int64_t i = 0; i < items; i += 25) {
      std::string b = R"({"RequestItems":{"bench":[)";
      for (int64_t j = i; j < std::min(items, i + 25); ++j) {
        if (j != i) b += ',';
        b += R"({"PutRequest":{"Item":)" + item_json("k" + std::to_string(j), 0, j) + "}}";
      }
      must(call("BatchWriteItem", b + "]}}"));
    }
    for (int p = 0; p < 1000; p += 5) {  // 1000 partitions of 5 items, 25 per batch
      std::string b = R"({"RequestItems":{"bench":[)";
      for (int q = p; q < p + 5; ++q)
        for (int sk = 0; sk < 5; ++sk) {
          if (q != p || sk) b += ',';
          b += R"({"PutRequest":{"Item":)" + item_json("q" + std::to_string(q), sk, q * 5 + sk) +
               "}}";
        }
      must(call("BatchWriteItem", b + "]}}"));
    }
    double secs = std::chrono::duration<double>(Steady::now() - t0).count();
    std::fprintf(stderr, "loaded %lld items (+5000 for Query) in %.1f s (%.0f items/s)\n",
                 static_cast<long long>(items), secs, (items + 5000) / secs);
    wait_idle();
  }

  // Waits (at most 5 min) until RocksDB's flushes and compactions after the
  // load are over: the process uses under 2 % CPU for a second.
  static void wait_idle() {
    auto cpu = [] {
      rusage u{};
      getrusage(RUSAGE_SELF, &u);
      return u.ru_utime.tv_sec * 1e6 + u.ru_utime.tv_usec + u.ru_stime.tv_sec * 1e6 +
             u.ru_stime.tv_usec;
    };
    for (int i = 0; i < 300; ++i) {
      double before = cpu();
      std::this_thread::sleep_for(std::chrono::seconds(1));
      if (cpu() - before < 20000) return;
    }
  }
  ~World() {
    edge_.reset();
    svc_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  aws::Call make_call(std::string_view op, std::string body) const {
    aws::Call c;
    c.http.method = "POST";
    c.http.target = c.http.path = "/";
    c.http.headers.set("Content-Type", "application/x-amz-json-1.0");
    c.http.headers.set("X-Amz-Target", "DynamoDB_20120810." + std::string(op));
    c.http.body = std::move(body);
    c.request_id = "bench";
    return c;
  }

  Answer call(std::string_view op, std::string body) {
    Answer a;
    aws::Call c = make_call(op, std::move(body));
    c.reply = [&a](http::Response r) {
      a.status = r.status;
      a.body = std::move(r.body);
    };
    svc_->handle(std::move(c));
    return a;
  }

  // A request signed as an SDK signs it, at the clock's time.
  http::Request signed_request(std::string_view op, std::string body) const {
    http::Request r;
    r.method = "POST";
    r.target = r.path = "/";
    r.headers.set("Host", "127.0.0.1:4566");
    r.headers.set("Content-Type", "application/x-amz-json-1.0");
    r.headers.set("X-Amz-Target", "DynamoDB_20120810." + std::string(op));
    r.body = std::move(body);
    aws::sigv4::sign(r, kKey, kSecret, "us-east-1", "dynamodb", clock_.wall_ms() / 1000);
    r.remote_ip = "127.0.0.1";
    r.remote_is_loopback = true;
    return r;
  }

  static void must(const Answer& a) {
    if (a.status != 200) throw std::runtime_error("setup call failed: " + a.body);
  }

  int64_t items_;
  std::filesystem::path dir_;
  ManualClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<services::dynamodb::DynamoDbService> svc_;
  std::unique_ptr<aws::CredentialStore> creds_;
  std::unique_ptr<server::EdgeRouter> edge_;
};

// Closed before main() returns: RocksDB's own statics are gone by the time
// function-local statics would be destroyed.
std::map<int64_t, std::unique_ptr<World>> worlds;

World& world(int64_t items) {
  auto& w = worlds[items];
  if (!w) {
    worlds.clear();  // one store on disk at a time
    auto& fresh = worlds[items];
    fresh = std::make_unique<World>(items);
    return *fresh;
  }
  return *w;
}

// Per-call latencies → p50/p99 counters.
class Timings {
 public:
  void reserve(size_t n) { ns_.reserve(n); }
  void add(Steady::duration d) { ns_.push_back(std::chrono::nanoseconds(d).count()); }
  void report(benchmark::State& state) {
    if (ns_.empty()) return;
    std::sort(ns_.begin(), ns_.end());
    auto at = [&](double p) {
      return static_cast<double>(
                 ns_[std::min(ns_.size() - 1, static_cast<size_t>(p * (ns_.size() - 1)))]) /
             1000.0;
    };
    state.counters["p50_us"] = at(0.50);
    state.counters["p99_us"] = at(0.99);
  }

 private:
  std::vector<int64_t> ns_;
};

void check(benchmark::State& state, const Answer& a, bool want_item) {
  if (a.status != 200)
    state.SkipWithError(("HTTP " + std::to_string(a.status) + " " + a.body).c_str());
  if (want_item && a.body.find("\"Item\"") == std::string::npos)
    state.SkipWithError(("no Item: " + a.body).c_str());
}

void BM_GetItem(benchmark::State& state) {
  World& w = world(state.range(0));
  std::mt19937_64 rng(42);
  Timings t;
  Answer a;
  for (auto _ : state) {
    std::string body = R"({"TableName":"bench","Key":{"pk":{"S":"k)" +
                       std::to_string(rng() % static_cast<uint64_t>(w.items_)) +
                       R"("},"sk":{"N":"0"}}})";
    auto start = Steady::now();
    aws::Call c = w.make_call("GetItem", std::move(body));
    c.reply = [&a](http::Response r) {
      a.status = r.status;
      a.body = std::move(r.body);
    };
    w.svc_->handle(std::move(c));
    t.add(Steady::now() - start);
    check(state, a, true);
  }
  t.report(state);
}

void BM_GetItemEdge(benchmark::State& state) {
  World& w = world(state.range(0));
  std::mt19937_64 rng(43);
  std::vector<http::Request> reqs;
  for (int i = 0; i < 4096; ++i)
    reqs.push_back(
        w.signed_request("GetItem", R"({"TableName":"bench","Key":{"pk":{"S":"k)" +
                                        std::to_string(rng() % static_cast<uint64_t>(w.items_)) +
                                        R"("},"sk":{"N":"0"}}})"));
  Timings t;
  Answer a;
  size_t i = 0;
  for (auto _ : state) {
    http::Request r = reqs[i++ % reqs.size()];  // the copy is outside the timing
    auto start = Steady::now();
    w.edge_->handle(std::move(r), [&a](http::Response resp) {
      a.status = resp.status;
      a.body = std::move(resp.body);
    });
    t.add(Steady::now() - start);
    check(state, a, true);
  }
  t.report(state);
}

void BM_Query(benchmark::State& state) {
  World& w = world(state.range(0));
  std::mt19937_64 rng(44);
  Timings t;
  Answer a;
  for (auto _ : state) {
    std::string body =
        R"({"TableName":"bench","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{":p":{"S":"q)" +
        std::to_string(rng() % 1000) + R"("}}})";
    auto start = Steady::now();
    aws::Call c = w.make_call("Query", std::move(body));
    c.reply = [&a](http::Response r) {
      a.status = r.status;
      a.body = std::move(r.body);
    };
    w.svc_->handle(std::move(c));
    t.add(Steady::now() - start);
    check(state, a, false);
  }
  t.report(state);
}

void BM_PutItem(benchmark::State& state) {
  World& w = world(state.range(0));
  static int64_t seq = 0;
  Timings t;
  Answer a;
  for (auto _ : state) {
    std::string body =
        R"({"TableName":"bench","Item":)" + item_json("p" + std::to_string(seq), 0, seq) + "}";
    ++seq;
    auto start = Steady::now();
    aws::Call c = w.make_call("PutItem", std::move(body));
    c.reply = [&a](http::Response r) {
      a.status = r.status;
      a.body = std::move(r.body);
    };
    w.svc_->handle(std::move(c));
    t.add(Steady::now() - start);
    check(state, a, false);
  }
  t.report(state);
}

void store_write(benchmark::State& state, bool synced) {
  World& w = world(state.range(0));
  static int64_t seq = 0;
  Timings t;
  for (auto _ : state) {
    store::WriteBatch b;
    b.put("bench/raw/" + std::to_string(seq), item_json("x", 0, seq));
    ++seq;
    auto start = Steady::now();
    auto r = synced ? w.store_->write(b) : w.store_->write_buffered(b);
    t.add(Steady::now() - start);
    if (!r) state.SkipWithError(r.error().message.c_str());
  }
  t.report(state);
}
void BM_StoreWriteSynced(benchmark::State& state) {
  store_write(state, true);
}
void BM_StoreWriteBuffered(benchmark::State& state) {
  store_write(state, false);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> sizes;
  const char* env = std::getenv("NIMBUS_DDB_BENCH_ITEMS");
  std::string list = env && *env ? env : "10000,100000";
  for (size_t p = 0; p < list.size();) {
    size_t comma = list.find(',', p);
    if (comma == std::string::npos) comma = list.size();
    sizes.push_back(std::atoll(list.substr(p, comma - p).c_str()));
    p = comma + 1;
  }
  // Grouped by size so each store is loaded once.
  for (int64_t n : sizes) {
    benchmark::RegisterBenchmark("GetItem", BM_GetItem)->Arg(n)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("GetItemEdge", BM_GetItemEdge)
        ->Arg(n)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("Query", BM_Query)->Arg(n)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("PutItem", BM_PutItem)->Arg(n)->Unit(benchmark::kMicrosecond);
  }
  benchmark::RegisterBenchmark("StoreWriteSynced", BM_StoreWriteSynced)
      ->Arg(sizes.back())
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("StoreWriteBuffered", BM_StoreWriteBuffered)
      ->Arg(sizes.back())
      ->Unit(benchmark::kMicrosecond);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  worlds.clear();
  return 0;
}
