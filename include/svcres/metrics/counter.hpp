#pragma once
// Counter and Gauge: one atomic word each, updated without locks from any thread.
//
// Memory order: relaxed everywhere. A counter orders nothing else; a reader (an exporter) wants a
// recent value, not a consistent cut across counters. Two counters read one after the other may
// therefore disagree by the requests in flight between the two loads, which is fine for metrics.

#include <atomic>
#include <cstdint>

namespace svcres::metrics {

class Counter {
  static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
                "svcres metrics need lock-free 64-bit atomics on this target.");

 public:
  void add(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t load() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void set(std::int64_t v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(std::int64_t d) noexcept { value_.fetch_add(d, std::memory_order_relaxed); }
  std::int64_t load() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

}  // namespace svcres::metrics
