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

// The steady-clock instant of a wall-clock deadline given in milliseconds since the Unix epoch
// (what the Lambda Runtime API sends as Lambda-Runtime-Deadline-Ms). Read once, when the deadline
// arrives: later wall-clock steps (NTP) then no longer move it.
inline TimePoint steady_deadline_from_epoch_ms(long long epoch_ms) noexcept {
  using namespace std::chrono;
  const long long now_ms = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  return steady_clock::now() + duration_cast<Duration>(milliseconds(epoch_ms - now_ms));
}

template <class C, class = void>
struct is_clock : std::false_type {};
template <class C>
struct is_clock<C, std::void_t<decltype(std::declval<const C&>().now())>>
    : std::is_same<decltype(std::declval<const C&>().now()), TimePoint> {};
template <class C>
inline constexpr bool is_clock_v = is_clock<C>::value;

}  // namespace svcres
