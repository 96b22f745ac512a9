#pragma once
// Clocks. Every timing decision in the library (TTL, ejection, EWMA decay, backoff, deadlines) reads
// a clock passed as a template parameter, so unit tests drive time by hand and a host without
// std::chrono::steady_clock can supply its own.
//
// A Clock is any type with `time_point now() const noexcept` where time_point is
// std::chrono::steady_clock::time_point (monotonic; a frozen Lambda resumes with a later value).

#include <chrono>
#include <type_traits>

namespace svcres {

using TimePoint = std::chrono::steady_clock::time_point;
using Duration = std::chrono::steady_clock::duration;

struct SteadyClock {
  TimePoint now() const noexcept { return std::chrono::steady_clock::now(); }
};

// A clock that moves only when told; for tests and simulations. Not thread-safe to advance while
// other threads read it.
class ManualClock {
 public:
  explicit ManualClock(TimePoint start = TimePoint{} + std::chrono::hours(1)) noexcept : now_(start) {}
  TimePoint now() const noexcept { return now_; }
  void advance(Duration d) noexcept { now_ += d; }
  void set(TimePoint t) noexcept { now_ = t; }

 private:
  TimePoint now_;
};

template <class C, class = void>
struct is_clock : std::false_type {};
template <class C>
struct is_clock<C, std::void_t<decltype(std::declval<const C&>().now())>>
    : std::is_same<decltype(std::declval<const C&>().now()), TimePoint> {};
template <class C>
inline constexpr bool is_clock_v = is_clock<C>::value;

}  // namespace svcres
