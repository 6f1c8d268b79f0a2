// The invoke path of LambdaService: RequestResponse, Event (durably queued) and
// DryRun, and the throttling answers. Kept apart from the control plane because
// it is the hot path: it runs on the I/O thread and touches only memory until
// the pool answers.
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <random>

#include "base/ids.h"
#include "services/lambda/lambda_service.h"
#include "services/lambda/names.h"

namespace nimbus::services::lambda {

namespace json = boost::json;
using aws::ApiError;

namespace {

double random_unit() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0, 1)(rng);
}

ApiError throttled(faas::Admission a) {
  auto e = ApiError::make(429, "TooManyRequestsException", "Rate Exceeded.");
  e.extra_json = a == faas::Admission::kFunctionLimit
                     ? R"("Reason":"ReservedFunctionConcurrentInvocationLimitExceeded")"
                     : R"("Reason":"ConcurrentInvocationLimitExceeded")";
  return e;
}

// Lambda accepts any JSON value as the event.
bool is_json(std::string_view payload, std::string& why) {
  boost::system::error_code ec;
  json::parse(payload, ec);
  if (ec) why = ec.message();
  return !ec;
}

}  // namespace

void LambdaService::invoke(const std::string& function, const std::string& qualifier,
                           faas::Invocation inv, faas::InvokeCallback done,
                           std::function<void(ApiError)> rejected) {
  auto target = registry_.resolve(function, qualifier, random_unit());
  if (!target) return rejected(target.error());
  if (inv.invoked_arn.empty()) inv.invoked_arn = target->invoked_arn;
  auto a = pool_.invoke(*target->spec, target->reserved, std::move(inv), std::move(done));
  if (a != faas::Admission::kAdmitted) rejected(throttled(a));
}

void LambdaService::invoke_api(aws::Call& call, const Route& r) {
  auto ref = parse_function_ref_with_qualifier(r.function,
                                               http::query_value(call.http.query, "Qualifier"));
  if (!ref) return reply_error(call, ref.error());
  std::string qualifier = ref->qualifier;

  std::string type = call.http.headers.get_or("X-Amz-Invocation-Type", "RequestResponse");
  if (type != "RequestResponse" && type != "Event" && type != "DryRun")
    return reply_error(call, ApiError::invalid_parameter("Invalid invocation type: " + type));
  size_t limit = type == "Event" ? options_.max_async_payload : options_.max_sync_payload;
  if (call.http.body.size() > limit)
    return reply_error(call,
                       ApiError::make(413, "RequestTooLargeException",
                                      "Request must be smaller than " + std::to_string(limit) +
                                          " bytes for the InvokeFunction operation"));
  std::string payload = call.http.body.empty() ? "{}" : std::move(call.http.body);
  std::string why;
  if (!is_json(payload, why))
    return reply_error(call, ApiError::make(400, "InvalidRequestContentException",
                                            "Could not parse request body into json: Could not "
                                            "parse payload into json: " +
                                                why));
  std::string log_type = call.http.headers.get_or("X-Amz-Log-Type", "None");

  auto target = registry_.resolve(ref->name, qualifier, random_unit());
  if (!target) return reply_error(call, target.error());

  if (type == "DryRun") {
    http::Response resp;
    resp.status = 204;
    resp.headers.set("x-amzn-RequestId", call.request_id);
    return call.reply(std::move(resp));
  }
  if (type == "Event") return enqueue_event(call, ref->name, qualifier, std::move(payload));

  faas::Invocation inv;
  inv.request_id = call.request_id;
  inv.payload = std::move(payload);
  inv.invoked_arn = target->invoked_arn;
  inv.client_context = call.http.headers.get_or("X-Amz-Client-Context");
  inv.want_log_tail = log_type == "Tail";
  auto reply = call.reply;
  std::string request_id = call.request_id;
  bool tail = inv.want_log_tail;
  auto a = pool_.invoke(*target->spec, target->reserved, std::move(inv),
                        [reply, request_id, tail](faas::InvokeResult res) {
                          http::Response resp;
                          resp.status = 200;
                          resp.headers.set("Content-Type", "application/json");
                          resp.headers.set("x-amzn-RequestId", request_id);
                          resp.headers.set("X-Amz-Executed-Version", res.executed_version.empty()
                                                                         ? "$LATEST"
                                                                         : res.executed_version);
                          if (res.status == faas::InvokeResult::Status::kFunctionError)
                            resp.headers.set("X-Amz-Function-Error", "Unhandled");
                          if (tail)
                            resp.headers.set("X-Amz-Log-Result", base64_encode(res.log_tail));
                          resp.body = std::move(res.payload);
                          reply(std::move(resp));
                        });
  if (a != faas::Admission::kAdmitted) reply_error(call, throttled(a));
}

void LambdaService::enqueue_event(aws::Call& call, const std::string& name,
                                  const std::string& qualifier, std::string payload) {
  // The durable write happens off the I/O thread; the 202 follows the fsync.
  boost::asio::post(worker_, [this, call = std::move(call), name, qualifier,
                              payload = std::move(payload)]() mutable {
    QueuedEvent ev{{}, name, qualifier, std::move(payload), call.request_id};
    {
      std::lock_guard lk(events_mu_);
      char key[40];
      std::snprintf(key, sizeof key, "lambda/event/%020llu",
                    static_cast<unsigned long long>(next_event_seq_++));
      ev.key = key;
    }
    json::object o{{"function", ev.function},
                   {"qualifier", ev.qualifier},
                   {"payload", ev.payload},
                   {"request_id", ev.request_id}};
    if (auto st = store_.put(ev.key, json::serialize(o)); !st)
      return reply_error(call, ApiError::service_failure(st.error().message));
    {
      std::lock_guard lk(events_mu_);
      events_.push_back(std::move(ev));
    }
    http::Response resp;
    resp.status = 202;
    resp.headers.set("x-amzn-RequestId", call.request_id);
    call.reply(std::move(resp));
    pump_events();
  });
}

void LambdaService::pump_events() {
  std::weak_ptr<bool> alive = alive_;
  for (;;) {
    QueuedEvent ev;
    {
      // Taking the event off the queue before invoking keeps concurrent pumps
      // from running it twice; a throttled event goes back to the front.
      std::lock_guard lk(events_mu_);
      if (events_.empty()) return;
      ev = std::move(events_.front());
      events_.pop_front();
    }
    faas::Invocation inv;
    inv.request_id = ev.request_id;
    inv.payload = ev.payload;  // copied: a throttled event is queued again
    bool retry_later = false, drop = false;
    std::string key = ev.key;
    invoke(
        ev.function, ev.qualifier, std::move(inv),
        [this, alive, key](faas::InvokeResult) {
          // Done (success or function error; retries arrive with the queues
          // issue): forget the event durably.
          if (!alive.lock()) return;
          boost::asio::post(worker_, [this, alive, key] {
            if (alive.lock()) (void)store_.del(key);
          });
        },
        [&](ApiError e) {
          if (e.status == 429) {
            retry_later = true;
          } else {
            spdlog::warn("lambda: dropping event {}: {}", key, e.message);
            drop = true;
          }
        });
    std::lock_guard lk(events_mu_);
    if (retry_later) {
      events_.push_front(std::move(ev));
      // Throttled: Lambda keeps retrying queued events; try again shortly.
      if (!pump_scheduled_) {
        pump_scheduled_ = true;
        pump_timer_ = clock_.call_after(std::chrono::milliseconds(100), [this, alive] {
          if (!alive.lock()) return;
          boost::asio::post(worker_, [this, alive] {
            if (!alive.lock()) return;
            {
              std::lock_guard lk(events_mu_);
              pump_scheduled_ = false;
            }
            pump_events();
          });
        });
      }
      return;
    }
    if (drop) (void)store_.del(key);
  }
}

}  // namespace nimbus::services::lambda
