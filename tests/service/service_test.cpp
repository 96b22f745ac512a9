// Unit tests of Service's timing logic: leases, refresh, ejection, call() retries, back-off, retry
// budget and deadlines, driven by a manual clock and a fake resolver.

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "fakes.hpp"
#include "svcres/balance/least_request.hpp"
#include "svcres/balance/maglev.hpp"
#include "svcres/balance/peak_ewma.hpp"
#include "svcres/balance/random.hpp"
#include "svcres/service.hpp"
#include "test.hpp"

using namespace std::chrono_literals;
using svcres::Errc;
using svcres::TryKind;
using svcres::TryOutcome;
using svcres_test::ep;
using svcres_test::FakeResolver;
using svcres_test::TestClock;

namespace {

template <class Policy = svcres::RoundRobin>
using TestService = svcres::Service<Policy, FakeResolver, 16, TestClock>;

struct Fixture {
  svcres::ManualClock manual;
  svcres::Duration slept{};
  FakeResolver dns;
  TestClock clock{&manual, &slept};
  Fixture() { dns.set({ep("127.0.5.1:80"), ep("127.0.5.2:80"), ep("127.0.5.3:80")}, 30); }
};

template <class S>
std::uint32_t in_flight_total(S& svc) {
  auto snap = svc.snapshot();
  std::uint32_t n = 0;
  for (std::size_t i = 0; i < snap.size(); ++i) n += snap.stats(i).in_flight.load();
  return n;
}

template <class S>
std::size_t index_of(S& svc, const svcres::Endpoint& e) {
  auto snap = svc.snapshot();
  for (std::size_t i = 0; i < snap.size(); ++i)
    if (snap.endpoint(i).same_identity(e)) return i;
  return svcres::no_pick;
}

}  // namespace

TEST_CASE("first pick resolves the name, then round robin over the set") {
  Fixture f;
  TestService<> svc(f.dns, "user-service.local", {}, f.clock);
  CHECK(f.dns.calls == 0);
  std::vector<std::string> seen;
  for (int i = 0; i < 6; ++i) {
    auto lease = svc.pick();
    REQUIRE(lease.ok());
    seen.emplace_back(svcres::to_text(lease->endpoint()).view());
    lease->complete(TryOutcome::http(200), 1ms);
  }
  CHECK(f.dns.calls == 1);
  CHECK(f.dns.last_name == "user-service.local");
  CHECK(f.dns.last_type == svcres::dns::Type::SRV);
  CHECK(f.dns.last_bypass);
  // Round robin: each of the three endpoints twice, in a repeating order.
  CHECK(std::set<std::string>(seen.begin(), seen.end()).size() == 3);
  CHECK(seen[0] == seen[3]);
  CHECK(seen[1] == seen[4]);
  auto m = svc.metrics_snapshot();
  CHECK(m.requests == 6);
  CHECK(m.successes == 6);
  CHECK(m.dns_resolutions == 1);
  CHECK(m.endpoints_known == 3);
}

TEST_CASE("a lease counts in flight until completed; an abandoned lease is a failure") {
  Fixture f;
  TestService<> svc(f.dns, "s.local", {}, f.clock);
  {
    auto a = svc.pick();
    auto b = svc.pick();
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(in_flight_total(svc) == 2);
    CHECK(svc.retry_budget().active_requests() == 2);
    a->complete(TryOutcome::http(200), 5ms);
    CHECK_FALSE(a->active());
    a->complete(TryOutcome::failure(), 5ms);  // second completion is ignored
    CHECK(in_flight_total(svc) == 1);
    f.manual.advance(40ms);
  }  // b destroyed uncompleted
  CHECK(in_flight_total(svc) == 0);
  CHECK(svc.retry_budget().active_requests() == 0);
  auto m = svc.metrics_snapshot();
  CHECK(m.successes == 1);
  CHECK(m.failures_of(svcres::metrics::FailureKind::other) == 1);
  // The abandoned lease's latency is the time it was held.
  CHECK(m.latency_sum_us >= 45000);
}

TEST_CASE("moving a lease transfers it; assigning over an active lease completes the old one") {
  Fixture f;
  TestService<> svc(f.dns, "s.local", {}, f.clock);
  auto a = svc.pick();
  REQUIRE(a.ok());
  TestService<>::Lease moved(std::move(a.value()));
  CHECK_FALSE(a->active());
  CHECK(moved.active());
  CHECK(in_flight_total(svc) == 1);
  auto b = svc.pick();
  REQUIRE(b.ok());
  CHECK(in_flight_total(svc) == 2);
  moved = std::move(b.value());  // the first lease is abandoned here
  CHECK(in_flight_total(svc) == 1);
  CHECK(svc.metrics_snapshot().failures_total() == 1);
  moved.complete(TryOutcome::http(204));
  CHECK(in_flight_total(svc) == 0);
  CHECK(svc.metrics_snapshot().successes == 1);
}

TEST_CASE("refresh is pulled by a pick ahead of the TTL (jittered), clamped to min_refresh") {
  Fixture f;
  svcres::ServiceOptions opts;
  opts.min_refresh = 5s;
  TestService<> svc(f.dns, "s.local", opts, f.clock);
  const svcres::TimePoint t0 = f.manual.now();
  REQUIRE(svc.pick().ok());
  CHECK(f.dns.calls == 1);
  // EndpointResolver's schedule: TTL 30 s * (0.75 + U[0, 0.15]).
  CHECK(svc.refresh_due() - t0 >= 22500ms);
  CHECK(svc.refresh_due() - t0 <= 27s);
  f.manual.advance(22s);
  REQUIRE(svc.pick().ok());
  CHECK(f.dns.calls == 1);
  f.dns.set({ep("127.0.5.9:80")}, 0);  // TTL 0: clamped to 5 s
  f.manual.advance(5s);  // 27 s: before the 30 s expiry
  auto l = svc.pick();
  REQUIRE(l.ok());
  CHECK(f.dns.calls == 2);
  CHECK(svcres::to_text(l->endpoint()).view() == "127.0.5.9:80");
  f.manual.advance(4s);
  REQUIRE(svc.pick().ok());
  CHECK(f.dns.calls == 2);
  f.manual.advance(1s);
  REQUIRE(svc.pick().ok());
  CHECK(f.dns.calls == 3);
}

TEST_CASE("a failed refresh keeps the current set and is retried after retry_after_failure") {
  Fixture f;
  TestService<> svc(f.dns, "s.local", {}, f.clock);
  REQUIRE(svc.pick().ok());
  f.dns.fail(Errc::timeout);
  f.manual.advance(31s);
  auto l = svc.pick();
  REQUIRE(l.ok());  // still picks from the old set
  CHECK(f.dns.calls == 2);
  CHECK(svc.last_resolution() == Errc::timeout);
  CHECK(svc.metrics_snapshot().dns_failures == 1);
  f.manual.advance(500ms);
  REQUIRE(svc.pick().ok());
  CHECK(f.dns.calls == 2);
  f.manual.advance(600ms);
  REQUIRE(svc.pick().ok());
  CHECK(f.dns.calls == 3);
}

TEST_CASE("NXDOMAIN empties the set; a first failure is reported by pick") {
  Fixture f;
  TestService<> svc(f.dns, "s.local", {}, f.clock);
  REQUIRE(svc.pick().ok());
  f.dns.fail(Errc::nxdomain);
  f.manual.advance(31s);
  auto l = svc.pick();
  REQUIRE_FALSE(l.ok());
  CHECK(l.error() == Errc::nxdomain);
  CHECK(svc.metrics_snapshot().endpoints_known == 0);

  Fixture g;
  g.dns.fail(Errc::server_failure);
  TestService<> other(g.dns, "t.local", {}, g.clock);
  auto m = other.pick();
  REQUIRE_FALSE(m.ok());
  CHECK(m.error() == Errc::server_failure);
}

TEST_CASE("A answers get the configured port") {
  Fixture f;
  f.dns.set({ep("127.0.5.1:0")}, 10);
  svcres::ServiceOptions opts;
  opts.query = svcres::dns::Type::A;
  opts.port = 8080;
  TestService<> svc(f.dns, "api.local", opts, f.clock);
  auto l = svc.pick();
  REQUIRE(l.ok());
  CHECK(l->endpoint().port == 8080);
  CHECK(f.dns.last_type == svcres::dns::Type::A);
}

TEST_CASE("five consecutive failures eject an endpoint; a 4xx is not a failure of the host") {
  Fixture f;
  TestService<> svc(f.dns, "s.local", {}, f.clock);
  const svcres::Endpoint bad = ep("127.0.5.2:80");
  int failures_seen = 0;
  for (int i = 0; i < 30; ++i) {
    auto l = svc.pick();
    REQUIRE(l.ok());
    if (l->endpoint().same_identity(bad)) {
      ++failures_seen;
      l->complete(TryOutcome::http(503), 2ms);
    } else {
      l->complete(TryOutcome::http(404), 2ms);
    }
  }
  CHECK(failures_seen == 5);  // round robin sent it every third pick until the fifth failure
  auto m = svc.metrics_snapshot();
  CHECK(m.ejections == 1);
  CHECK(m.failures_of(svcres::metrics::FailureKind::http_5xx) == 5);
  CHECK(m.failures_of(svcres::metrics::FailureKind::http_4xx) == 25);
  // Ejection lasts base_ejection (30 s); then the host is back.
  f.manual.advance(31s);
  f.dns.set({ep("127.0.5.1:80"), ep("127.0.5.2:80"), ep("127.0.5.3:80")}, 300);
  bool back = false;
  for (int i = 0; i < 3; ++i) {
    auto l = svc.pick();
    REQUIRE(l.ok());
    back |= l->endpoint().same_identity(bad);
    l->complete(TryOutcome::http(200));
  }
  CHECK(back);
}

TEST_CASE("call: first try good, no retry") {
  Fixture f;
  TestService<> svc(f.dns, "s.local", {}, f.clock);
  auto r = svc.call([&](const svcres::Endpoint&, svcres::TimePoint) {
    f.manual.advance(3ms);
    return TryOutcome::http(200);
  });
  CHECK(r.ok());
  CHECK(r.tries == 1);
  CHECK(r.outcome.http_status == 200);
  CHECK(f.slept == svcres::Duration::zero());
  CHECK(svc.metrics_snapshot().latency_sum_us == 3000);
}

TEST_CASE("call: retries on connect failure and 503, never on the host that just failed") {
  Fixture f;
  f.dns.set({ep("127.0.5.1:80"), ep("127.0.5.2:80")}, 300);
  // Ejection off: with it, a host failing five first tries in a row is ejected, and the retry then
  // rightly goes back to the only usable host.
  svcres::ServiceOptions opts;
  opts.outlier.consecutive_failures = 0;
  TestService<svcres::Random> svc(f.dns, "s.local", opts, f.clock);
  for (int i = 0; i < 200; ++i) {
    std::vector<svcres::Endpoint> tried;
    auto r = svc.call([&](const svcres::Endpoint& e, svcres::TimePoint) {
      tried.push_back(e);
      if (tried.size() == 1) return i % 2 ? TryOutcome::connect_failure() : TryOutcome::http(503);
      return TryOutcome::http(200);
    });
    REQUIRE(r.ok());
    REQUIRE(tried.size() == 2);
    CHECK_FALSE(tried[0].same_identity(tried[1]));
  }
  CHECK(svc.metrics_snapshot().retries == 200);
  CHECK(svc.metrics_snapshot().requests == 400);
}

TEST_CASE("call: a single host is retried when nothing else is usable") {
  Fixture f;
  f.dns.set({ep("127.0.5.1:80")}, 300);
  TestService<> svc(f.dns, "s.local", {}, f.clock);
  int n = 0;
  auto r = svc.call([&](const svcres::Endpoint&, svcres::TimePoint) {
    return ++n < 3 ? TryOutcome::connect_failure() : TryOutcome::http(200);
  });
  CHECK(r.ok());
  CHECK(r.tries == 3);
}

TEST_CASE("call: what is retried by default (Service Connect) and what is not") {
  Fixture f;
  TestService<> svc(f.dns, "s.local", {}, f.clock);
  auto always = [](TryOutcome o) {
    return [o](const svcres::Endpoint&, svcres::TimePoint) { return o; };
  };
  auto r503 = svc.call(always(TryOutcome::http(503)));
  CHECK(r503.error == Errc::try_failed);
  CHECK(r503.tries == 3);  // two retries
  auto r500 = svc.call(always(TryOutcome::http(500)));
  CHECK(r500.error == Errc::try_failed);
  CHECK(r500.tries == 1);
  auto r404 = svc.call(always(TryOutcome::http(404)));
  CHECK(r404.ok());
  CHECK(r404.tries == 1);
  auto rto = svc.call(always(TryOutcome::timeout()));
  CHECK(rto.error == Errc::try_failed);
  CHECK(rto.tries == 1);
  CHECK(rto.outcome.kind == TryKind::timeout);

  svcres::RetryPolicy rp;
  rp.on_timeout = true;
  rp.max_retries = 4;
  auto rto2 = svc.call(always(TryOutcome::timeout()), rp);
  CHECK(rto2.tries == 5);
}

TEST_CASE("backoff: full jitter below min(cap, base x 2^(n-1))") {
  svcres::BackoffConfig cfg;  // 25 ms, 250 ms
  CHECK(svcres::backoff_ceiling(cfg, 0) == svcres::Duration::zero());
  CHECK(svcres::backoff_ceiling(cfg, 1) == 25ms);
  CHECK(svcres::backoff_ceiling(cfg, 2) == 50ms);
  CHECK(svcres::backoff_ceiling(cfg, 3) == 100ms);
  CHECK(svcres::backoff_ceiling(cfg, 4) == 200ms);
  CHECK(svcres::backoff_ceiling(cfg, 5) == 250ms);
  CHECK(svcres::backoff_ceiling(cfg, 1000) == 250ms);
  svcres::Rng rng(7);
  double sum = 0;
  svcres::Duration lo = 1h, hi{};
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    auto d = svcres::backoff_delay(cfg, 3, rng);
    REQUIRE(d >= svcres::Duration::zero());
    REQUIRE(d < 100ms);
    lo = std::min(lo, d);
    hi = std::max(hi, d);
    sum += std::chrono::duration<double, std::milli>(d).count();
  }
  CHECK(sum / n == Approx(50.0).epsilon(0.03));  // uniform on [0, 100 ms): mean 50 ms
  CHECK(lo < 2ms);
  CHECK(hi > 98ms);
}

TEST_CASE("call: sleeps the back-off between tries through the clock") {
  Fixture f;
  TestService<> svc(f.dns, "s.local", {}, f.clock);
  svcres::RetryPolicy rp;
  rp.max_retries = 6;
  rp.timeout = 1h;
  std::vector<svcres::TimePoint> starts;
  auto r = svc.call([&](const svcres::Endpoint&, svcres::TimePoint) {
    starts.push_back(f.manual.now());
    return TryOutcome::connect_failure();
  }, rp);
  CHECK(r.error == Errc::try_failed);
  REQUIRE(starts.size() == 7);
  for (std::size_t i = 1; i < starts.size(); ++i) {
    CHECK(starts[i] - starts[i - 1] < svcres::backoff_ceiling(rp.backoff, static_cast<unsigned>(i)));
  }
  CHECK(f.slept == starts.back() - starts.front());
}

TEST_CASE("call: a try cut by the caller's deadline reports deadline_exceeded, whatever the back-off") {
  // With a 40 ms per-try timeout and a 100 ms deadline, the jittered back-off decides whether the
  // deadline lands in the second or the third (last allowed) try; both must report the deadline.
  for (int round = 0; round < 200; ++round) {
    Fixture f;
    TestService<> svc(f.dns, "s.local", {}, f.clock);
    svcres::RetryPolicy rp;
    rp.per_try_timeout = 40ms;
    rp.on_timeout = true;
    const svcres::TimePoint deadline = f.manual.now() + 100ms;
    auto r = svc.call([&](const svcres::Endpoint&, svcres::TimePoint d) {
      f.manual.set(d);
      return TryOutcome::timeout();
    }, rp, deadline);
    INFO("round " << round << ", tries " << r.tries);
    REQUIRE(r.error == Errc::deadline_exceeded);
  }
}

TEST_CASE("call: per-try deadline and the caller's absolute deadline") {
  Fixture f;
  TestService<> svc(f.dns, "s.local", {}, f.clock);
  svcres::RetryPolicy rp;
  rp.per_try_timeout = 40ms;
  rp.on_timeout = true;
  const svcres::TimePoint t0 = f.manual.now();
  const svcres::TimePoint deadline = t0 + 100ms;
  std::vector<svcres::TimePoint> try_deadlines;
  auto r = svc.call([&](const svcres::Endpoint&, svcres::TimePoint d) {
    try_deadlines.push_back(d);
    f.manual.set(d);  // the try hangs until its deadline
    return TryOutcome::timeout();
  }, rp, deadline);
  REQUIRE(!try_deadlines.empty());
  CHECK(try_deadlines[0] == t0 + 40ms);
  for (auto d : try_deadlines) CHECK(d <= deadline);
  CHECK(r.error == Errc::deadline_exceeded);
  CHECK(f.manual.now() <= deadline);
  CHECK(r.tries == try_deadlines.size());

  // RetryPolicy::timeout bounds the call when the caller gives no deadline.
  svcres::RetryPolicy rp2;
  rp2.timeout = 30ms;
  rp2.max_retries = 100;
  const svcres::TimePoint t1 = f.manual.now();
  auto r2 = svc.call([&](const svcres::Endpoint&, svcres::TimePoint d) {
    CHECK(d <= t1 + 30ms);
    f.manual.advance(std::min<svcres::Duration>(10ms, d - f.manual.now()));  // a try honours its deadline
    return TryOutcome::connect_failure();
  }, rp2);
  CHECK(r2.error == Errc::deadline_exceeded);
  CHECK(f.manual.now() - t1 <= 30ms);
}

TEST_CASE("retry budget: 20 % of active requests, at least 3") {
  svcres::RetryBudget b;
  CHECK(b.limit_now() == 3);
  CHECK(b.try_start_retry());
  CHECK(b.try_start_retry());
  CHECK(b.try_start_retry());
  CHECK_FALSE(b.try_start_retry());
  for (int i = 0; i < 100; ++i) b.request_started();
  CHECK(b.limit_now() == 20);
  int more = 0;
  while (b.try_start_retry()) ++more;
  CHECK(more == 17);
  b.retry_finished();
  CHECK(b.try_start_retry());
  for (int i = 0; i < 100; ++i) b.request_finished();
  CHECK(b.active_requests() == 0);
}

TEST_CASE("call: an exhausted retry budget refuses the retry") {
  Fixture f;
  svcres::ServiceOptions opts;
  opts.retry_budget.min_concurrency = 1;
  opts.retry_budget.budget_percent = 0;
  TestService<> svc(f.dns, "s.local", opts, f.clock);
  // Hold the only retry slot, as a concurrent call's retry would.
  REQUIRE(svc.retry_budget().try_start_retry());
  auto r = svc.call([](const svcres::Endpoint&, svcres::TimePoint) { return TryOutcome::http(503); });
  CHECK(r.error == Errc::retry_budget_exhausted);
  CHECK(r.tries == 1);
  CHECK(svc.metrics_snapshot().retries_refused == 1);
  svc.retry_budget().retry_finished();
  auto r2 = svc.call([&](const svcres::Endpoint&, svcres::TimePoint) { return TryOutcome::http(503); });
  CHECK(r2.error == Errc::try_failed);
  CHECK(r2.tries == 3);
  CHECK(svc.retry_budget().active_retries() == 0);
  CHECK(svc.retry_budget().active_requests() == 0);
}

TEST_CASE("call: no endpoints is reported without calling fn") {
  Fixture f;
  f.dns.fail(Errc::nodata);
  TestService<> svc(f.dns, "s.local", {}, f.clock);
  bool called = false;
  auto r = svc.call([&](const svcres::Endpoint&, svcres::TimePoint) {
    called = true;
    return TryOutcome::http(200);
  });
  CHECK_FALSE(called);
  CHECK(r.error == Errc::nodata);
  CHECK(r.tries == 0);
}

TEST_CASE("Maglev service: the same key picks the same endpoint") {
  Fixture f;
  auto svc = std::make_unique<TestService<svcres::Maglev>>(f.dns, "s.local", svcres::ServiceOptions{}, f.clock);
  svcres::PickOptions po;
  po.has_key = true;
  po.key = 12345;
  auto first = svc->pick(po);
  REQUIRE(first.ok());
  const svcres::Endpoint e = first->endpoint();
  first->complete(TryOutcome::http(200));
  for (int i = 0; i < 20; ++i) {
    auto l = svc->pick(po);
    REQUIRE(l.ok());
    CHECK(l->endpoint().same_identity(e));
    l->complete(TryOutcome::http(200));  // an abandoned lease would count as a failure
  }
}

TEST_CASE("LeastRequest service prefers the endpoint with fewer leases") {
  Fixture f;
  f.dns.set({ep("127.0.5.1:80"), ep("127.0.5.2:80")}, 300);
  TestService<svcres::LeastRequest> svc(f.dns, "s.local", {}, f.clock);
  std::vector<TestService<svcres::LeastRequest>::Lease> held;
  for (int i = 0; i < 10; ++i) {
    auto l = svc.pick();
    REQUIRE(l.ok());
    held.push_back(std::move(l.value()));
  }
  auto snap = svc.snapshot();
  CHECK(snap.stats(0).in_flight.load() == 5);
  CHECK(snap.stats(1).in_flight.load() == 5);
  (void)index_of(svc, held[0].endpoint());
}

TEST_CASE("call: a second retry avoids every host this call already tried while others remain") {
  Fixture f;  // three endpoints
  svcres::ServiceOptions opts;
  opts.outlier.consecutive_failures = 0;
  TestService<svcres::Random> svc(f.dns, "s.local", opts, f.clock);
  for (int i = 0; i < 100; ++i) {
    std::vector<svcres::Endpoint> tried;
    auto r = svc.call([&](const svcres::Endpoint& e, svcres::TimePoint) {
      tried.push_back(e);
      return tried.size() < 4 ? TryOutcome::connect_failure() : TryOutcome::http(200);
    }, [] {
      svcres::RetryPolicy rp;
      rp.max_retries = 3;
      return rp;
    }());
    REQUIRE(r.ok());
    REQUIRE(tried.size() == 4);
    CHECK_FALSE(tried[0].same_identity(tried[1]));
    CHECK_FALSE(tried[0].same_identity(tried[2]));
    CHECK_FALSE(tried[1].same_identity(tried[2]));
    // Every host tried: only the one that just failed is still avoided.
    CHECK_FALSE(tried[3].same_identity(tried[2]));
  }
}

TEST_CASE("a failed attempt reaches the peak EWMA at the failure penalty, a success as measured") {
  Fixture f;
  TestService<svcres::PeakEwma> svc(f.dns, "user-service.local", {}, f.clock);
  auto a = svc.pick();
  REQUIRE(a.ok());
  const svcres::Endpoint failed = a->endpoint();
  a->complete(TryOutcome::http(503), 2ms);  // fails fast: must not look fast
  auto b = svc.pick();
  REQUIRE(b.ok());
  REQUIRE_FALSE(b->endpoint().same_identity(failed));  // the penalised host costs more
  const svcres::Endpoint good = b->endpoint();
  b->complete(TryOutcome::http(200), 2ms);
  auto snap = svc.snapshot();
  CHECK(snap.stats(index_of(svc, failed)).ewma_ns.load() == 5000000000u);  // EwmaConfig default: 5 s
  CHECK(snap.stats(index_of(svc, good)).ewma_ns.load() == 2000000u);
}

// ---- deadlines (call() and pick() with a deadline bound the refresh they run)

TEST_CASE("call: a first resolution is bounded by the call's deadline, and no try starts after it") {
  Fixture f;
  f.dns.clock = &f.manual;
  f.dns.latency = 6s;  // a silent server: the resolver would wait 6 s
  TestService<> svc(f.dns, "s.local", {}, f.clock);
  const svcres::TimePoint t0 = f.manual.now();
  bool called = false;
  auto r = svc.call([&](const svcres::Endpoint&, svcres::TimePoint) {
    called = true;
    return TryOutcome::http(200);
  }, svcres::RetryPolicy{}, t0 + 1000ms);
  CHECK(f.dns.last_deadline == t0 + 1000ms);  // the resolver was told the caller's deadline
  CHECK_FALSE(called);
  CHECK(r.tries == 0);
  CHECK(r.error == Errc::deadline_exceeded);
  CHECK(f.manual.now() - t0 <= 1000ms);
  // Past the deadline a pick fails at once: no lease, no DNS.
  const unsigned calls = f.dns.calls;
  svcres::PickOptions po;
  po.deadline = f.manual.now();
  auto l = svc.pick(po);
  REQUIRE_FALSE(l.ok());
  CHECK(l.error() == Errc::deadline_exceeded);
  CHECK(f.dns.calls == calls);
}

TEST_CASE("call with a set in hand: the refresh gets half the time left, DNS time is not the endpoint's") {
  Fixture f;
  TestService<svcres::PeakEwma> svc(f.dns, "s.local", {}, f.clock);
  REQUIRE(svc.refresh().ok());
  f.dns.clock = &f.manual;
  f.dns.latency = 6s;  // the server went silent
  f.manual.advance(31s);  // refresh due
  const svcres::TimePoint t0 = f.manual.now();
  svcres::TimePoint try_started{};
  svcres::Endpoint used{};
  auto r = svc.call([&](const svcres::Endpoint& e, svcres::TimePoint) {
    try_started = f.manual.now();
    used = e;
    f.manual.advance(3ms);
    return TryOutcome::http(200);
  }, svcres::RetryPolicy{}, t0 + 1000ms);
  REQUIRE(r.ok());
  CHECK(f.dns.calls == 2);
  CHECK(f.dns.last_deadline == t0 + 500ms);
  CHECK(try_started == t0 + 500ms);
  CHECK(f.manual.now() - t0 <= 1000ms);
  CHECK(svc.last_resolution() == Errc::deadline_exceeded);
  // The lease started after the refresh: its latency is the try's 3 ms, not 503 ms.
  auto snap = svc.snapshot();
  CHECK(snap.stats(index_of(svc, used)).ewma_ns.load() == 3000000u);
}

TEST_CASE("refresh(deadline) bounds the resolution and keeps the set when it runs out") {
  Fixture f;
  TestService<> svc(f.dns, "s.local", {}, f.clock);
  REQUIRE(svc.refresh().ok());
  f.dns.clock = &f.manual;
  f.dns.latency = 6s;  // a silent server, as a Lambda's init phase (10 s at most) may meet
  const svcres::TimePoint t0 = f.manual.now();
  CHECK(svc.refresh(t0 + 2s).error() == Errc::deadline_exceeded);
  CHECK(f.dns.last_deadline == t0 + 2s);
  CHECK(f.manual.now() == t0 + 2s);
  CHECK(svc.snapshot().size() == 3);  // the failure kept the set
  const unsigned calls = f.dns.calls;
  CHECK(svc.refresh(f.manual.now()).error() == Errc::deadline_exceeded);  // no time left: no DNS
  CHECK(f.dns.calls == calls);
}

TEST_CASE("a pick without a deadline still refreshes in full, and its lease starts after the refresh") {
  Fixture f;
  TestService<svcres::PeakEwma> svc(f.dns, "s.local", {}, f.clock);
  REQUIRE(svc.refresh().ok());
  f.dns.clock = &f.manual;
  f.dns.latency = 3s;  // slow, but it answers
  f.manual.advance(31s);
  auto l = svc.pick();
  REQUIRE(l.ok());
  CHECK(f.dns.calls == 2);
  CHECK(f.dns.last_deadline == svcres::TimePoint::max());
  CHECK(l->started() == f.manual.now());
  const svcres::Endpoint e = l->endpoint();
  l->complete(TryOutcome::http(200));  // a request that took no time
  CHECK(svc.snapshot().stats(index_of(svc, e)).ewma_ns.load() < 1000000u);  // before: 3 s
}

TEST_CASE("near the deadline a pick uses the set it has and leaves the refresh to the next pick") {
  Fixture f;
  TestService<> svc(f.dns, "s.local", {}, f.clock);
  REQUIRE(svc.refresh().ok());
  f.manual.advance(31s);
  const svcres::TimePoint t0 = f.manual.now();
  auto r = svc.call([&](const svcres::Endpoint&, svcres::TimePoint) { return TryOutcome::http(200); },
                    svcres::RetryPolicy{}, t0 + svc.options().refresh_headroom - 1ms);
  CHECK(r.ok());
  CHECK(f.dns.calls == 1);  // no DNS: the deadline was near
  CHECK(f.manual.now() == t0);
  REQUIRE(svc.pick().ok());  // no deadline: this one refreshes
  CHECK(f.dns.calls == 2);
}

// ---- table_busy

TEST_CASE("table_busy: the resolved set is published again with back-off, without sending DNS") {
  Fixture f;
  auto set_of = [&](std::uint16_t base) {
    f.dns.answer = FakeResolver::AnswerType{};
    f.dns.answer.error = Errc::ok;
    f.dns.answer.ttl = 1;
    for (std::uint16_t i = 0; i < 16; ++i) {
      svcres::Endpoint e = ep("127.0.5.1:1");
      e.port = static_cast<std::uint16_t>(base + i);
      (void)f.dns.answer.endpoints.push_back(e);
    }
  };
  set_of(1000);
  auto svc = std::make_unique<TestService<>>(f.dns, "s.local", svcres::ServiceOptions{}, f.clock);
  std::vector<TestService<>::Lease> held;  // a lease on every endpoint of the first set
  for (int i = 0; i < 16; ++i) {
    auto l = svc->pick();
    REQUIRE(l.ok());
    held.push_back(std::move(l.value()));
  }
  set_of(2000);
  REQUIRE(svc->refresh().ok());
  set_of(3000);  // a third set of new identities: the held leases pin the slots it would need
  CHECK(svc->refresh().error() == Errc::table_busy);
  CHECK(f.dns.calls == 3);
  // 300 ms of picks every millisecond while the leases are held.
  std::set<svcres::TimePoint> republish_times;  // each failed republish sets the next one
  for (int ms = 0; ms < 300; ++ms) {
    f.manual.advance(1ms);
    auto l = svc->pick();
    REQUIRE(l.ok());
    CHECK(l->endpoint().port / 1000 == 2);
    l->complete(TryOutcome::http(200));
    CHECK(svc->last_resolution() == Errc::table_busy);
    republish_times.insert(svc->refresh_due());
  }
  // Back-off 10, 20, 40, 80, 160 ms: five or six tries in 300 ms (every 10 ms would be 30).
  INFO("republish attempts: " << republish_times.size());
  CHECK(republish_times.size() >= 4);
  CHECK(republish_times.size() <= 7);
  INFO("DNS queries while busy: " << f.dns.calls - 3);
  CHECK(f.dns.calls == 3);  // before: one resolution every 10 ms, ~30 more
  held.clear();  // the leases end: the next republish succeeds
  bool published = false;
  for (int ms = 0; ms < 400 && !published; ++ms) {
    f.manual.advance(1ms);
    auto l = svc->pick();
    REQUIRE(l.ok());
    published = l->endpoint().port / 1000 == 3;
    l->complete(TryOutcome::http(200));
  }
  CHECK(published);
  CHECK(f.dns.calls == 3);
  CHECK(svc->last_resolution() == Errc::ok);
}

// ---- names

TEST_CASE("a name longer than a DNS name is an error for every pick, call and refresh; nothing is sent") {
  Fixture f;
  const std::string long_name = std::string(250, 'a').replace(60, 1, ".").replace(120, 1, ".").replace(180, 1, ".") + ".b.local";
  REQUIRE(long_name.size() > 253);
  TestService<> svc(f.dns, long_name, {}, f.clock);
  auto l = svc.pick();
  REQUIRE_FALSE(l.ok());
  CHECK(l.error() == Errc::name_too_long);
  auto r = svc.call([](const svcres::Endpoint&, svcres::TimePoint) { return TryOutcome::http(200); });
  CHECK(r.error == Errc::name_too_long);
  CHECK(r.tries == 0);
  CHECK(svc.refresh().error() == Errc::name_too_long);
  CHECK(svc.last_resolution() == Errc::name_too_long);
  svc.start_refresher();
  svc.stop_refresher();
  CHECK(f.dns.calls == 0);

  TestService<> bad_label(f.dns, std::string(64, 'x') + ".local", {}, f.clock);
  CHECK(bad_label.pick().error() == Errc::label_too_long);
  CHECK(f.dns.calls == 0);

  // 253 characters (the most a name can have) is resolved as given.
  const std::string longest = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
                              std::string(61, 'd');
  REQUIRE(longest.size() == 253);
  TestService<> ok(f.dns, longest, {}, f.clock);
  REQUIRE(ok.pick().ok());
  CHECK(f.dns.last_name == longest);
  TestService<> ok_dot(f.dns, longest + ".", {}, f.clock);
  REQUIRE(ok_dot.pick().ok());
  CHECK(f.dns.last_name == longest + ".");
}

// ---- merge mode

TEST_CASE("merge mode: a merged endpoint that fails until ejected and is not in the latest answer leaves") {
  Fixture f;
  svcres::ServiceOptions opts;
  opts.merge = svcres::MergeMode::union_of_refreshes;
  TestService<> svc(f.dns, "s.local", opts, f.clock);
  const svcres::Endpoint a = ep("127.0.5.1:80"), b = ep("127.0.5.2:80"), c = ep("127.0.5.3:80");
  f.dns.set({a, b}, 30);
  REQUIRE(svc.refresh().ok());
  f.dns.set({b, c}, 30);  // a sample of the same size: a may still be alive, so it is kept
  REQUIRE(svc.refresh().ok());
  REQUIRE(svc.snapshot().size() == 3);
  // a is gone for real: every request to it fails; c fails too but the latest answer holds it.
  int guard = 0;
  while (svc.metrics_snapshot().ejections < 2 && ++guard < 100) {
    auto l = svc.pick();
    REQUIRE(l.ok());
    const bool failing = l->endpoint().same_identity(a) || l->endpoint().same_identity(c);
    l->complete(failing ? TryOutcome::connect_failure() : TryOutcome::http(200), 1ms);
  }
  REQUIRE(svc.metrics_snapshot().ejections == 2);
  f.manual.advance(1ms);
  REQUIRE(svc.pick().ok());  // republishes the smaller set, sending nothing
  CHECK(f.dns.calls == 2);
  CHECK(index_of(svc, a) == svcres::no_pick);
  CHECK(index_of(svc, c) != svcres::no_pick);  // ejected, but in the latest answer: kept
  CHECK(svc.snapshot().size() == 2);
  // a comes back when an answer shows it again.
  f.dns.set({a, b}, 30);
  REQUIRE(svc.refresh().ok());
  CHECK(index_of(svc, a) != svcres::no_pick);
}
