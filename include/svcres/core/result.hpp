#pragma once
// Result<T>: a value or an Errc, with no exceptions and no heap.
//
//   auto r = IpAddress::parse(text);
//   IpAddress a;
//   if (auto err = r.get(a); err != Errc::ok) return err;
//
// Accessing value() of an error result is a contract violation; it is checked with assert() in debug
// builds and is undefined otherwise, as with std::optional::operator*.

#include <cassert>
#include <new>
#include <type_traits>
#include <utility>

#include "svcres/core/errc.hpp"

namespace svcres {

template <class T>
class [[nodiscard]] Result {
  static_assert(!std::is_reference_v<T>, "Result<T> holds values; use Result<std::reference_wrapper<T>> for references.");

 public:
  Result(const T& v) noexcept(std::is_nothrow_copy_constructible_v<T>) : err_(Errc::ok) { new (&value_) T(v); }
  Result(T&& v) noexcept(std::is_nothrow_move_constructible_v<T>) : err_(Errc::ok) { new (&value_) T(std::move(v)); }
  Result(Errc e) noexcept : err_(e) { assert(e != Errc::ok && "an ok Result needs a value"); }

  Result(const Result& o) noexcept(std::is_nothrow_copy_constructible_v<T>) : err_(o.err_) {
    if (o.ok()) new (&value_) T(o.value_);
  }
  Result(Result&& o) noexcept(std::is_nothrow_move_constructible_v<T>) : err_(o.err_) {
    if (o.ok()) new (&value_) T(std::move(o.value_));
  }
  Result& operator=(const Result& o) {
    if (this != &o) {
      reset();
      err_ = o.err_;
      if (o.ok()) new (&value_) T(o.value_);
    }
    return *this;
  }
  Result& operator=(Result&& o) noexcept(std::is_nothrow_move_constructible_v<T>) {
    if (this != &o) {
      reset();
      err_ = o.err_;
      if (o.ok()) new (&value_) T(std::move(o.value_));
    }
    return *this;
  }
  ~Result() { reset(); }

  bool ok() const noexcept { return err_ == Errc::ok; }
  explicit operator bool() const noexcept { return ok(); }
  Errc error() const noexcept { return err_; }

  T& value() & noexcept { assert(ok()); return value_; }
  const T& value() const& noexcept { assert(ok()); return value_; }
  T&& value() && noexcept { assert(ok()); return std::move(value_); }
  T* operator->() noexcept { return &value(); }
  const T* operator->() const noexcept { return &value(); }
  T& operator*() & noexcept { return value(); }
  const T& operator*() const& noexcept { return value(); }

  // Moves the value into `out` when ok; returns the error either way.
  Errc get(T& out) && noexcept(std::is_nothrow_move_assignable_v<T>) {
    if (ok()) out = std::move(value_);
    return err_;
  }
  Errc get(T& out) const& noexcept(std::is_nothrow_copy_assignable_v<T>) {
    if (ok()) out = value_;
    return err_;
  }
  // By reference: a large T (ResolvConf) is copied once, not into a parameter first.
  T value_or(const T& fallback) const& { return ok() ? value_ : fallback; }
  T value_or(const T& fallback) && { return ok() ? std::move(value_) : fallback; }

 private:
  void reset() noexcept {
    if (ok()) value_.~T();
    err_ = Errc::invalid_argument;
  }

  union {
    T value_;
  };
  Errc err_;
};

// Result<void>: only the error code.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() noexcept = default;
  Result(Errc e) noexcept : err_(e) {}
  bool ok() const noexcept { return err_ == Errc::ok; }
  explicit operator bool() const noexcept { return ok(); }
  Errc error() const noexcept { return err_; }

 private:
  Errc err_ = Errc::ok;
};

using Status = Result<void>;

}  // namespace svcres
