-- wrk script: POST a small JSON event to the path given on the command line
-- (Lambda Invoke, RequestResponse), and print the latency distribution and
-- throughput as one machine-readable line at the end.
--   wrk -t1 -c1 -d10s -s bench/invoke.lua http://127.0.0.1:PORT/2015-03-31/functions/NAME/invocations
wrk.method = "POST"
wrk.body = '{"hello":"world","n":42}'
wrk.headers["Content-Type"] = "application/json"
-- wrk.headers["X-Amz-Invocation-Type"] = "RequestResponse" (the default)

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    "RESULT requests=%d errors=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d mean_us=%.1f\n",
    summary.requests, errors, summary.requests / secs,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean))
end
