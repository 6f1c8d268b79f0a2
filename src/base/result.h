// Result<T, E>: a value or an expected failure, returned instead of thrown.
//
// The project's error policy: expected failures (not found, condition failed,
// throttled, bad input) travel as values; exceptions are reserved for broken
// invariants and are caught at the request boundary, failing one request only.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace nimbus {

// A system-level failure below the AWS layer (store, sandbox, files).
struct SysError {
  std::string message;
  int err = 0;  // errno when the failure came from a system call, else 0
};

template <class E>
struct Failure {
  E error;
};
template <class E>
Failure<std::decay_t<E>> fail(E&& e) {
  return {std::forward<E>(e)};
}

template <class T, class E = SysError>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  template <class E2>
  Result(Failure<E2> f) : v_(std::in_place_index<1>, E(std::move(f.error))) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const E& error() const { return std::get<1>(v_); }
  E&& take_error() { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, E> v_;
};

// Result of an operation with no value.
template <class E>
class [[nodiscard]] Result<void, E> {
 public:
  Result() = default;
  template <class E2>
  Result(Failure<E2> f) : err_(E(std::move(f.error))), failed_(true) {}
  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const E& error() const { return err_; }
  E&& take_error() { return std::move(err_); }

 private:
  E err_{};
  bool failed_ = false;
};

using Status = Result<void, SysError>;

// Builds a SysError from errno with a prefix naming what failed.
SysError sys_error(std::string what);

}  // namespace nimbus
