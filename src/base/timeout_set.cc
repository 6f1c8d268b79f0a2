#include "base/timeout_set.h"

#include <vector>

namespace nimbus {

TimeoutSet::TimeoutSet(Clock& clock) : clock_(clock), earliest_(clock, [this] { expire_due(); }) {}

TimeoutSet::Handle TimeoutSet::add(Duration after, std::function<void()> on_expire) {
  Handle h{clock_.now() + after, 0};
  std::lock_guard lk(mu_);
  h.id = ++next_id_;
  auto it = pending_.emplace(std::pair{h.at, h.id}, std::move(on_expire)).first;
  if (it == pending_.begin()) earliest_.set(h.at);
  return h;
}

bool TimeoutSet::cancel(const Handle& h) {
  if (h.id == 0) return false;
  std::lock_guard lk(mu_);
  // The lazy deadline may stay at a removed entry's time: it then finds
  // nothing due and moves on to the next one.
  return pending_.erase({h.at, h.id}) == 1;
}

size_t TimeoutSet::size() const {
  std::lock_guard lk(mu_);
  return pending_.size();
}

void TimeoutSet::expire_due() {
  std::vector<std::function<void()>> due;
  {
    std::lock_guard lk(mu_);
    TimePoint now = clock_.now();
    auto it = pending_.begin();
    for (; it != pending_.end() && it->first.first <= now; ++it)
      due.push_back(std::move(it->second));
    pending_.erase(pending_.begin(), it);
    if (!pending_.empty()) earliest_.set(pending_.begin()->first.first);
  }
  for (auto& fn : due) fn();
}

}  // namespace nimbus
