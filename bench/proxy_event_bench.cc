// API Gateway proxy event: building and serialising the Lambda event of one
// typical wrk GET (Host, User-Agent, Accept headers, no query, no body), as
// the gateway does per request before invoking the function. Payload 1.0
// (REST API) and 2.0 (HTTP API). Numbers in docs/BENCHMARKS.md ("Issue 3,
// session 4").
//
//   build-bench/bench/nimbus_proxy_event_bench
#include <benchmark/benchmark.h>

#include <string>

#include "http/message.h"
#include "services/apigateway/proxy_event.h"

namespace {

using namespace nimbus;
using namespace nimbus::services::apigateway;

http::Request wrk_get() {
  http::Request r;
  r.method = "GET";
  r.path = "/hello";
  r.target = "/hello";
  r.headers.add("Host", "127.0.0.1:4567");
  r.headers.add("User-Agent", "wrk/4.2.0");
  r.headers.add("Accept", "*/*");
  r.remote_ip = "127.0.0.1";
  return r;
}

EventContext context(ApiKind kind) {
  EventContext c;
  c.api_id = "a1b2c3d4e5";
  c.account_id = "000000000000";
  c.stage = kind == ApiKind::kRest ? "Prod" : "$default";
  c.request_id = "5f0e8c1a-6a0b-4c1e-9d3f-2b7a9c4e1d20";
  c.resource_id = kind == ApiKind::kRest ? "0a1b2c3d4e" : "";
  c.source_ip = "127.0.0.1";
  c.epoch_ms = 1428582896123;
  return c;
}

void BM_Event(benchmark::State& state, ApiKind kind, bool v2) {
  auto req = wrk_get();
  RouteMatch m{Route{"GET", "/hello", "fn"}, {}, "a1b2c3d4e5", kind};
  auto ctx = context(kind);
  for (auto _ : state)
    benchmark::DoNotOptimize(v2 ? build_event_v2(req, m, ctx) : build_event_v1(req, m, ctx, kind));
}
BENCHMARK_CAPTURE(BM_Event, v1_rest_get, ApiKind::kRest, false);
BENCHMARK_CAPTURE(BM_Event, v2_http_get, ApiKind::kHttp, true);

}  // namespace

BENCHMARK_MAIN();
