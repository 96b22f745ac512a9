#include <chrono>

#include "svcres/metrics/service_metrics.hpp"
#include "test.hpp"

using namespace std::chrono;
using svcres::metrics::FailureKind;
using svcres::metrics::LatencyHistogram;
using svcres::metrics::ServiceMetrics;

TEST_CASE("histogram buckets bound every value within 25 percent", "[metrics]") {
  for (std::uint64_t us : {0ull, 1ull, 2ull, 3ull, 4ull, 5ull, 7ull, 8ull, 100ull, 1000ull, 1023ull, 1024ull, 167000ull,
                           2000000ull, 123456789ull}) {
    std::size_t b = LatencyHistogram::bucket_of(us);
    INFO(us);
    REQUIRE(b < LatencyHistogram::bucket_count);
    CHECK(LatencyHistogram::upper_bound_us(b) > us);
    if (b > 0) {
      CHECK(LatencyHistogram::upper_bound_us(b - 1) <= us);
      if (us >= 4) CHECK(LatencyHistogram::upper_bound_us(b) - us <= us / 4 + 1);
    }
  }
  // Bounds increase strictly.
  for (std::size_t b = 1; b < LatencyHistogram::bucket_count; ++b)
    CHECK(LatencyHistogram::upper_bound_us(b) >= LatencyHistogram::upper_bound_us(b - 1));
}

TEST_CASE("histogram quantiles come from the recorded distribution", "[metrics]") {
  LatencyHistogram h;
  for (int i = 1; i <= 1000; ++i) h.record(microseconds(i * 1000));  // 1..1000 ms
  CHECK(h.count() == 1000);
  auto p50 = h.quantile_us(0.5), p99 = h.quantile_us(0.99);
  CHECK(p50 > 500000);
  CHECK(p50 <= 500000 * 5 / 4 + 1);
  CHECK(p99 > 990000);
  CHECK(p99 <= 990000 * 5 / 4 + 1);
  CHECK(h.sum_us() == 500500000ull);
}

TEST_CASE("snapshots subtract into intervals", "[metrics]") {
  ServiceMetrics m;
  m.requests.add(3);
  m.record_success(milliseconds(5));
  m.record_failure(FailureKind::http_5xx, milliseconds(7));
  m.endpoints_known.set(3);
  auto before = m.snapshot();
  m.requests.add(2);
  m.record_failure(FailureKind::timeout, milliseconds(100));
  m.retries.add();
  auto d = m.snapshot().since(before);
  CHECK(d.requests == 2);
  CHECK(d.successes == 0);
  CHECK(d.failures_of(FailureKind::timeout) == 1);
  CHECK(d.failures_of(FailureKind::http_5xx) == 0);
  CHECK(d.retries == 1);
  CHECK(d.latency_count == 1);
  CHECK(d.latency_sum_us == 100000);
  CHECK(d.endpoints_known == 3);  // a gauge is not subtracted
}
