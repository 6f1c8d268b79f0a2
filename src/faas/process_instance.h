// The real Instance: a runtime process started by a Launcher, talking to Nimbus
// through its own Runtime API endpoint (127.0.0.1:PORT), with its output read
// line by line into the function's log stream.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>

#include "base/clock.h"
#include "faas/instance.h"
#include "faas/launcher.h"
#include "faas/log_sink.h"

namespace nimbus::faas {

struct InstanceEnvironment {
  std::string endpoint_url;  // the edge URL that AWS SDKs inside functions call
  std::string access_key_id = "AKIAIOSFODNN7EXAMPLE";
  std::string secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  std::string session_token;
  int init_timeout_seconds = 10;  // Lambda's init phase limit for on-demand instances
};

// Runs a launch (Launcher::launch, which blocks for milliseconds) somewhere.
// Instances die with the thread that launched them (sandbox.h), so that must be
// a long-lived thread; the server gives a pool of its own, so that I/O threads
// never wait for launches. Empty: on the calling thread.
using RunLaunch = std::function<void(std::function<void()>)>;

class ProcessInstanceFactory final : public InstanceFactory {
 public:
  ProcessInstanceFactory(boost::asio::io_context& io, Clock& clock, Launcher& launcher,
                         LogSink& logs, InstanceEnvironment env, RunLaunch run_launch = {});
  std::shared_ptr<Instance> create(const FunctionSpec& spec) override;

 private:
  boost::asio::io_context& io_;
  Clock& clock_;
  Launcher& launcher_;
  LogSink& logs_;
  InstanceEnvironment env_;
  RunLaunch run_launch_;
};

// Lambda's log stream name for a new instance: "YYYY/MM/DD/[VERSION]<32 hex>".
std::string new_log_stream_name(int64_t wall_ms, std::string_view version);
// "Task timed out after 3.00 seconds" and friends, as Lambda words them.
std::string format_seconds(Duration d);
// Lambda's REPORT line. On a cold start (init_duration set) Nimbus adds a
// "Launch:" field after Init Duration naming how the instance started
// (Process::launch_path(): "fork-server" or "exec"), when known.
std::string report_line(std::string_view request_id, Duration duration, int memory_mb,
                        uint64_t max_memory_bytes, std::optional<Duration> init_duration,
                        std::string_view launch_path = {});

}  // namespace nimbus::faas
