// The only place that knows every component: builds them from the options,
// wires them through constructors, and runs the I/O threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/result.h"

namespace nimbus::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 4566;      // the edge: every AWS service
  uint16_t api_port = 3000;  // deployed HTTP APIs (API Gateway arrives in a later issue)
  std::string data_dir = "nimbus-data";
  std::string credentials_file;    // when set (or when bound beyond loopback), SigV4 is verified
  bool allow_reset = false;        // POST /_nimbus/reset from non-loopback clients
  std::string isolation = "auto";  // auto | on | off
  std::string runtime_dir;         // our bootstraps; default: the source tree's runtimes/
  std::string python = "/usr/bin/python3";
  std::string node = "/usr/bin/node";
  // "zygote": isolated Python instances fork from a pre-initialised runtime
  // (sandbox/zygote.h) when nimbus-python-zygote sits beside the nimbus binary
  // and --python is Debian's python3; "exec": every instance execs its runtime.
  std::string launch = "zygote";
  // "on": isolated Python functions get per-function snapshots after their
  // first init (sandbox/fork_template.h); "off": never.
  std::string snapshots = "on";
  int snapshot_budget_mb = 1024;  // memory of all templates together
  // One bound (MB) on idle instances, pre-warmed ones and snapshot templates
  // together (0: none; templates then have snapshot_budget_mb alone).
  int memory_budget_mb = 0;
  int account_concurrency = 1000;
  // "adaptive": a function's concurrency follows CPU contention (instances
  // that wait for a CPU make further calls queue); "lambda": one instance per
  // concurrent call, however loaded the host is.
  std::string scaling = "adaptive";
  int keep_alive_seconds = 15 * 60;
  // Keep-alive policy: "fixed" (keep_alive_seconds) or "adaptive" (a per-function
  // histogram of idle times, with pre-warming; faas/adaptive_keep_alive.h).
  std::string keep_alive_policy = "fixed";
  int io_threads = 0;  // 0: half the cores (at least 1)
  // Application Auto Scaling's metric period (CloudWatch's 1 minute); tests
  // shorten it.
  int autoscaling_interval_ms = 60'000;
  std::string region = "us-east-1";
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  // Opens the store, loads state and binds the ports.
  Status start();
  // Runs until stop() or SIGINT/SIGTERM.
  void run();
  void stop();
  uint16_t edge_port() const;
  uint16_t api_port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nimbus::server
