#include "faas/process_instance.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <atomic>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <mutex>

#include "base/ids.h"
#include "base/lazy_deadline.h"
#include "base/time_format.h"
#include "faas/runtime_channel.h"
#include "http/peer.h"
#include "http/server.h"
#include "sandbox/unique_fd.h"

namespace nimbus::faas {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr size_t kMaxResponseBytes = 6 * 1024 * 1024;
constexpr size_t kLogTailBytes = 4096;
constexpr std::string_view kApiPrefix = "/2018-06-01/runtime/";

std::string lambda_error(std::string_view type, std::string_view message) {
  json::object o;
  o["errorType"] = type;
  o["errorMessage"] = message;
  return json::serialize(o);
}

double ms(Duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// "%.2f" without printf's locale and format parsing (two per REPORT line).
std::string fmt2(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, 2);
  return std::string(buf, r.ptr);
}

class ProcessInstance final : public Instance,
                              public std::enable_shared_from_this<ProcessInstance> {
 public:
  ProcessInstance(asio::io_context& io, Clock& clock, Launcher& launcher, LogSink& logs,
                  const InstanceEnvironment& env, FunctionSpec spec, RunLaunch run_launch)
      : io_(io),
        clock_(clock),
        launcher_(launcher),
        logs_(logs),
        env_(env),
        spec_(std::move(spec)),
        id_(random_hex(16)),
        pipe_(io),
        exit_watch_(io),
        run_launch_(std::move(run_launch)) {
    log_group_ = "/aws/lambda/" + spec_.name;
    log_stream_ = new_log_stream_name(clock_.wall_ms(), spec_.version);
  }

  ~ProcessInstance() override { process_.reset(); }

  const std::string& id() const override { return id_; }

  void start(ReadyCallback on_ready, DeathCallback on_death) override {
    on_ready_ = std::move(on_ready);
    on_death_ = std::move(on_death);
    started_at_ = clock_.now();
    std::weak_ptr<ProcessInstance> weak = weak_from_this();
    timeout_.emplace(clock_, [weak] {
      if (auto self = weak.lock()) self->on_timeout();
    });
    init_timer_ = clock_.call_after(std::chrono::seconds(env_.init_timeout_seconds), [weak] {
      if (auto self = weak.lock()) self->on_init_timeout();
    });
    auto prepared = prepare_launch();
    if (!prepared) return launched(prepared.error().message);
    // The launch itself (a sandbox, a fork-server round trip, a template's
    // fork: milliseconds to tens of ms) runs where the factory says, not on
    // this I/O thread, which goes on serving other calls and instances.
    auto launch = std::make_shared<PreparedLaunch>(std::move(*prepared));
    run_launch_([self = shared_from_this(), launch] {
      std::string error;
      {
        // Held until the process exists, so the Runtime API's connection
        // check (which may run on another thread as soon as the runtime
        // connects) sees the instance's uid.
        std::lock_guard lk(self->launch_mu_);
        auto proc = self->launcher_.launch(launch->request);
        if (proc)
          self->process_ = std::move(proc.value());
        else
          error = proc.error().message;
      }
      launch->child_ends.clear();  // the instance has its copies
      asio::post(self->io_, [self, error] { self->launched(error); });
    });
  }

  void invoke(Invocation inv, InvokeCallback done) override {
    Waiter deliver;
    {
      std::lock_guard lk(mu_);
      if (state_ == State::kBusy && !next_) return queue_locked(std::move(inv), std::move(done));
      if (state_ != State::kIdle) {
        // A broken invariant fails this call, never the process.
        InvokeResult r;
        r.status = InvokeResult::Status::kFunctionError;
        r.payload = lambda_error("Runtime.Unavailable", "instance is not idle");
        done(std::move(r));
        return;
      }
      state_ = State::kBusy;
      // The previous invocation's END and REPORT, if not written yet, come first.
      if (pending_report_) write_report_locked(*std::exchange(pending_report_, std::nullopt));
      current_ = std::move(inv);
      current_done_ = std::move(done);
      tail_.clear();
      timed_out_ = false;
      append_platform_line("START RequestId: " + current_->request_id +
                           " Version: " + spec_.version);
      deliver = std::exchange(waiting_, {});
    }
    timeout_->set_after(std::chrono::seconds(spec_.timeout_seconds));
    if (deliver) send_event(std::move(deliver));
  }

  // Queues an invocation behind the running one. Over the runtime channel its
  // event is written now, so the runtime reads it as soon as it has sent the
  // running one's result; the server enforces its timeout and measures its
  // duration from when that result arrives, which is when it starts. Not when
  // either wants the log tail (its lines must not mix with the next call's),
  // nor behind a large event still being written. Requires mu_.
  void queue_locked(Invocation inv, InvokeCallback done) {
    next_ = std::move(inv);
    next_done_ = std::move(done);
    next_sent_ = false;
    if (channel_ && current_ && delivered_ && !current_->want_log_tail && !next_->want_log_tail &&
        !channel_write_busy_) {
      next_sent_ = true;
      write_channel(event_frame_locked(*next_));
    }
  }

  void stop() override {
    {
      std::lock_guard lk(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    {
      std::lock_guard lk(launch_mu_);  // a launch in progress finishes first
      if (process_) process_->kill();
    }
    if (server_) server_->stop();
  }

 private:
  enum class State { kStarting, kIdle, kBusy, kDead };

  // What a launch needs, made on the I/O thread: the output pipe, the Runtime
  // API server and the runtime channel. `child_ends` are the instance's ends
  // of the pipes, closed once it has them.
  struct PreparedLaunch {
    LaunchRequest request;
    std::vector<sandbox::UniqueFd> child_ends;
  };

  Result<PreparedLaunch> prepare_launch() {
    auto pipe_error = [] { return fail(SysError{"pipe: " + std::string(std::strerror(errno))}); };
    PreparedLaunch out;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return pipe_error();
    ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
    pipe_.assign(fds[0]);
    out.child_ends.emplace_back(fds[1]);

    std::weak_ptr<ProcessInstance> weak = weak_from_this();
    http::ServerOptions api_options{.host = "127.0.0.1",
                                    .port = 0,
                                    .max_body_bytes = kMaxResponseBytes + 1024 * 1024,
                                    .idle_timeout_seconds = 3600};
    api_options.accept_filter = [weak](std::string_view, uint16_t remote_port) {
      auto self = weak.lock();
      return self && self->is_own_connection(remote_port);
    };
    server_ = std::make_unique<http::Server>(
        io_, std::move(api_options), [weak](http::Request req, http::Reply reply) {
          if (auto self = weak.lock())
            self->on_runtime_api(std::move(req), std::move(reply));
          else
            reply(http::Response::json(410, R"({"errorMessage":"instance gone"})"));
        });
    auto port = server_->listen();
    if (!port) return fail(port.take_error());

    // The runtime channel (our runtimes use it instead of the HTTP API): a
    // pipe for events and one for results, both handled on one strand.
    int events[2], results[2];
    if (::pipe2(events, O_CLOEXEC) != 0) return pipe_error();
    out.child_ends.emplace_back(events[0]);
    if (::pipe2(results, O_CLOEXEC) != 0) {
      ::close(events[1]);
      return pipe_error();
    }
    out.child_ends.emplace_back(results[1]);
    ::fcntl(events[1], F_SETFL, O_NONBLOCK);  // write_channel() never blocks
    auto strand = asio::make_strand(io_);
    events_out_.emplace(strand, events[1]);
    results_in_.emplace(strand, results[0]);

    out.request.function = &spec_;
    out.request.instance_id = id_;
    out.request.output_fd = fds[1];
    out.request.channel_fds = {events[0], results[1]};
    out.request.env = environment(port.value());
    return out;
  }

  // Back on an I/O thread once the launch is over.
  void launched(const std::string& error) {
    if (!error.empty()) {
      ReadyCallback ready;
      {
        std::lock_guard lk(mu_);
        init_timer_.cancel();
        if (state_ == State::kStarting) {
          state_ = State::kDead;
          ready = std::exchange(on_ready_, nullptr);
        }
      }
      if (ready) ready(false, lambda_error("Runtime.Unavailable", error));
      return;
    }
    std::weak_ptr<ProcessInstance> weak = weak_from_this();
    if (auto pipes = process_->take_pipes()) adopt_pipes(std::move(*pipes));
    exit_watch_.assign(::dup(process_->exit_fd()));
    watch_output();
    read_channel();
    exit_watch_.async_wait(asio::posix::stream_descriptor::wait_read,
                           [weak](const boost::system::error_code&) {
                             if (auto self = weak.lock()) self->on_exit();
                           });
    bool unwanted;
    {
      std::lock_guard lk(mu_);
      unwanted = stopping_ || state_ == State::kDead;  // stopped or timed out meanwhile
    }
    if (unwanted) process_->kill();
  }

  // A prepared process's own pipes replace the ones prepare_launch() made
  // (nothing reads or writes those yet), set up the same way.
  void adopt_pipes(Process::Pipes pipes) {
    ::fcntl(pipes.output.get(), F_SETFL, O_NONBLOCK);
    ::fcntl(pipes.events.get(), F_SETFL, O_NONBLOCK);
    boost::system::error_code ec;
    pipe_.close(ec);
    pipe_.assign(pipes.output.release());
    events_out_->close(ec);
    events_out_->assign(pipes.events.release());
    results_in_->close(ec);
    results_in_->assign(pipes.results.release());
  }

  // Only the instance's own processes may use its Runtime API: another
  // instance (another uid) connecting to this port could otherwise take its
  // events. Not checked when instances are not isolated (they share our uid).
  bool is_own_connection(uint16_t remote_port) {
    std::lock_guard lk(launch_mu_);
    // Before the process exists nothing of the instance can connect.
    if (!process_) return !launcher_.isolated();
    if (process_->uid() == 0) return true;
    auto owner = http::loopback_peer_uid(remote_port, server_->port());
    if (owner == process_->uid()) return true;
    spdlog::warn("instance {} of {}: refused a Runtime API connection from uid {}", id_, spec_.name,
                 owner ? std::to_string(*owner) : "unknown");
    return false;
  }

  std::vector<std::string> environment(uint16_t api_port) const {
    std::vector<std::string> env;
    auto add = [&env](std::string_view k, std::string_view v) {
      env.push_back(std::string(k) + "=" + std::string(v));
    };
    // The function's own variables first; Lambda's reserved ones override them.
    for (const auto& [k, v] : spec_.environment) add(k, v);
    add("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:" + std::to_string(api_port));
    add(kRuntimeChannelFdEnv, kRuntimeChannelFds);
    add("AWS_LAMBDA_FUNCTION_NAME", spec_.name);
    add("AWS_LAMBDA_FUNCTION_VERSION", spec_.version);
    add("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", std::to_string(spec_.memory_mb));
    add("AWS_LAMBDA_LOG_GROUP_NAME", log_group_);
    add("AWS_LAMBDA_LOG_STREAM_NAME", log_stream_);
    add("AWS_LAMBDA_INITIALIZATION_TYPE", spec_.initialization_type);
    add("AWS_REGION", spec_.region);
    add("AWS_DEFAULT_REGION", spec_.region);
    add("_HANDLER", spec_.handler);
    add("TZ", ":UTC");
    add("LANG", "en_US.UTF-8");
    add("HOME", "/tmp");
    add("AWS_ACCESS_KEY_ID", env_.access_key_id);
    add("AWS_SECRET_ACCESS_KEY", env_.secret_access_key);
    if (!env_.session_token.empty()) add("AWS_SESSION_TOKEN", env_.session_token);
    add("NIMBUS_ENDPOINT_URL", env_.endpoint_url);
    add("AWS_ENDPOINT_URL", env_.endpoint_url);
    return env;
  }

  // ---- output: read on readiness under the lock so lines keep their order ----

  void watch_output() {
    std::weak_ptr<ProcessInstance> weak = weak_from_this();
    pipe_.async_wait(asio::posix::stream_descriptor::wait_read,
                     [weak](const boost::system::error_code& ec) {
                       auto self = weak.lock();
                       if (!self || ec) return;
                       bool open;
                       {
                         std::lock_guard lk(self->mu_);
                         open = self->drain_output_locked();
                       }
                       self->flush_logs();
                       if (open) self->watch_output();
                     });
  }

  // Reads whatever the pipe holds; returns false at end of file. Requires mu_.
  bool drain_output_locked() {
    if (!pipe_.is_open()) return false;
    char buf[16384];
    for (;;) {
      ssize_t n = ::read(pipe_.native_handle(), buf, sizeof buf);
      if (n > 0) {
        partial_.append(buf, static_cast<size_t>(n));
        size_t pos;
        while ((pos = partial_.find('\n')) != std::string::npos) {
          append_function_line(partial_.substr(0, pos));
          partial_.erase(0, pos + 1);
        }
        if (partial_.size() > 256 * 1024) {  // a line without end: cut it as CloudWatch does
          append_function_line(std::exchange(partial_, {}));
        }
        continue;
      }
      if (n == 0) {
        if (!partial_.empty()) append_function_line(std::exchange(partial_, {}));
        return false;
      }
      return errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK;
    }
  }

  void append_function_line(std::string line) {
    if (current_) {
      tail_ += line;
      tail_ += '\n';
    }
    pending_logs_.push_back(LogEvent{clock_.wall_ms(), std::move(line)});
  }

  void append_platform_line(std::string line) {
    if (current_) {
      tail_ += line;
      tail_ += '\n';
    }
    pending_logs_.push_back(LogEvent{clock_.wall_ms(), std::move(line)});
  }

  void flush_logs() {
    std::vector<LogEvent> batch;
    {
      std::lock_guard lk(mu_);
      batch.swap(pending_logs_);
    }
    if (!batch.empty()) logs_.append(log_group_, log_stream_, batch);
  }

  // ---- the Runtime API ----

  void on_runtime_api(http::Request req, http::Reply reply) {
    std::string_view path = req.path;
    if (!path.starts_with(kApiPrefix)) {
      reply(http::Response::json(404,
                                 R"({"errorMessage":"not found","errorType":"InvalidRequest"})"));
      return;
    }
    path.remove_prefix(kApiPrefix.size());
    if (path == "invocation/next" && req.method == "GET")
      return runtime_ready(Waiter{.http = std::move(reply)});
    if (path == "init/error" && req.method == "POST") {
      reply(http::Response::json(202, R"({"status":"OK"})"));
      return runtime_init_error(std::move(req.body));
    }
    if (path.starts_with("invocation/") && req.method == "POST") {
      path.remove_prefix(std::string_view("invocation/").size());
      auto slash = path.find('/');
      if (slash != std::string_view::npos) {
        std::string id(path.substr(0, slash));
        auto what = path.substr(slash + 1);
        if (what == "response") return on_result(id, false, std::move(req), std::move(reply));
        if (what == "error") return on_result(id, true, std::move(req), std::move(reply));
      }
    }
    reply(http::Response::json(
        404, R"({"errorMessage":"unknown Runtime API path","errorType":"InvalidRequest"})"));
  }

  // Who waits for the next event: a GET /invocation/next, or the channel.
  struct Waiter {
    http::Reply http;
    bool channel = false;
    explicit operator bool() const { return http || channel; }
  };

  // The runtime asks for work (either transport).
  void runtime_ready(Waiter waiter) {
    ReadyCallback ready;
    bool deliver = false;
    bool first_ready = false;
    {
      std::lock_guard lk(mu_);
      channel_ = waiter.channel;
      if (state_ == State::kStarting) {
        // The first poll for work means init is over: the instance is warm.
        state_ = State::kIdle;
        init_duration_ = clock_.now() - started_at_;
        init_timer_.cancel();
        // From now on CPU is shared in proportion to memory, as on Lambda
        // (1,769 MB = one full core).
        if (process_) process_->set_cpu_cores(spec_.memory_mb / 1769.0);
        ready = std::exchange(on_ready_, nullptr);
        first_ready = true;
      }
      if (state_ == State::kBusy && current_ && !delivered_) {
        deliver = true;
      } else {
        waiting_ = std::move(waiter);
      }
    }
    if (deliver) send_event(std::move(waiter));
    if (ready) ready(true, {});
    // After the first event is on its way: the launcher may start a snapshot
    // of the function now (a launch, so where launches run), even if this
    // instance is gone by then (a short call without keep-alive).
    if (first_ready) {
      std::function<void()> work;
      {
        std::lock_guard lk(launch_mu_);
        if (process_) work = process_->initialised();
      }
      if (work) run_launch_(std::move(work));
    }
  }

  void send_event(Waiter waiter) {
    http::Response r;
    std::string frame;
    {
      std::lock_guard lk(mu_);
      if (!current_) {
        waiting_ = std::move(waiter);
        return;
      }
      delivered_ = true;
      delivered_at_ = clock_.now();
      const Invocation& inv = *current_;
      if (waiter.channel) {
        frame = event_frame_locked(inv);
      } else {
        int64_t deadline = deadline_ms();
        std::string trace_id = trace_id_of(inv);
        std::string client_context = client_context_of(inv);
        const std::string& arn = inv.invoked_arn.empty() ? spec_.arn : inv.invoked_arn;
        r.status = 200;
        r.headers.set("Content-Type", "application/json");
        r.headers.set("Lambda-Runtime-Aws-Request-Id", inv.request_id);
        r.headers.set("Lambda-Runtime-Deadline-Ms", std::to_string(deadline));
        r.headers.set("Lambda-Runtime-Invoked-Function-Arn", arn);
        r.headers.set("Lambda-Runtime-Trace-Id", std::move(trace_id));
        if (!client_context.empty())
          r.headers.set("Lambda-Runtime-Client-Context", std::move(client_context));
        if (!inv.cognito_identity.empty())
          r.headers.set("Lambda-Runtime-Cognito-Identity", inv.cognito_identity);
        r.body = inv.payload;
      }
    }
    if (waiter.channel)
      write_channel(std::move(frame));
    else
      waiter.http(std::move(r));
  }

  int64_t deadline_ms() const {
    return clock_.wall_ms() + static_cast<int64_t>(spec_.timeout_seconds) * 1000;
  }
  std::string trace_id_of(const Invocation& inv) const {
    return inv.trace_id.empty() ? "Root=" + new_trace_id(clock_.wall_ms() / 1000) + ";Sampled=0"
                                : inv.trace_id;
  }
  static std::string client_context_of(const Invocation& inv) {
    std::string client_context;
    if (!inv.client_context.empty() && !base64_decode(inv.client_context, client_context))
      client_context = inv.client_context;
    return client_context;
  }
  std::string event_frame_locked(const Invocation& inv) const {
    return encode_event_frame({.request_id = inv.request_id,
                               .deadline_ms = deadline_ms(),
                               .invoked_arn = inv.invoked_arn.empty() ? spec_.arn : inv.invoked_arn,
                               .trace_id = trace_id_of(inv),
                               .client_context = client_context_of(inv),
                               .cognito_identity = inv.cognito_identity,
                               .payload = inv.payload});
  }

  void on_result(const std::string& id, bool is_error, http::Request req, http::Reply reply) {
    if (!is_error && req.body.size() > kMaxResponseBytes) {
      reply(http::Response::json(413, lambda_error("RequestEntityTooLarge", "response too large")));
      finish(id, true, response_too_large());
      return;
    }
    if (!is_current(id)) {
      reply(
          http::Response::json(400, lambda_error("InvalidRequestID", "Invalid request ID: " + id)));
      return;
    }
    std::string body = std::move(req.body);
    if (is_error && body.empty())
      body =
          lambda_error(req.headers.get_or("Lambda-Runtime-Function-Error-Type", "Unhandled"), "");
    // The caller's answer is queued before the runtime's acknowledgement.
    finish(id, is_error, std::move(body));
    reply(http::Response::json(202, R"({"status":"OK"})"));
  }

  bool is_current(const std::string& id) {
    std::lock_guard lk(mu_);
    return current_ && current_->request_id == id && delivered_;
  }

  static std::string response_too_large() {
    return lambda_error("Function.ResponseSizeTooLarge",
                        "Response payload size exceeded maximum allowed payload size (" +
                            std::to_string(kMaxResponseBytes) + " bytes).");
  }

  // ---- the runtime channel (faas/runtime_channel.h) ----

  void read_channel() {
    if (!channel_read_buf_) channel_read_buf_ = std::make_unique<char[]>(kChannelReadBytes);
    results_in_->async_read_some(
        asio::buffer(channel_read_buf_.get(), kChannelReadBytes),
        [weak = weak_from_this()](const boost::system::error_code& ec, size_t n) {
          if (auto self = weak.lock()) self->on_channel_bytes(ec, n);
        });
  }

  // Runs on the channel's strand, one call at a time.
  void on_channel_bytes(const boost::system::error_code& ec, size_t n) {
    if (ec) return;  // the runtime closed it (exited): on_exit() takes over
    channel_reader_.feed(std::string_view(channel_read_buf_.get(), n));
    for (;;) {
      auto m = channel_reader_.next();
      if (!m) return channel_broken(m.error());
      if (!*m) break;
      on_channel_message(std::move(**m));
    }
    read_channel();
  }

  void on_channel_message(RuntimeMessage m) {
    switch (m.kind) {
      case FrameKind::kReady:
        return runtime_ready(Waiter{.channel = true});
      case FrameKind::kResponse:
      case FrameKind::kError: {
        bool is_error = m.kind == FrameKind::kError;
        if (!is_current(m.request_id)) {
          spdlog::warn("instance {} of {}: result for unknown request {}", id_, spec_.name,
                       m.request_id);
          return runtime_ready(Waiter{.channel = true});
        }
        if (!is_error && m.payload.size() > kMaxResponseBytes) {
          is_error = true;
          m.payload = response_too_large();
        }
        if (is_error && m.payload.empty())
          m.payload = lambda_error(m.error_type.empty() ? "Unhandled" : m.error_type, "");
        // A result also asks for the next event: the runtime is waiting
        // before the pool can hand this instance more work inside finish().
        {
          std::lock_guard lk(mu_);
          waiting_ = Waiter{.channel = true};
        }
        return finish(m.request_id, is_error, std::move(m.payload));
      }
      case FrameKind::kInitError:
        return runtime_init_error(std::move(m.payload));
      case FrameKind::kEvent:
        return channel_broken(SysError{"runtime channel: a runtime sent an event frame"});
    }
  }

  void channel_broken(const SysError& e) {
    spdlog::warn("instance {} of {}: {}; stopping it", id_, spec_.name, e.message);
    std::string id;
    {
      std::lock_guard lk(mu_);
      if (current_ && delivered_ && e.err == EMSGSIZE) id = current_->request_id;
    }
    if (!id.empty()) finish(id, true, response_too_large(), /*dying=*/true);
    if (process_) process_->kill();
  }

  // Sends one event frame. A queued event is only written when the previous
  // write is complete, so two frames never interleave. The common case is
  // one non-blocking write from the calling thread; a large payload that does
  // not fit in the pipe is finished asynchronously on the strand. (A runtime
  // that is gone makes it EPIPE; SIGPIPE is ignored process-wide.)
  void write_channel(std::string frame) {
    int fd = events_out_->native_handle();
    ssize_t n = ::write(fd, frame.data(), frame.size());
    if (n == static_cast<ssize_t>(frame.size())) return;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return;  // runtime gone: on_exit()
    size_t sent = n < 0 ? 0 : static_cast<size_t>(n);
    auto rest = std::make_shared<std::string>(frame.substr(sent));
    channel_write_busy_ = true;  // no queued event may be written behind it
    asio::post(events_out_->get_executor(), [weak = weak_from_this(), rest] {
      auto self = weak.lock();
      if (!self) return;
      asio::async_write(*self->events_out_, asio::buffer(*rest),
                        [weak, rest](const boost::system::error_code&, size_t) {
                          if (auto self = weak.lock()) self->channel_write_busy_ = false;
                        });
    });
  }

  // Completes the current invocation (once) and returns the instance to idle.
  // Unless the caller wants the log tail, the answer goes out before END and
  // REPORT are written (reading the cgroup's peak memory and appending logs
  // are not the caller's wait); the lines still precede the next START.
  void finish(const std::string& id, bool is_error, std::string payload, bool dying = false) {
    InvokeCallback done;
    InvokeResult result;
    bool report_now;
    bool promoted = false;
    Waiter deliver;
    InvokeCallback not_started_done;
    InvokeResult not_started;
    {
      std::lock_guard lk(mu_);
      if (!current_ || current_->request_id != id || !current_done_) return;
      // The runtime flushed its output before answering: take it now so the
      // invocation's lines precede END and appear in the log tail.
      drain_output_locked();
      PendingReport report{id, delivered_ ? clock_.now() - delivered_at_ : Duration::zero(),
                           std::nullopt};
      take_contention_sample_locked(report.duration, result);
      // An instance initialised ahead (provisioned concurrency) reports no
      // Init Duration: no invocation waited for its init, as on Lambda.
      if (!reported_init_ && spec_.initialization_type == "on-demand") {
        report.init = init_duration_;
        reported_init_ = true;
      }
      report_now = current_->want_log_tail || dying;
      if (report_now)
        write_report_locked(report);
      else
        pending_report_ = std::move(report);
      result.status = is_error ? InvokeResult::Status::kFunctionError : InvokeResult::Status::kOk;
      result.payload = std::move(payload);
      result.executed_version = spec_.version;
      result.instance_lost = dying;
      if (current_->want_log_tail)
        result.log_tail =
            tail_.size() > kLogTailBytes ? tail_.substr(tail_.size() - kLogTailBytes) : tail_;
      done = std::exchange(current_done_, nullptr);
      current_.reset();
      delivered_ = false;
      if (next_ && dying) {
        not_started.not_started = std::make_shared<Invocation>(std::move(*next_));
        next_.reset();
        not_started_done = std::exchange(next_done_, nullptr);
      } else if (next_) {
        // The queued invocation starts now; its START follows this one's END.
        if (!report_now) write_report_locked(*std::exchange(pending_report_, std::nullopt));
        report_now = true;
        promoted = true;
        current_ = std::move(next_);
        next_.reset();
        current_done_ = std::exchange(next_done_, nullptr);
        timed_out_ = false;
        tail_.clear();
        append_platform_line("START RequestId: " + current_->request_id +
                             " Version: " + spec_.version);
        if (next_sent_) {
          // The runtime reads the event it already has in the pipe.
          delivered_ = true;
          delivered_at_ = clock_.now();
          waiting_ = {};
        } else {
          deliver = std::exchange(waiting_, {});
        }
      }
      if (!dying && !promoted && state_ == State::kBusy) state_ = State::kIdle;
    }
    if (timeout_) timeout_->clear();
    if (promoted) timeout_->set_after(std::chrono::seconds(spec_.timeout_seconds));
    if (deliver) send_event(std::move(deliver));
    if (report_now) flush_logs();
    done(std::move(result));
    if (not_started_done) not_started_done(std::move(not_started));
    if (!report_now) {
      // After the handlers already queued (the caller's answer among them).
      asio::post(io_, [weak = weak_from_this()] {
        auto self = weak.lock();
        if (!self) return;
        {
          std::lock_guard lk(self->mu_);
          if (self->pending_report_)
            self->write_report_locked(*std::exchange(self->pending_report_, std::nullopt));
        }
        self->flush_logs();
      });
    }
  }

  // Every few invocations (or after a long one), the runtime's run-queue
  // wait since the previous sample, for the pool's concurrency limit. Reading
  // /proc/PID/schedstat is a pread, so it is not done on every call.
  void take_contention_sample_locked(Duration duration, InvokeResult& result) {
    constexpr int kSampleEvery = 4;
    constexpr Duration kLongInvocation = std::chrono::milliseconds(20);
    sample_busy_ += duration;
    if (++since_sample_ < kSampleEvery && sample_busy_ < kLongInvocation) return;
    auto stat = process_ ? process_->sched_stat() : std::nullopt;
    if (!stat) return;
    if (sampled_before_) {
      result.sample_busy = sample_busy_;
      result.sample_run_delay = std::chrono::nanoseconds(stat->run_delay_ns - last_run_delay_ns_);
    }
    sampled_before_ = true;
    last_run_delay_ns_ = stat->run_delay_ns;
    sample_busy_ = Duration::zero();
    since_sample_ = 0;
  }

  struct PendingReport {
    std::string request_id;
    Duration duration;
    std::optional<Duration> init;
  };

  // Appends END and REPORT for a finished invocation. Requires mu_.
  void write_report_locked(const PendingReport& r) {
    append_platform_line("END RequestId: " + r.request_id);
    append_platform_line(report_line(r.request_id, r.duration, spec_.memory_mb,
                                     peak_memory_locked(r.duration), r.init,
                                     process_ ? process_->launch_path() : std::string_view{}));
  }

  // Max Memory Used: the cgroup's high-water mark, one pread, which was a
  // tenth of the front door's syscalls when read per call. It is re-read when
  // the last reading is 100 ms old or after a call that long (wall time: under
  // load even a hello call waits milliseconds for a CPU, so a shorter bound
  // would read it every time). Requires mu_.
  uint64_t peak_memory_locked(Duration call) {
    constexpr Duration kLongCall = std::chrono::milliseconds(100);
    constexpr Duration kMaxAge = std::chrono::milliseconds(100);
    if (!process_) return 0;
    TimePoint now = clock_.now();
    if (call >= kLongCall || !peak_read_at_ || now - *peak_read_at_ >= kMaxAge) {
      peak_memory_ = process_->peak_memory_bytes();
      peak_read_at_ = now;
    }
    return peak_memory_;
  }

  void runtime_init_error(std::string body) {
    ReadyCallback ready;
    {
      std::lock_guard lk(mu_);
      if (state_ != State::kStarting) return;
      state_ = State::kDead;
      ready = std::exchange(on_ready_, nullptr);
      init_error_ = body.empty() ? lambda_error("Runtime.Unknown", "init failed") : std::move(body);
      drain_output_locked();
    }
    flush_logs();
    if (process_) process_->kill();
    if (ready) ready(false, init_error_);
  }

  void on_init_timeout() {
    ReadyCallback ready;
    {
      std::lock_guard lk(mu_);
      if (state_ != State::kStarting) return;
      state_ = State::kDead;
      ready = std::exchange(on_ready_, nullptr);
      append_platform_line("INIT_REPORT Init Duration: " + fmt2(ms(clock_.now() - started_at_)) +
                           " ms\tPhase: init\tStatus: timeout");
    }
    flush_logs();
    {
      std::lock_guard lk(launch_mu_);  // a launch in progress finishes first
      if (process_) process_->kill();
    }
    if (ready)
      ready(false, lambda_error("Runtime.InitTimeout",
                                "Init phase did not complete within " +
                                    std::to_string(env_.init_timeout_seconds) + " seconds"));
  }

  void on_timeout() {
    std::string id;
    {
      std::lock_guard lk(mu_);
      if (state_ != State::kBusy || !current_) return;
      id = current_->request_id;
      timed_out_ = true;
      drain_output_locked();
      std::string secs = format_seconds(std::chrono::seconds(spec_.timeout_seconds));
      append_platform_line(iso_now() + " " + id + " Task timed out after " + secs + " seconds");
    }
    // The instance is killed at the deadline; the next call gets a fresh one.
    if (process_) process_->kill();
    finish(
        id, true,
        lambda_error("Sandbox.Timedout",
                     "RequestId: " + id + " Error: Task timed out after " +
                         format_seconds(std::chrono::seconds(spec_.timeout_seconds)) + " seconds"),
        /*dying=*/true);
  }

  void on_exit() {
    int status = 0;
    if (process_)
      if (auto s = process_->try_reap()) status = *s;
    std::string how = WIFSIGNALED(status) ? "signal: " + std::string(signal_name(WTERMSIG(status)))
                                          : "exit status " + std::to_string(WEXITSTATUS(status));
    bool oom = process_ && process_->oom_killed();
    ReadyCallback ready;
    std::string current_id;
    {
      std::lock_guard lk(mu_);
      drain_output_locked();
      if (state_ == State::kStarting) ready = std::exchange(on_ready_, nullptr);
      if (state_ == State::kBusy && current_) current_id = current_->request_id;
      state_ = State::kDead;
      if (!current_id.empty() && !timed_out_)
        append_platform_line("RequestId: " + current_id + " Error: Runtime exited with error: " +
                             how + (oom ? "\nRuntime.ExitError" : ""));
    }
    flush_logs();
    init_timer_.cancel();
    if (ready)
      ready(false, lambda_error("Runtime.ExitError",
                                "RequestId: (init) Error: Runtime exited with error: " + how));
    if (!current_id.empty())
      finish(current_id, true,
             lambda_error("Runtime.ExitError",
                          "RequestId: " + current_id + " Error: Runtime exited with error: " + how),
             /*dying=*/true);
    if (server_) server_->stop();
    boost::system::error_code ec;
    pipe_.close(ec);
    if (auto death = std::exchange(on_death_, nullptr)) death();
  }

  static const char* signal_name(int sig) {
    switch (sig) {
      case SIGKILL:
        return "killed";
      case SIGSEGV:
        return "segmentation fault";
      case SIGABRT:
        return "aborted";
      case SIGTERM:
        return "terminated";
      default:
        return strsignal(sig);
    }
  }

  std::string iso_now() const { return iso8601_ms(clock_.wall_ms()); }

  asio::io_context& io_;
  Clock& clock_;
  Launcher& launcher_;
  LogSink& logs_;
  const InstanceEnvironment env_;
  const FunctionSpec spec_;
  const std::string id_;
  std::string log_group_, log_stream_;

  std::unique_ptr<http::Server> server_;
  std::unique_ptr<Process> process_;
  asio::posix::stream_descriptor pipe_;
  asio::posix::stream_descriptor exit_watch_;
  TimerHandle init_timer_;

  ReadyCallback on_ready_;
  DeathCallback on_death_;

  std::mutex launch_mu_;  // guards process_ while it is being created
  RunLaunch run_launch_;
  std::mutex mu_;
  State state_ = State::kStarting;
  bool stopping_ = false;
  TimePoint started_at_{};
  Duration init_duration_{};
  bool reported_init_ = false;
  std::string init_error_;
  std::optional<Invocation> current_;
  InvokeCallback current_done_;
  // One invocation queued behind the running one (queue_locked), and whether
  // its event is already in the runtime channel.
  std::optional<Invocation> next_;
  InvokeCallback next_done_;
  bool next_sent_ = false;
  bool channel_ = false;  // the runtime uses the channel, not the HTTP Runtime API
  std::atomic<bool> channel_write_busy_ = false;
  bool delivered_ = false;
  bool timed_out_ = false;
  TimePoint delivered_at_{};
  Waiter waiting_;  // the runtime's request for the next event, if it waits
  std::optional<PendingReport> pending_report_;
  std::string partial_;
  std::string tail_;
  std::vector<LogEvent> pending_logs_;
  static constexpr size_t kChannelReadBytes = 64 * 1024;
  // The runtime channel's pipes, on one strand.
  std::optional<asio::posix::stream_descriptor> events_out_, results_in_;
  std::unique_ptr<char[]> channel_read_buf_;
  FrameReader channel_reader_{kMaxResponseBytes + 64 * 1024};
  // Moved on every invoke, so it must not touch the timer queue each time.
  // Created in start(), where weak_from_this() works.
  std::optional<LazyDeadline> timeout_;
  uint64_t peak_memory_ = 0;  // peak_memory_locked()
  std::optional<TimePoint> peak_read_at_;
  // Contention sampling (take_contention_sample_locked).
  Duration sample_busy_{};
  int since_sample_ = 0;
  bool sampled_before_ = false;
  uint64_t last_run_delay_ns_ = 0;
};

}  // namespace

ProcessInstanceFactory::ProcessInstanceFactory(asio::io_context& io, Clock& clock,
                                               Launcher& launcher, LogSink& logs,
                                               InstanceEnvironment env, RunLaunch run_launch)
    : io_(io),
      clock_(clock),
      launcher_(launcher),
      logs_(logs),
      env_(std::move(env)),
      run_launch_(run_launch ? std::move(run_launch)
                             : RunLaunch([](std::function<void()> f) { f(); })) {}

std::shared_ptr<Instance> ProcessInstanceFactory::create(const FunctionSpec& spec) {
  return std::make_shared<ProcessInstance>(io_, clock_, launcher_, logs_, env_, spec, run_launch_);
}

std::string new_log_stream_name(int64_t wall_ms, std::string_view version) {
  std::time_t t = wall_ms / 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y/%m/%d", &tm);
  return std::string(buf) + "/[" + std::string(version) + "]" + random_hex(16);
}

std::string format_seconds(Duration d) {
  return fmt2(std::chrono::duration<double>(d).count());
}

std::string report_line(std::string_view request_id, Duration duration, int memory_mb,
                        uint64_t max_memory_bytes, std::optional<Duration> init_duration,
                        std::string_view launch_path) {
  double d = ms(duration);
  auto billed = static_cast<int64_t>(std::ceil(d));
  if (billed < 1) billed = 1;
  uint64_t used_mb = (max_memory_bytes + (1 << 20) - 1) >> 20;
  std::string line = "REPORT RequestId: " + std::string(request_id) + "\tDuration: " + fmt2(d) +
                     " ms\tBilled Duration: " + std::to_string(billed) +
                     " ms\tMemory Size: " + std::to_string(memory_mb) +
                     " MB\tMax Memory Used: " + std::to_string(used_mb) + " MB";
  if (init_duration) {
    line += "\tInit Duration: " + fmt2(ms(*init_duration)) + " ms";
    if (!launch_path.empty()) line += "\tLaunch: " + std::string(launch_path);
  }
  return line;
}

}  // namespace nimbus::faas
