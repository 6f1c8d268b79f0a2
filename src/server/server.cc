#include "server/server.h"

#include <sys/resource.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <thread>

#include "aws/credentials.h"
#include "base/asio_clock.h"
#include "faas/adaptive_keep_alive.h"
#include "faas/pool.h"
#include "faas/process_instance.h"
#include "faas/sandbox_launcher.h"
#include "http/server.h"
#include "sandbox/sandbox.h"
#include "server/edge_router.h"
#include "server/worker_service.h"
#include "services/apigateway/apigateway_service.h"
#include "services/apigateway/gateway.h"
#include "services/autoscaling/autoscaling_service.h"
#include "services/dynamodb/dynamodb_service.h"
#include "services/iam/iam_service.h"
#include "services/lambda/lambda_service.h"
#include "services/logs/logs_service.h"
#include "services/sts/sts_service.h"
#include "store/blobs.h"
#include "store/store.h"

namespace nimbus::server {

namespace asio = boost::asio;

namespace {
bool is_loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "::1" || host == "localhost" || host.starts_with("127.");
}
}  // namespace

// Half the cores by default: the other half runs the functions, and on the
// 2-core reference machine one I/O thread (no cross-thread hand-offs) gives
// lower latency and higher invoke throughput than two (docs/BENCHMARKS.md).
namespace {
int io_thread_count(const ServerOptions& o) {
  return o.io_threads > 0 ? o.io_threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / 2);
}

// The I/O threads (the front door, the pool, every service's requests) run
// ahead of function code: when a host's cores are busy with instances, a
// request waiting for its turn on a CPU would otherwise wait behind them
// all, and every instance waits for the I/O thread to hand it its next
// event. Measured on the 2-core reference machine (docs/BENCHMARKS.md): a
// Python hello route at 64 callers +20-30 % requests/s. Instances are reset
// to the default priority when they start (sandbox.cc). Needs CAP_SYS_NICE;
// without it the threads keep the default priority.
constexpr int kIoThreadNice = -10;

void raise_io_thread_priority() {
  if (::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kIoThreadNice) != 0)
    spdlog::debug("I/O thread keeps the default priority: {}", std::strerror(errno));
}
}  // namespace

struct Server::Impl {
  explicit Impl(ServerOptions o)
      : options(std::move(o)),
        io_threads(io_thread_count(options)),
        io(io_threads == 1 ? 1 : BOOST_ASIO_CONCURRENCY_HINT_DEFAULT),
        clock(io.get_executor()) {}

  ServerOptions options;
  int io_threads;
  // A hint of 1 lets handlers posted from the I/O thread skip the shared
  // queue; other threads may still post.
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  asio::thread_pool workers{2};  // blocking control-plane work
  // Instance launches (faas::RunLaunch): long-lived threads, since instances
  // die with the thread that launched them; a few, since launches mostly wait
  // (on a fork-server, a template, a cgroup join).
  asio::thread_pool launches{4};
  AsioClock clock;
  std::unique_ptr<aws::CredentialStore> credentials;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<store::BlobStore> blobs;
  std::unique_ptr<services::logs::LogsService> logs;
  std::unique_ptr<services::dynamodb::DynamoDbService> dynamodb;
  std::unique_ptr<faas::SandboxLauncher> launcher;
  std::unique_ptr<faas::ProcessInstanceFactory> instances;
  std::unique_ptr<faas::KeepAlivePolicy> keep_alive;
  std::unique_ptr<faas::Pool> pool;
  std::unique_ptr<services::lambda::LambdaService> lambda;
  std::unique_ptr<services::autoscaling::AutoscalingService> autoscaling;
  std::unique_ptr<services::sts::StsService> sts;
  std::unique_ptr<services::iam::IamService> iam;
  std::unique_ptr<services::apigateway::Gateway> gateway;
  std::unique_ptr<services::apigateway::ApiGatewayService> apigateway;
  std::vector<std::unique_ptr<OnWorker>> on_worker;  // adapters for blocking services
  std::unique_ptr<EdgeRouter> edge;
  std::unique_ptr<http::Server> edge_server;
  std::unique_ptr<http::Server> api_server;
  asio::signal_set signals{io, SIGINT, SIGTERM};
  std::vector<std::thread> threads;
};

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Server::~Server() {
  stop();
  for (auto& t : impl_->threads)
    if (t.joinable()) t.join();
  if (impl_->pool) impl_->pool->stop_all();
  impl_->launches.join();
  impl_->workers.join();
}

Status Server::start() {
  auto& s = *impl_;
  auto& o = s.options;
  std::signal(SIGPIPE, SIG_IGN);
  std::error_code ec;
  std::filesystem::create_directories(o.data_dir, ec);
  if (ec) return fail(SysError{"cannot create data dir " + o.data_dir + ": " + ec.message()});
  std::filesystem::permissions(o.data_dir, std::filesystem::perms::owner_all, ec);
  auto data = std::filesystem::absolute(o.data_dir).string();

  auto st = store::open_rocksdb(data + "/db");
  if (!st) return fail(st.take_error());
  s.store = std::move(st.value());
  s.blobs = std::make_unique<store::BlobStore>(data + "/blobs");

  // Credentials: verified when a file is given or when reachable from other hosts.
  s.credentials = std::make_unique<aws::CredentialStore>(s.clock, s.store.get());
  if (!o.credentials_file.empty())
    if (auto r = s.credentials->load_file(o.credentials_file); !r) return r;
  if (auto r = s.credentials->load_sessions(); !r) return r;
  bool require_auth = !o.credentials_file.empty() || !is_loopback(o.host);
  if (require_auth && s.credentials->static_count() == 0)
    return fail(SysError{"bound to " + o.host +
                         ": credentials are mandatory beyond loopback; pass --credentials FILE"});

  // Isolation.
  bool isolate = false;
  std::string why;
  if (o.isolation == "off") {
    why = "disabled by --isolation off";
  } else {
    isolate = sandbox::isolation_available(&why);
    if (!isolate && o.isolation == "on")
      return fail(SysError{"--isolation on, but isolation is unavailable: " + why});
  }
  if (!isolate)
    spdlog::warn(
        "!!! FUNCTION ISOLATION IS OFF ({}): functions run as plain processes with Nimbus's "
        "privileges, can read each other's files and have no memory limit. Run as root for "
        "namespaces, cgroups and seccomp. !!!",
        why);

  std::string runtime_dir =
      o.runtime_dir.empty() ? std::string(NIMBUS_SOURCE_DIR) + "/runtimes" : o.runtime_dir;
  s.logs = std::make_unique<services::logs::LogsService>(*s.store, s.clock);
  s.dynamodb = std::make_unique<services::dynamodb::DynamoDbService>(
      *s.store, s.clock, [ex = s.workers.get_executor()](std::function<void()> work) {
        asio::post(ex, std::move(work));
      });
  s.dynamodb->start_background_work();
  faas::SandboxLauncherOptions launch{runtime_dir, faas::RuntimePaths{o.python, o.node}, isolate};
  if (o.launch == "zygote" && isolate && o.python == faas::RuntimePaths{}.python) {
    // The zygote embeds the libpython it was built with: Debian's python3.
    std::error_code ec;
    auto zygote =
        std::filesystem::read_symlink("/proc/self/exe", ec).parent_path() / "nimbus-python-zygote";
    if (!ec && std::filesystem::exists(zygote, ec)) launch.python_zygote = zygote.string();
  }
  launch.snapshots = o.snapshots == "on" && isolate;
  int snapshot_mb = std::max(0, o.snapshot_budget_mb);
  if (o.memory_budget_mb > 0) snapshot_mb = std::min(snapshot_mb, o.memory_budget_mb);
  launch.snapshot_budget_bytes = static_cast<uint64_t>(snapshot_mb) << 20;
  spdlog::info("python instances: {}{}",
               launch.python_zygote.empty() ? "exec" : "fork from " + launch.python_zygote,
               launch.snapshots ? ", then from per-function snapshots" : "");
  s.launcher = std::make_unique<faas::SandboxLauncher>(std::move(launch));
  s.launcher->start_fork_servers();  // this thread runs the server until it stops
  faas::InstanceEnvironment env;
  env.endpoint_url = "http://" + (o.host == "0.0.0.0" ? std::string("127.0.0.1") : o.host) + ":" +
                     std::to_string(o.port);
  if (o.keep_alive_policy == "adaptive")
    s.keep_alive = std::make_unique<faas::AdaptiveKeepAlive>();
  else
    s.keep_alive =
        std::make_unique<faas::FixedKeepAlive>(std::chrono::seconds(o.keep_alive_seconds));

  // Bind the edge first: instances need its port for AWS_ENDPOINT_URL.
  s.edge = std::make_unique<EdgeRouter>(EdgeOptions{require_auth, o.allow_reset, o.region},
                                        *s.credentials, s.clock);
  s.edge_server = std::make_unique<http::Server>(
      s.io, http::ServerOptions{.host = o.host, .port = o.port, .strands = s.io_threads > 1},
      [edge = s.edge.get()](http::Request req, http::Reply reply) {
        edge->handle(std::move(req), std::move(reply));
      });
  auto port = s.edge_server->listen();
  if (!port) return fail(port.take_error());
  env.endpoint_url = "http://" + (o.host == "0.0.0.0" ? std::string("127.0.0.1") : o.host) + ":" +
                     std::to_string(port.value());
  if (require_auth) {
    // Functions' SDK calls must be signed: they get temporary credentials.
    auto session = s.credentials->create_session(
        aws::SessionSpec{std::string(aws::kDefaultAccountId),
                         "arn:aws:sts::000000000000:assumed-role/nimbus-function/instance",
                         "AROANIMBUSFUNCTION:instance", 43200});
    if (!session) return fail(session.take_error());
    env.access_key_id = session->access_key;
    env.secret_access_key = session->secret_key;
    env.session_token = session->session_token;
  }
  s.instances = std::make_unique<faas::ProcessInstanceFactory>(
      s.io, s.clock, *s.launcher, *s.logs, env,
      [ex = s.launches.get_executor()](std::function<void()> launch) {
        asio::post(ex, std::move(launch));
      });
  s.pool = std::make_unique<faas::Pool>(
      *s.instances, s.clock, *s.keep_alive,
      faas::PoolOptions{.account_concurrency = o.account_concurrency,
                        .adaptive_concurrency = o.scaling != "lambda",
                        .idle_memory_budget_mb = std::max(0, o.memory_budget_mb),
                        .retained_memory_mb = [launcher = s.launcher.get()] {
                          return static_cast<int64_t>(launcher->snapshot_memory_bytes() >> 20);
                        }});
  services::lambda::LambdaOptions lambda_options{data + "/code", env.endpoint_url};
  // Event source mappings read DynamoDB streams through Streams' public API,
  // in process (the pollers call it on the worker pool).
  lambda_options.dynamodb_streams = [dynamodb = s.dynamodb.get()](std::string_view target,
                                                                  boost::json::object request) {
    return dynamodb->call(target, std::move(request));
  };
  s.lambda = std::make_unique<services::lambda::LambdaService>(
      *s.store, *s.blobs, *s.pool, s.clock, s.workers.get_executor(), std::move(lambda_options));
  if (auto r = s.lambda->start(); !r) return r;
  // Application Auto Scaling drives Lambda's provisioned concurrency through
  // the Lambda service's own path; its loop's writes run on the worker pool.
  services::autoscaling::ProvisionedConcurrencyHooks scaling_hooks;
  scaling_hooks.get = [lambda = s.lambda.get()](const std::string& fn, const std::string& q) {
    return lambda->provisioned_concurrency(fn, q);
  };
  scaling_hooks.put = [lambda = s.lambda.get()](const std::string& fn, const std::string& q,
                                                int n) -> Result<void, aws::ApiError> {
    auto r = lambda->put_provisioned_concurrency(fn, q, n);
    if (!r) return fail(r.error());
    return {};
  };
  scaling_hooks.in_flight = [lambda = s.lambda.get()](const std::string& fn, const std::string& q) {
    return lambda->in_flight(fn, q);
  };
  s.autoscaling = std::make_unique<services::autoscaling::AutoscalingService>(
      *s.store, s.clock, std::move(scaling_hooks),
      services::autoscaling::AutoscalingOptions{
          .period = std::chrono::milliseconds(std::max(1, o.autoscaling_interval_ms)),
          .run_blocking = [ex = s.workers.get_executor()](std::function<void()> work) {
            asio::post(ex, std::move(work));
          }});
  if (auto r = s.autoscaling->start(); !r) return r;
  s.sts = std::make_unique<services::sts::StsService>(*s.credentials, s.clock);
  s.iam = std::make_unique<services::iam::IamService>(*s.store, s.clock);

  // API Gateway: the management API (blocking writes, on the worker pool) and
  // the data plane that serves deployed APIs (on the I/O threads).
  s.gateway = std::make_unique<services::apigateway::Gateway>(
      s.clock,
      [lambda = s.lambda.get()](const std::string& fn, const std::string& qualifier,
                                faas::Invocation inv, faas::InvokeCallback done,
                                std::function<void(aws::ApiError)> rejected) {
        lambda->invoke(fn, qualifier, std::move(inv), std::move(done), std::move(rejected));
      },
      std::string(aws::kDefaultAccountId), o.region, s.store.get());
  s.apigateway = std::make_unique<services::apigateway::ApiGatewayService>(*s.store, s.clock,
                                                                           *s.gateway, o.region);
  if (auto r = s.apigateway->start(); !r) return r;

  s.sts->set_role_resolver(
      [iam = s.iam.get()](std::string_view, std::string_view name) { return iam->role_id(name); });
  s.logs->set_identity(o.region, std::string(aws::kDefaultAccountId));

  // Lambda keeps Invoke on the I/O threads and moves its own blocking work; the
  // other services do synced writes inline, so they run on the worker pool.
  s.edge->add_service(*s.lambda);
  for (aws::Service* svc : std::initializer_list<aws::Service*>{
           s.sts.get(), s.iam.get(), s.logs.get(), s.apigateway.get(), s.dynamodb.get(),
           s.autoscaling.get()}) {
    s.on_worker.push_back(std::make_unique<OnWorker>(*svc, s.workers.get_executor()));
    s.edge->add_service(*s.on_worker.back());
  }
  s.edge->set_health_info("isolation", isolate ? "on" : "off: " + why);
  s.edge->add_admin_route(
      "/_nimbus/lambda/code/", [lambda = s.lambda.get()](http::Request req, http::Reply reply) {
        std::string id = req.path.substr(std::string_view("/_nimbus/lambda/code/").size());
        auto zip = lambda->code_zip(id);
        if (!zip) return reply(http::Response::json(404, R"({"message":"Not Found"})"));
        http::Response r;
        r.headers.set("Content-Type", "application/zip");
        r.body = std::move(zip.value());
        reply(std::move(r));
      });

  // REST stages through the edge: /restapis/{id}/{stage}/_user_request_/{path}.
  s.edge->set_user_request_handler([gw = s.gateway.get()](http::Request& req, http::Reply& reply) {
    return gw->handle_edge(req, reply);
  });
  // The API port: every deployed API, routed by path; API Gateway's 10 MB payload limit.
  s.api_server =
      std::make_unique<http::Server>(s.io,
                                     http::ServerOptions{.host = o.host,
                                                         .port = o.api_port,
                                                         .max_body_bytes = 10 * 1024 * 1024,
                                                         .strands = s.io_threads > 1},
                                     [gw = s.gateway.get()](http::Request req, http::Reply reply) {
                                       gw->handle(std::move(req), std::move(reply));
                                     });
  auto api = s.api_server->listen();
  if (!api) return fail(api.take_error());
  s.edge->set_health_info("api_port", std::to_string(api.value()));

  s.signals.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (!ec) {
      spdlog::info("signal {}: stopping", sig);
      stop();
    }
  });
  spdlog::info("nimbus listening: edge http://{}:{} (AWS services), api http://{}:{}", o.host,
               port.value(), o.host, api.value());
  return {};
}

void Server::run() {
  auto& s = *impl_;
  for (int i = 1; i < s.io_threads; ++i)
    s.threads.emplace_back([&s] {
      raise_io_thread_priority();
      s.io.run();
    });
  raise_io_thread_priority();
  s.io.run();
  for (auto& t : s.threads)
    if (t.joinable()) t.join();
  s.threads.clear();
}

void Server::stop() {
  auto& s = *impl_;
  if (s.edge_server) s.edge_server->stop();
  if (s.api_server) s.api_server->stop();
  if (s.pool) s.pool->stop_all();
  s.work.reset();
  s.io.stop();
}

uint16_t Server::edge_port() const {
  return impl_->edge_server ? impl_->edge_server->port() : 0;
}
uint16_t Server::api_port() const {
  return impl_->api_server ? impl_->api_server->port() : 0;
}

}  // namespace nimbus::server
