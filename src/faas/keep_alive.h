// How long an idle instance is kept before it is reclaimed. The pool asks the
// policy each time an instance becomes idle; a later issue adds an adaptive
// (histogram-based) policy behind the same interface.
#pragma once

#include <string_view>

#include "base/clock.h"

namespace nimbus::faas {

class KeepAlivePolicy {
 public:
  virtual ~KeepAlivePolicy() = default;
  // Called when an instance of `pool_key` becomes idle at `now`.
  virtual Duration keep_alive(std::string_view pool_key, TimePoint now) = 0;
  // Called for every invocation arrival, so policies can learn patterns.
  virtual void on_arrival(std::string_view pool_key, TimePoint now) {}
};

// Lambda's observed behaviour and the chapter's figure: a fixed idle time.
class FixedKeepAlive final : public KeepAlivePolicy {
 public:
  explicit FixedKeepAlive(Duration d) : d_(d) {}
  Duration keep_alive(std::string_view, TimePoint) override { return d_; }

 private:
  Duration d_;
};

}  // namespace nimbus::faas
