#include <chrono>
#include <thread>
#include <vector>

#include "svcres/metrics/service_metrics.hpp"
#include "test.hpp"

TEST_CASE("counters and histogram lose no update under concurrent writers", "[metrics][concurrency]") {
  svcres::metrics::ServiceMetrics m;
  constexpr int threads = 4, per_thread = 20000;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&m, t] {
      for (int i = 0; i < per_thread; ++i) {
        m.requests.add();
        m.record_success(std::chrono::microseconds(t * 1000 + i % 1000));
      }
    });
  // A reader exporting while writers run must see monotonic counts.
  std::uint64_t last = 0;
  for (int i = 0; i < 200; ++i) {
    auto s = m.snapshot();
    CHECK(s.requests >= last);
    last = s.requests;
  }
  for (auto& t : ts) t.join();
  auto s = m.snapshot();
  CHECK(s.requests == threads * per_thread);
  CHECK(s.successes == threads * per_thread);
  CHECK(s.latency_count == threads * per_thread);
}
