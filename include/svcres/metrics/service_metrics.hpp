#pragma once
// ServiceMetrics: every figure svcres keeps for one service, lock-free to update from any thread,
// and MetricsSnapshot: a plain copy of them at one moment, which exporters print and which can be
// subtracted to get the figures of an interval (one Lambda invocation, one scrape).

#include <chrono>
#include <cstdint>

#include "svcres/metrics/counter.hpp"
#include "svcres/metrics/histogram.hpp"

namespace svcres::metrics {

// Why a try failed; one counter each.
enum class FailureKind : std::uint8_t { connect = 0, timeout, http_5xx, http_4xx, other };
inline constexpr int failure_kind_count = 5;

constexpr const char* to_string(FailureKind k) noexcept {
  switch (k) {
    case FailureKind::connect: return "connect";
    case FailureKind::timeout: return "timeout";
    case FailureKind::http_5xx: return "http_5xx";
    case FailureKind::http_4xx: return "http_4xx";
    case FailureKind::other: return "other";
  }
  return "other";
}

struct MetricsSnapshot {
  std::uint64_t requests = 0;        // tries handed out by pick(), retries included
  std::uint64_t successes = 0;
  std::uint64_t failures[failure_kind_count] = {};
  std::uint64_t retries = 0;         // tries after the first of one call()
  std::uint64_t retries_refused = 0; // retries the budget did not allow
  std::uint64_t ejections = 0;
  std::uint64_t dns_resolutions = 0;
  std::uint64_t dns_failures = 0;
  std::uint64_t dns_stale_served = 0;
  std::uint64_t dns_packets_sent = 0;
  std::int64_t endpoints_known = 0;  // a gauge: not subtracted by delta()
  std::uint64_t latency_count = 0;
  std::uint64_t latency_sum_us = 0;
  std::uint64_t latency_buckets[LatencyHistogram::bucket_count] = {};

  std::uint64_t failures_total() const noexcept {
    std::uint64_t n = 0;
    for (auto f : failures) n += f;
    return n;
  }
  std::uint64_t failures_of(FailureKind k) const noexcept { return failures[static_cast<int>(k)]; }

  // Quantile over the snapshot's buckets, as LatencyHistogram::quantile_us.
  std::uint64_t latency_quantile_us(double q) const noexcept {
    if (latency_count == 0) return 0;
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(latency_count) + 0.999999);
    if (rank == 0) rank = 1;
    std::uint64_t seen = 0;
    for (std::size_t b = 0; b < LatencyHistogram::bucket_count; ++b) {
      seen += latency_buckets[b];
      if (seen >= rank) return LatencyHistogram::upper_bound_us(b);
    }
    return LatencyHistogram::upper_bound_us(LatencyHistogram::bucket_count - 1);
  }

  // What happened between `earlier` and this snapshot (counters only; gauges keep this value).
  MetricsSnapshot since(const MetricsSnapshot& earlier) const noexcept {
    MetricsSnapshot d = *this;
    d.requests -= earlier.requests;
    d.successes -= earlier.successes;
    for (int i = 0; i < failure_kind_count; ++i) d.failures[i] -= earlier.failures[i];
    d.retries -= earlier.retries;
    d.retries_refused -= earlier.retries_refused;
    d.ejections -= earlier.ejections;
    d.dns_resolutions -= earlier.dns_resolutions;
    d.dns_failures -= earlier.dns_failures;
    d.dns_stale_served -= earlier.dns_stale_served;
    d.dns_packets_sent -= earlier.dns_packets_sent;
    d.latency_count -= earlier.latency_count;
    d.latency_sum_us -= earlier.latency_sum_us;
    for (std::size_t b = 0; b < LatencyHistogram::bucket_count; ++b) d.latency_buckets[b] -= earlier.latency_buckets[b];
    return d;
  }
};

class ServiceMetrics {
 public:
  Counter requests, successes, retries, retries_refused, ejections;
  Counter dns_resolutions, dns_failures, dns_stale_served, dns_packets_sent;
  Gauge endpoints_known;
  LatencyHistogram latency;

  void record_success(std::chrono::microseconds latency_us) noexcept {
    successes.add();
    latency.record(latency_us);
  }
  void record_failure(FailureKind kind, std::chrono::microseconds latency_us) noexcept {
    failures_[static_cast<int>(kind)].add();
    latency.record(latency_us);
  }
  std::uint64_t failures(FailureKind kind) const noexcept { return failures_[static_cast<int>(kind)].load(); }

  MetricsSnapshot snapshot() const noexcept {
    MetricsSnapshot s;
    s.requests = requests.load();
    s.successes = successes.load();
    for (int i = 0; i < failure_kind_count; ++i) s.failures[i] = failures_[i].load();
    s.retries = retries.load();
    s.retries_refused = retries_refused.load();
    s.ejections = ejections.load();
    s.dns_resolutions = dns_resolutions.load();
    s.dns_failures = dns_failures.load();
    s.dns_stale_served = dns_stale_served.load();
    s.dns_packets_sent = dns_packets_sent.load();
    s.endpoints_known = endpoints_known.load();
    for (std::size_t b = 0; b < LatencyHistogram::bucket_count; ++b) {
      s.latency_buckets[b] = latency.bucket(b);
      s.latency_count += s.latency_buckets[b];
    }
    s.latency_sum_us = latency.sum_us();
    return s;
  }

 private:
  Counter failures_[failure_kind_count];
};

}  // namespace svcres::metrics
