#pragma once
// LatencyHistogram: fixed log-linear buckets over microseconds, lock-free recording.
//
// Buckets: 4 linear sub-buckets per power of two from 1 µs up to about 2^28 µs (4.5 minutes), so any
// recorded value lands in a bucket whose width is at most 25 % of its lower bound. Quantiles are read
// as the upper bound of the bucket that holds them: a reported p99 is never below the true p99 by
// more than one bucket width. Recording is two relaxed fetch_adds (see counter.hpp for why relaxed).

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace svcres::metrics {

class LatencyHistogram {
 public:
  static constexpr int sub_buckets = 4;
  static constexpr int powers = 28;
  static constexpr std::size_t bucket_count = 1 + powers * sub_buckets;  // bucket 0: [0, 1) µs

  void record(std::chrono::microseconds d) noexcept {
    std::uint64_t us = d.count() < 0 ? 0 : static_cast<std::uint64_t>(d.count());
    counts_[bucket_of(us)].fetch_add(1, std::memory_order_relaxed);
    sum_us_.fetch_add(us, std::memory_order_relaxed);
  }

  // Bucket for a value: power p = floor(log2 us), sub-bucket from the next two bits.
  static std::size_t bucket_of(std::uint64_t us) noexcept {
    if (us == 0) return 0;
    int p = 63 - __builtin_clzll(us);
    if (p >= powers) return bucket_count - 1;
    // The two bits below the leading one; for p < 2 the missing bits read as zero. us < 2^28 here,
    // so the shift cannot overflow.
    const std::uint64_t sub = (us << 2 >> p) & (sub_buckets - 1);
    return 1 + static_cast<std::size_t>(p) * sub_buckets + static_cast<std::size_t>(sub);
  }
  // Exclusive upper bound of bucket b in microseconds.
  static std::uint64_t upper_bound_us(std::size_t b) noexcept {
    if (b == 0) return 1;
    std::size_t i = b - 1;
    std::uint64_t p = i / sub_buckets, sub = i % sub_buckets;
    std::uint64_t base = std::uint64_t{1} << p;
    return base + (base * (sub + 1)) / sub_buckets + ((base * (sub + 1)) % sub_buckets ? 1 : 0);
  }

  std::uint64_t count() const noexcept {
    std::uint64_t n = 0;
    for (const auto& c : counts_) n += c.load(std::memory_order_relaxed);
    return n;
  }
  std::uint64_t sum_us() const noexcept { return sum_us_.load(std::memory_order_relaxed); }
  std::uint64_t bucket(std::size_t b) const noexcept { return counts_[b].load(std::memory_order_relaxed); }

  // The q-quantile (0 < q <= 1) in microseconds, as a bucket upper bound; 0 when empty.
  std::uint64_t quantile_us(double q) const noexcept {
    std::uint64_t total = count();
    if (total == 0) return 0;
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total) + 0.999999);
    if (rank == 0) rank = 1;
    std::uint64_t seen = 0;
    for (std::size_t b = 0; b < bucket_count; ++b) {
      seen += bucket(b);
      if (seen >= rank) return upper_bound_us(b);
    }
    return upper_bound_us(bucket_count - 1);
  }

 private:
  std::array<std::atomic<std::uint64_t>, bucket_count> counts_{};
  std::atomic<std::uint64_t> sum_us_{0};
};

}  // namespace svcres::metrics
