// The real clock: steady time, with timers on a Boost.Asio executor.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include "base/clock.h"

namespace nimbus {

class AsioClock final : public Clock {
 public:
  explicit AsioClock(boost::asio::any_io_executor ex) : ex_(std::move(ex)) {}
  TimePoint now() const override;
  int64_t wall_ms() const override;
  TimerHandle call_at(TimePoint when, std::function<void()> fn) override;

 private:
  boost::asio::any_io_executor ex_;
};

}  // namespace nimbus
