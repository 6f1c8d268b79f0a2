// The `nimbus` command: `serve` runs the platform; the other subcommands are
// clients of a running server's AWS-compatible API.
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "aws/sigv4.h"
#include "base/ids.h"
#include "base/log.h"
#include "deploy/deployer.h"
#include "faas/simulator.h"
#include "faas/trace.h"
#include "http/client.h"
#include "server/server.h"

namespace json = boost::json;
using namespace nimbus;

namespace {

std::string default_endpoint() {
  if (const char* e = std::getenv("NIMBUS_ENDPOINT")) return e;
  return "http://127.0.0.1:4566";
}

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

// Sends the request, signed with the standard AWS environment credentials when
// they are set (needed when the server verifies signatures), else unsigned.
Result<http::Response> send(const std::string& endpoint, http::Request req,
                            std::string_view service) {
  std::string host = endpoint.substr(endpoint.find("://") + 3);
  host = host.substr(0, host.find('/'));
  req.headers.set("Host", host);
  auto q = req.target.find('?');
  req.path = req.target.substr(0, q);
  req.query = q == std::string::npos ? "" : req.target.substr(q + 1);
  std::string key = env_or("AWS_ACCESS_KEY_ID", ""), secret = env_or("AWS_SECRET_ACCESS_KEY", "");
  if (!key.empty() && !secret.empty()) {
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    aws::sigv4::sign(req, key, secret,
                     env_or("AWS_REGION", env_or("AWS_DEFAULT_REGION", "us-east-1").c_str()),
                     service, now, env_or("AWS_SESSION_TOKEN", ""));
  }
  return http::fetch(endpoint, req);
}

Result<http::Response> call(const std::string& endpoint, std::string method, std::string target,
                            std::string body = {}, std::string amz_target = {}) {
  http::Request req;
  req.method = std::move(method);
  req.target = std::move(target);
  req.body = std::move(body);
  if (!amz_target.empty()) {
    req.headers.set("X-Amz-Target", amz_target);
    req.headers.set("Content-Type", "application/x-amz-json-1.1");
  } else if (!req.body.empty()) {
    req.headers.set("Content-Type", "application/json");
  }
  return send(endpoint, std::move(req), amz_target.empty() ? "lambda" : "logs");
}

// Prints an error answer and returns the exit code.
int report_failure(const Result<http::Response>& r) {
  if (!r) {
    std::fprintf(stderr, "nimbus: %s\n", r.error().message.c_str());
    return 2;
  }
  std::fprintf(stderr, "nimbus: %d %s %s\n", r->status,
               r->headers.get_or("x-amzn-ErrorType").c_str(), r->body.c_str());
  return 1;
}

int cmd_invoke(const std::string& endpoint, const std::string& name, const std::string& payload,
               const std::string& qualifier, bool tail) {
  std::string target = "/2015-03-31/functions/" + http::url_encode(name) + "/invocations";
  if (!qualifier.empty()) target += "?Qualifier=" + http::url_encode(qualifier);
  http::Request req;
  req.method = "POST";
  req.target = target;
  req.body = payload;
  if (tail) req.headers.set("X-Amz-Log-Type", "Tail");
  auto r = send(endpoint, std::move(req), "lambda");
  if (!r || r->status != 200) return report_failure(r);
  if (tail) {
    std::string logs;
    if (base64_decode(r->headers.get_or("X-Amz-Log-Result"), logs))
      std::fputs(logs.c_str(), stderr);
  }
  std::puts(r->body.c_str());
  return r->headers.get("X-Amz-Function-Error") ? 1 : 0;
}

int cmd_ls(const std::string& endpoint) {
  std::string marker;
  std::printf("%-40s %-16s %7s %7s  %s\n", "NAME", "RUNTIME", "MEMORY", "TIMEOUT", "LAST MODIFIED");
  do {
    auto r = call(endpoint, "GET",
                  "/2015-03-31/functions/" + (marker.empty() ? "" : "?Marker=" + marker));
    if (!r || r->status != 200) return report_failure(r);
    auto body = json::parse(r->body).as_object();
    for (auto& f : body["Functions"].as_array()) {
      auto& o = f.as_object();
      std::printf("%-40s %-16s %7lld %7lld  %s\n", o["FunctionName"].as_string().c_str(),
                  o["Runtime"].is_string() ? o["Runtime"].as_string().c_str() : "-",
                  static_cast<long long>(o["MemorySize"].to_number<int64_t>()),
                  static_cast<long long>(o["Timeout"].to_number<int64_t>()),
                  o["LastModified"].as_string().c_str());
    }
    marker = body.contains("NextMarker") ? std::string(body["NextMarker"].as_string()) : "";
  } while (!marker.empty());
  return 0;
}

int cmd_logs(const std::string& endpoint, const std::string& name, bool follow) {
  std::string group = "/aws/lambda/" + name;
  int64_t start = 0;
  std::set<std::string> seen;  // event ids already printed at the boundary timestamp
  for (;;) {
    std::string token;
    int64_t newest = start;
    do {
      json::object q{{"logGroupName", group}, {"startTime", start}};
      if (!token.empty()) q["nextToken"] = token;
      auto r = call(endpoint, "POST", "/", json::serialize(q), "Logs_20140328.FilterLogEvents");
      if (!r) return report_failure(r);
      if (r->status != 200) {
        if (follow && r->status == 400) break;  // group not created yet
        return report_failure(r);
      }
      auto body = json::parse(r->body).as_object();
      for (auto& e : body["events"].as_array()) {
        auto& o = e.as_object();
        std::string id(o["eventId"].as_string());
        if (seen.count(id)) continue;
        seen.insert(id);
        int64_t ts = o["timestamp"].to_number<int64_t>();
        newest = std::max(newest, ts);
        std::printf("%s %s\n", o["logStreamName"].as_string().c_str(),
                    o["message"].as_string().c_str());
      }
      token = body.contains("nextToken") && body["nextToken"].is_string()
                  ? std::string(body["nextToken"].as_string())
                  : "";
    } while (!token.empty());
    std::fflush(stdout);
    if (!follow) return 0;
    start = newest;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

// `nimbus deploy`: applies a SAM template through the server's AWS APIs; with
// --watch, redeploys when a function's code folder changes (only what changed
// is updated: the deploy diffs against what is deployed).
int cmd_deploy(const std::string& endpoint, deploy::DeployOptions opts, bool watch) {
  opts.endpoint = endpoint;
  // The server picks API Gateway by the signature's credential scope, so the
  // deploy always signs: without AWS_* credentials in the environment it uses
  // the local-emulator convention (test/test), as awslocal and samlocal do.
  if (env_or("AWS_ACCESS_KEY_ID", "").empty() || env_or("AWS_SECRET_ACCESS_KEY", "").empty()) {
    ::setenv("AWS_ACCESS_KEY_ID", "test", 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", "test", 1);
  }
  opts.region = env_or("AWS_REGION", env_or("AWS_DEFAULT_REGION", "us-east-1").c_str());
  deploy::Transport transport = [&](http::Request req, std::string_view service) {
    return send(endpoint, std::move(req), service);
  };
  auto result = deploy::deploy(opts, transport, std::cout, std::cerr);
  if (!watch) return result.ok ? 0 : 1;
  if (result.code_folders.empty()) {
    std::fprintf(stderr, "nimbus: --watch: no function code folders to watch\n");
    return result.ok ? 0 : 1;
  }
  int fd = inotify_init1(IN_CLOEXEC);
  if (fd < 0) {
    std::perror("inotify_init1");
    return 1;
  }
  auto add_watches = [&] {
    namespace fs = std::filesystem;
    const uint32_t mask = IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM;
    for (const auto& [id, folder] : result.code_folders) {
      inotify_add_watch(fd, folder.c_str(), mask);
      std::error_code ec;
      for (fs::recursive_directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec))
        if (it->is_directory(ec)) inotify_add_watch(fd, it->path().c_str(), mask);
    }
  };
  add_watches();
  std::printf("Watching %zu code folder(s) for changes (Ctrl-C stops)\n",
              result.code_folders.size());
  std::fflush(stdout);
  char buf[16384];
  for (;;) {
    if (::read(fd, buf, sizeof buf) <= 0) return 1;
    // Let a burst of writes (an editor's save) settle, then redeploy once.
    pollfd p{fd, POLLIN, 0};
    while (::poll(&p, 1, 150) > 0)
      if (::read(fd, buf, sizeof buf) <= 0) break;
    std::printf("Change detected: redeploying\n");
    std::fflush(stdout);
    auto again = deploy::deploy(opts, transport, std::cout, std::cerr);
    if (again.ok) result = std::move(again);
    add_watches();
    std::fflush(stdout);
  }
}

struct SimulateArgs {
  std::string trace;
  std::vector<std::string> policies{"fixed:15m", "fixed:10m", "adaptive"};
  uint64_t seed = 1;
  int cold_start_ms = 250;
  size_t top = 0;
  std::vector<std::string> groups;
  int64_t memory_budget_mb = 0;
};

int cmd_simulate(const SimulateArgs& a) {
  for (const auto& p : a.policies)
    if (auto policy = faas::make_keep_alive_policy(p); !policy) {
      std::fprintf(stderr, "%s\n", policy.error().c_str());
      return 2;
    }
  std::ifstream in(a.trace, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", a.trace.c_str());
    return 1;
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto trace = faas::parse_trace(text, faas::TraceOptions{.seed = a.seed});
  if (!trace) {
    std::fprintf(stderr, "%s: %s\n", a.trace.c_str(), trace.error().message.c_str());
    return 1;
  }
  text = {};
  const auto& ev = trace->events;
  double hours =
      ev.empty() ? 0 : static_cast<double>(ev.back().time_ms - ev.front().time_ms) / 3.6e6;
  std::printf("%s: %zu invocations of %zu functions over %.1f h\n", a.trace.c_str(), ev.size(),
              trace->functions.size(), hours);
  std::fflush(stdout);
  faas::SimulationOptions opts;
  opts.seed = a.seed;
  opts.cold_start_base = std::chrono::milliseconds(a.cold_start_ms);
  opts.memory_budget_mb = a.memory_budget_mb;
  std::vector<faas::SimulationResult> results;
  for (const auto& p : a.policies) {
    auto r = faas::simulate(*trace, p, opts);
    if (!r) {
      std::fprintf(stderr, "%s\n", r.error().c_str());
      return 2;
    }
    results.push_back(std::move(*r));
  }
  std::fputs(faas::format_results(results).c_str(), stdout);
  for (const auto& prefix : a.groups)
    for (const auto& r : results) {
      auto g = faas::sum_functions(r, prefix);
      std::printf("%-12s functions %s*: %llu of %llu calls cold (%.3f %%)\n", r.policy.c_str(),
                  prefix.c_str(), static_cast<unsigned long long>(g.cold_starts),
                  static_cast<unsigned long long>(g.calls),
                  g.calls
                      ? 100.0 * static_cast<double>(g.cold_starts) / static_cast<double>(g.calls)
                      : 0.0);
    }
  if (a.top > 0) std::fputs(faas::format_top_functions(results, a.top).c_str(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Nimbus: a self-hosted serverless platform that speaks the AWS APIs"};
  app.require_subcommand(1);
  std::string endpoint = default_endpoint();

  server::ServerOptions so;
  std::string log_level = "info";
  auto* serve = app.add_subcommand("serve", "Run the platform (every AWS service on one port)");
  serve->add_option("--host", so.host, "Address to bind");
  serve->add_option("--port", so.port, "Edge port: every AWS service");
  serve->add_option("--api-port", so.api_port, "Port for deployed HTTP APIs");
  serve->add_option("--data-dir", so.data_dir, "Where state lives");
  serve->add_option("--credentials", so.credentials_file,
                    "AWS credentials file; SigV4 signatures are verified against it");
  serve->add_flag("--allow-reset", so.allow_reset, "Allow POST /_nimbus/reset from any address");
  serve->add_option("--isolation", so.isolation, "auto | on | off")
      ->check(CLI::IsMember({"auto", "on", "off"}));
  serve->add_option("--runtime-dir", so.runtime_dir, "Directory with the runtime bootstraps");
  serve->add_option("--python", so.python, "Python interpreter for python3.x functions");
  serve->add_option("--node", so.node, "Node.js binary for nodejs functions");
  serve
      ->add_option("--launch", so.launch,
                   "zygote (Python instances fork from a pre-initialised runtime) | exec")
      ->check(CLI::IsMember({"zygote", "exec"}));
  serve
      ->add_option("--snapshots", so.snapshots,
                   "on (a Python function's later instances fork from a template that ran its "
                   "init) | off")
      ->check(CLI::IsMember({"on", "off"}));
  serve->add_option("--memory-budget-mb", so.memory_budget_mb,
                    "One bound on idle instances (pre-warmed included) and snapshot templates "
                    "together; over it the least valuable idle instances go first (0: none)");
  serve->add_option("--snapshot-budget-mb", so.snapshot_budget_mb,
                    "Memory of all snapshot templates together (least recently used go first)");
  serve->add_option("--max-concurrency", so.account_concurrency,
                    "Account-wide concurrent executions");
  serve
      ->add_option("--scaling", so.scaling,
                   "adaptive (calls queue while instances wait for a CPU) | lambda (one "
                   "instance per concurrent call)")
      ->check(CLI::IsMember({"adaptive", "lambda"}));
  std::string keep_alive = std::to_string(so.keep_alive_seconds);
  serve
      ->add_option("--keep-alive", keep_alive,
                   "Idle instance lifetime in seconds (fixed), or 'adaptive': per function, "
                   "from its idle-time histogram, with pre-warming")
      ->check([](const std::string& v) {
        return v == "adaptive" || (!v.empty() && v.size() <= 9 &&
                                   v.find_first_not_of("0123456789") == std::string::npos)
                   ? std::string()
                   : std::string("seconds or 'adaptive'");
      });
  serve
      ->add_option("--autoscaling-interval-ms", so.autoscaling_interval_ms,
                   "Application Auto Scaling's metric period in ms (AWS: 60000; tests shorten it)")
      ->check(CLI::Range(1, 3'600'000));
  serve->add_option("--threads", so.io_threads, "I/O threads (0: half the cores, at least 1)");
  serve->add_option("--log-level", log_level, "debug | info | warn | error");

  std::string name, payload = "{}", qualifier;
  bool tail = false, follow = false;
  auto* invoke = app.add_subcommand("invoke", "Invoke a function and print its response");
  invoke->add_option("name", name, "Function name")->required();
  invoke->add_option("--payload", payload, "Event JSON");
  invoke->add_option("--qualifier", qualifier, "Version or alias");
  invoke->add_flag("--tail", tail, "Print the invocation's log lines to stderr");
  auto* logs = app.add_subcommand("logs", "Print a function's logs");
  logs->add_option("name", name, "Function name")->required();
  logs->add_flag("-f,--follow", follow, "Keep printing new lines");
  auto* ls = app.add_subcommand("ls", "List functions");
  deploy::DeployOptions deploy_opts;
  bool watch = false;
  auto* deploy_cmd = app.add_subcommand("deploy", "Deploy a SAM template as a stack");
  deploy_cmd->add_option("template", deploy_opts.template_path, "SAM template (YAML or JSON)")
      ->required();
  deploy_cmd->add_option("--stack-name", deploy_opts.stack_name,
                         "Stack name (default: the template's folder name)");
  deploy_cmd->add_option("--parameter-overrides", deploy_opts.parameter_overrides,
                         "Template parameters as KEY=VALUE ...");
  deploy_cmd->add_flag("--watch", watch, "Redeploy when a function's code changes");
  SimulateArgs sim;
  auto* simulate = app.add_subcommand(
      "simulate", "Replay an invocation trace through the pool under keep-alive policies");
  simulate
      ->add_option("--trace", sim.trace,
                   "CSV (timestamp_ms,function,duration_ms,memory_mb) "
                   "or the Azure Functions 2019 per-minute counts")
      ->required();
  simulate->add_option("--policy", sim.policies,
                       "fixed:15m | fixed:10m | fixed:DURATION | adaptive (repeatable; default: "
                       "fixed:15m fixed:10m adaptive)");
  simulate->add_option("--seed", sim.seed, "Seeds cold-start times and the Azure format's spread");
  simulate->add_option("--memory-budget", sim.memory_budget_mb,
                       "MB for all idle instances together (0: unbounded); over it the least "
                       "valuable go first (greedy-dual)");
  simulate->add_option("--top", sim.top, "Also list the N functions with the most cold starts");
  simulate->add_option("--group", sim.groups,
                       "Also report the cold starts of functions named PREFIX* (repeatable)");
  simulate->add_option("--cold-start-ms", sim.cold_start_ms,
                       "Cold start of a 0 MB function (plus 0.25 ms per MB)");
  for (auto* c : {invoke, logs, ls, deploy_cmd})
    c->add_option("--endpoint", endpoint, "Nimbus edge URL (env NIMBUS_ENDPOINT)");

  CLI11_PARSE(app, argc, argv);

  if (*serve) {
    if (keep_alive == "adaptive")
      so.keep_alive_policy = "adaptive";
    else
      so.keep_alive_seconds = std::stoi(keep_alive);
    setup_logging(log_level);
    server::Server server(so);
    if (auto st = server.start(); !st) {
      spdlog::critical("cannot start: {}", st.error().message);
      return 1;
    }
    server.run();
    return 0;
  }
  if (*invoke) return cmd_invoke(endpoint, name, payload, qualifier, tail);
  if (*logs) return cmd_logs(endpoint, name, follow);
  if (*ls) return cmd_ls(endpoint);
  if (*deploy_cmd) return cmd_deploy(endpoint, deploy_opts, watch);
  if (*simulate) return cmd_simulate(sim);
  return 0;
}
