// Threads picking and completing leases while refreshes republish the table (pull-driven from the
// pickers and from the background refresher at once). Run under TSan by the concurrency label.

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>

#include "fakes.hpp"
#include "svcres/balance/least_request.hpp"
#include "svcres/service.hpp"
#include "test.hpp"

using namespace std::chrono_literals;
using svcres::TryOutcome;
using svcres_test::ep;

namespace {

// Alternates between two overlapping sets, so every refresh keeps some identities (their slots and
// in-flight counts must survive) and replaces others (their slots must drain before reuse).
struct AlternatingResolver : svcres_test::FakeResolverBase {
  std::atomic<unsigned> calls{0};
  AnswerType resolve(std::string_view, svcres::dns::Type, svcres::LookupFlags) {
    const unsigned n = calls.fetch_add(1);
    AnswerType a;
    a.error = svcres::Errc::ok;
    a.ttl = 0;
    for (unsigned i = 0; i < 6; ++i) {
      svcres::Endpoint e = ep("127.0.5.1:8000");
      e.port = static_cast<std::uint16_t>(8000 + i + (n % 2) * 3);  // 0..5 or 3..8
      (void)a.endpoints.push_back(e);
    }
    return a;
  }
};

int stress_ms() {
  const char* s = std::getenv("SVCRES_STRESS_MS");
  return s ? std::atoi(s) : 1500;
}

}  // namespace

namespace {
void race(svcres::MergeMode mode) {
  AlternatingResolver dns;
  svcres::ServiceOptions opts;
  opts.merge = mode;  // union: ejections also forget merged endpoints and republish from pickers' threads
  opts.min_refresh = 1ms;  // TTL 0: a refresh every millisecond
  opts.refresh_ahead = 0ms;
  opts.outlier.consecutive_failures = 3;
  opts.outlier.base_ejection = 5ms;
  auto svc = std::make_unique<svcres::Service<svcres::LeastRequest, AlternatingResolver, 16>>(dns, "s.local", opts);
  svc->start_refresher();

  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> completed{0}, errors{0}, bad{0}, calls_without_try{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::uint64_t i = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        auto l = svc->pick();
        if (!l.ok()) {
          errors.fetch_add(1);
          continue;
        }
        // Catch2 assertions are not thread-safe: count here, check on the main thread.
        if (l->endpoint().port < 8000 || l->endpoint().port > 8008) bad.fetch_add(1);
        ++i;
        if (i % 7 == 0) continue;  // abandoned: completed as a failure by the destructor
        l->complete((i + static_cast<std::uint64_t>(t)) % 5 == 0 ? TryOutcome::http(503) : TryOutcome::http(200),
                    std::chrono::microseconds(i % 300));
        completed.fetch_add(1);
      }
    });
  }
  // A caller using call() at the same time.
  threads.emplace_back([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      unsigned n = 0;
      auto r = svc->call([&](const svcres::Endpoint&, svcres::TimePoint) {
        return ++n == 1 ? TryOutcome::connect_failure() : TryOutcome::http(200);
      });
      if (r.tries == 0 || !r.ok()) calls_without_try.fetch_add(1);
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(stress_ms()));
  stop.store(true);
  for (auto& th : threads) th.join();
  svc->stop_refresher();

  CHECK(svc->refreshes() > 20);
  CHECK(completed.load() > 1000);
  CHECK(errors.load() == 0);
  CHECK(bad.load() == 0);
  CHECK(calls_without_try.load() == 0);
  // Every lease was completed exactly once: nothing is left in flight, and every try is accounted.
  auto snap = svc->snapshot();
  for (std::size_t i = 0; i < snap.size(); ++i) CHECK(snap.stats(i).in_flight.load() == 0);
  auto m = svc->metrics_snapshot();
  CHECK(m.requests == m.successes + m.failures_total());
  CHECK(svc->retry_budget().active_requests() == 0);
  CHECK(svc->retry_budget().active_retries() == 0);
}
}  // namespace

TEST_CASE("pickers and completions race with republishing") { race(svcres::MergeMode::replace); }

TEST_CASE("pickers and completions race with republishing, merge mode (ejections forget endpoints)") {
  race(svcres::MergeMode::union_of_refreshes);
}

namespace {
// Answers after a pause, so a refresh is still running while other threads pick.
struct SlowResolver : svcres_test::FakeResolverBase {
  std::atomic<unsigned> calls{0};
  AnswerType resolve(std::string_view, svcres::dns::Type, svcres::LookupFlags) {
    calls.fetch_add(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    AnswerType a;
    a.error = svcres::Errc::ok;
    a.ttl = 1;
    (void)a.endpoints.push_back(ep("127.0.5.1:80"));
    (void)a.endpoints.push_back(ep("127.0.5.2:80"));
    return a;
  }
};
}  // namespace

TEST_CASE("a due refresh is done by one thread while the others keep picking from the current set") {
  SlowResolver dns;
  svcres::ManualClock manual;
  svcres::Duration slept{};
  svcres_test::TestClock clock{&manual, &slept};
  auto svc = std::make_unique<svcres::Service<svcres::RoundRobin, SlowResolver, 16, svcres_test::TestClock>>(
      dns, "s.local", svcres::ServiceOptions{}, clock);
  // First use: nothing to pick yet, so every thread waits for the one resolution.
  std::atomic<int> ok{0};
  {
    std::vector<std::thread> th;
    for (int i = 0; i < 6; ++i) th.emplace_back([&] { ok.fetch_add(svc->pick().ok() ? 1 : 0); });
    for (auto& t : th) t.join();
  }
  CHECK(ok.load() == 6);
  CHECK(dns.calls.load() == 1);
  // TTL passed (the manual clock is only moved here, before the threads start).
  manual.advance(std::chrono::seconds(2));
  std::atomic<int> picked_during_refresh{0};
  {
    std::vector<std::thread> th;
    for (int i = 0; i < 6; ++i) {
      th.emplace_back([&] {
        for (int k = 0; k < 20; ++k) {
          if (svc->pick().ok()) picked_during_refresh.fetch_add(1);
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
      });
    }
    for (auto& t : th) t.join();
  }
  CHECK(dns.calls.load() == 2);  // coalesced: one refresh for all the threads that found it due
  CHECK(picked_during_refresh.load() == 120);
}

TEST_CASE("the background refresher resolves without any pick and stops in the destructor") {
  AlternatingResolver dns;
  svcres::ServiceOptions opts;
  opts.min_refresh = std::chrono::milliseconds(20);
  opts.refresh_ahead = std::chrono::milliseconds(0);
  {
    svcres::Service<svcres::RoundRobin, AlternatingResolver, 16> svc(dns, "s.local", opts);
    svc.start_refresher();
    svc.start_refresher();  // idempotent
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (dns.calls.load() < 3 && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    CHECK(dns.calls.load() >= 3);
    CHECK(svc.snapshot().size() == 6);
  }  // joins the refresher
  const unsigned after = dns.calls.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  CHECK(dns.calls.load() == after);
}
