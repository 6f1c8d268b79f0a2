// One execution environment of one function version, as the pool sees it.
//
// Lifecycle (a named state machine, as OpenWhisk's):
//   Starting --ready--> Idle <--> Busy --> Dead
//   Starting --init failure / exit--> Dead
// The pool calls start() once, then invoke() while the instance is idle or
// (at most one queued invocation) busy, and stop() at most once. Callbacks run on an I/O thread,
// never under the pool's lock (the pool must not call back into an instance while holding it).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "faas/function_spec.h"
#include "faas/invocation.h"

namespace nimbus::faas {

class Instance {
 public:
  // Called once when start() finishes. ok=false: the instance is dead, and
  // `init_error` is Lambda's error body for the invocation that was waiting.
  using ReadyCallback = std::function<void(bool ok, std::string init_error)>;
  // Called once when the instance dies for any reason (exit, kill, stop).
  using DeathCallback = std::function<void()>;

  virtual ~Instance() = default;
  virtual const std::string& id() const = 0;
  virtual void start(ReadyCallback on_ready, DeathCallback on_death) = 0;
  // Runs one invocation; `done` is called exactly once. After `done`, the
  // instance is idle again unless it died (then on_death follows) or an
  // invocation was queued behind this one, which then starts at once.
  //
  // On a busy instance, invoke() queues the invocation behind the running one
  // (one at most): the runtime still runs one invocation at a time, but finds
  // the next event waiting when it asks, instead of sleeping until the server
  // has handed it over (see Pool, "queued behind"). If the instance dies
  // before a queued invocation starts, its `done` gets a result with
  // `not_started` set, holding the invocation.
  virtual void invoke(Invocation inv, InvokeCallback done) = 0;
  // Kills the instance. Idempotent. An invocation in flight completes with an error.
  virtual void stop() = 0;
};

// Creates instances; the pool's only way to make one. The real factory launches
// sandboxed processes; unit tests use a fake.
class InstanceFactory {
 public:
  virtual ~InstanceFactory() = default;
  virtual std::shared_ptr<Instance> create(const FunctionSpec& spec) = 0;
};

}  // namespace nimbus::faas
