#include <chrono>
#include <cmath>
#include <vector>

#include "balance_util.hpp"
#include "svcres/balance/ewma.hpp"
#include "svcres/balance/least_request.hpp"
#include "svcres/balance/peak_ewma.hpp"
#include "svcres/balance/random.hpp"
#include "svcres/balance/round_robin.hpp"
#include "svcres/balance/weighted_srv.hpp"
#include "svcres/table/endpoint_table.hpp"
#include "test.hpp"

using namespace svcres;
using balance_test::chi_critical;
using balance_test::chi_square;
using balance_test::ep;
using Table = EndpointTable<16>;

namespace {
template <class P>
std::vector<long> histogram(Table& t, P& policy, int picks, std::uint64_t seed, const std::uint64_t* usable = nullptr,
                            std::size_t avoid = no_pick) {
  auto s = t.snapshot();
  std::vector<long> h(s.size(), 0);
  Rng rng(seed);
  for (int k = 0; k < picks; ++k) {
    PickContext c(rng);
    c.usable = usable;
    c.avoid = avoid;
    std::size_t i = policy.pick(s, c);
    REQUIRE(i < s.size());
    ++h[i];
  }
  return h;
}
std::vector<double> uniform(std::size_t n, std::vector<std::size_t> zero = {}) {
  std::vector<double> p(n, 1.0);
  for (auto z : zero) p[z] = 0;
  double sum = 0;
  for (double x : p) sum += x;
  for (double& x : p) x /= sum;
  return p;
}
}  // namespace

TEST_CASE("every policy returns no_pick on an empty set", "[balance]") {
  Table t;
  auto s = t.snapshot();
  Rng rng(1);
  PickContext c(rng);
  RoundRobin rr;
  CHECK(rr.pick(s, c) == no_pick);
  CHECK(Random{}.pick(s, c) == no_pick);
  CHECK(WeightedSrv{}.pick(s, c) == no_pick);
  CHECK(LeastRequest{}.pick(s, c) == no_pick);
  CHECK(PeakEwma{}.pick(s, c) == no_pick);
}

TEST_CASE("round robin visits entries in turn and skips unusable ones", "[balance][rr]") {
  Table t;
  Endpoint eps[5] = {ep(1), ep(2), ep(3), ep(4), ep(5)};
  REQUIRE(t.publish(eps, 5).ok());
  RoundRobin rr;
  auto h = histogram(t, rr, 5000, 1);
  for (long x : h) CHECK(x == 1000);
  std::uint64_t mask = 0b10110;  // 1, 2, 4 usable
  auto h2 = histogram(t, rr, 3000, 1, &mask);
  CHECK(h2[0] == 0);
  CHECK(h2[3] == 0);
  CHECK(chi_square(h2, uniform(5, {0, 3})) < chi_critical(2));
  auto s = t.snapshot();
  Rng rng(3);
  for (int k = 0; k < 10; ++k) {
    PickContext c(rng);
    c.avoid = 2;
    CHECK(rr.pick(s, c) != 2);
  }
}

TEST_CASE("random is uniform, respects the mask and the avoided index", "[balance][random]") {
  Table t;
  Endpoint eps[7] = {ep(1), ep(2), ep(3), ep(4), ep(5), ep(6), ep(7)};
  REQUIRE(t.publish(eps, 7).ok());
  Random r;
  CHECK(chi_square(histogram(t, r, 70000, 11), uniform(7)) < chi_critical(6));
  std::uint64_t mask = 0b1000001;
  CHECK(chi_square(histogram(t, r, 20000, 12, &mask), uniform(7, {1, 2, 3, 4, 5})) < chi_critical(1));
  CHECK(chi_square(histogram(t, r, 60000, 13, nullptr, 3), uniform(7, {3})) < chi_critical(5));
  // The avoided entry is picked when it is the only usable one.
  std::uint64_t only = 0b1000;
  auto h = histogram(t, r, 100, 14, &only, 3);
  CHECK(h[3] == 100);
}

TEST_CASE("weighted SRV uses the lowest usable priority, then weight (RFC 2782)", "[balance][srv]") {
  Table t;
  Endpoint eps[6] = {ep(1, 80, 10, 1), ep(2, 80, 10, 2), ep(3, 80, 10, 3), ep(4, 80, 10, 4), ep(5, 80, 20, 50),
                     ep(6, 80, 5, 0)};
  REQUIRE(t.publish(eps, 6).ok());
  WeightedSrv srv;
  // Priority 5 holds one weight-0 host: with no positive weight in the group it takes everything.
  auto h = histogram(t, srv, 1000, 21);
  CHECK(h[5] == 1000);
  // Without it, priority 10 is used in proportion 1:2:3:4; priority 20 never.
  std::uint64_t no5 = 0b011111;
  auto h2 = histogram(t, srv, 50000, 22, &no5);
  CHECK(h2[4] == 0);
  CHECK(chi_square(h2, {0.1, 0.2, 0.3, 0.4, 0, 0}) < chi_critical(3));
  // All of priority 10 unusable: priority 20.
  std::uint64_t only20 = 0b010000;
  CHECK(histogram(t, srv, 100, 23, &only20)[4] == 100);
}

TEST_CASE("weight 0 gets the RFC 2782 small chance, or none in last-resort mode", "[balance][srv]") {
  Table t;
  Endpoint eps[3] = {ep(1, 80, 0, 0), ep(2, 80, 0, 3), ep(3, 80, 0, 5)};
  REQUIRE(t.publish(eps, 3).ok());
  // RFC 2782: r uniform in [0, 8]; r = 0 selects the weight-0 entry placed first -> 1/9.
  WeightedSrv rfc;
  CHECK(chi_square(histogram(t, rfc, 90000, 31), {1.0 / 9, 3.0 / 9, 5.0 / 9}) < chi_critical(2));
  WeightedSrv strict(WeightedSrv::ZeroWeight::last_resort);
  auto h = histogram(t, strict, 8000, 32);
  CHECK(h[0] == 0);
  CHECK(chi_square(h, {0, 3.0 / 8, 5.0 / 8}) < chi_critical(1));
  std::uint64_t zero_only = 0b001;
  CHECK(histogram(t, strict, 50, 33, &zero_only)[0] == 50);
}

TEST_CASE("least request prefers fewer in-flight requests per unit of weight", "[balance][p2c]") {
  Table t;
  Endpoint eps[4] = {ep(1), ep(2), ep(3), ep(4)};
  REQUIRE(t.publish(eps, 4).ok());
  LeastRequest lr;
  CHECK(chi_square(histogram(t, lr, 40000, 41), uniform(4)) < chi_critical(3));
  t.snapshot().stats(2).in_flight.store(10);
  // Distinct pairs: the loaded host loses every comparison, so it is never picked.
  auto h = histogram(t, lr, 20000, 42);
  CHECK(h[2] == 0);
  CHECK(chi_square(h, uniform(4, {2})) < chi_critical(2));
  t.snapshot().stats(2).in_flight.store(0);
  // Weight 4 with 3 in flight costs (3+1)/4 = 1, like an idle weight-1 host; 4 in flight is worse.
  Endpoint w[2] = {ep(1, 80, 0, 4), ep(2, 80, 0, 1)};
  REQUIRE(t.publish(w, 2).ok());
  t.snapshot().stats(0).in_flight.store(4);
  CHECK(histogram(t, lr, 100, 43)[1] == 100);
  t.snapshot().stats(0).in_flight.store(2);
  CHECK(histogram(t, lr, 100, 44)[0] == 100);
  t.snapshot().stats(0).in_flight.store(0);
}

TEST_CASE("peak EWMA: peaks replace, lower samples decay in by elapsed time", "[balance][ewma]") {
  ManualClock clock;
  EndpointStats st;
  const EwmaConfig cfg;  // 10 s decay, 30 ms default
  CHECK(estimate_ns(st, clock.now(), cfg) == Approx(30e6));
  record_latency(st, std::chrono::milliseconds(100), clock.now(), cfg);
  CHECK(st.ewma_ns.load() == 100000000u);
  record_latency(st, std::chrono::milliseconds(500), clock.now(), cfg);  // peak: replaces at once
  CHECK(st.ewma_ns.load() == 500000000u);
  clock.advance(std::chrono::seconds(10));  // one decay period
  CHECK(estimate_ns(st, clock.now(), cfg) == Approx(500e6 * std::exp(-1.0)).margin(1));
  record_latency(st, std::chrono::milliseconds(100), clock.now(), cfg);
  const double w = std::exp(-1.0);
  CHECK(static_cast<double>(st.ewma_ns.load()) == Approx(500e6 * w + 100e6 * (1 - w)).margin(1));
  // A frozen process (an hour without samples) resumes with the old estimate weighing nothing.
  clock.advance(std::chrono::hours(1));
  record_latency(st, std::chrono::milliseconds(20), clock.now(), cfg);
  CHECK(st.ewma_ns.load() == Approx(20e6).epsilon(1e-6));
  // A clock that moves backwards does not amplify anything.
  clock.advance(-std::chrono::seconds(5));
  CHECK(estimate_ns(st, clock.now(), cfg) == Approx(20e6).epsilon(1e-6));
}

TEST_CASE("peak EWMA picks by latency x (in-flight + 1) and retries idle slow hosts later", "[balance][ewma]") {
  Table t;
  Endpoint eps[3] = {ep(1), ep(2), ep(3)};
  REQUIRE(t.publish(eps, 3).ok());
  ManualClock clock;
  PeakEwma pe;
  {
    auto s = t.snapshot();
    record_latency(s.stats(0), std::chrono::milliseconds(10), clock.now());
    record_latency(s.stats(1), std::chrono::milliseconds(10), clock.now());
    record_latency(s.stats(2), std::chrono::milliseconds(1000), clock.now());
  }
  auto pick_n = [&](int n, std::uint64_t seed) {
    auto s = t.snapshot();
    std::vector<long> h(3, 0);
    Rng rng(seed);
    for (int k = 0; k < n; ++k) {
      PickContext c(rng, clock.now());
      ++h[pe.pick(s, c)];
    }
    return h;
  };
  auto h = pick_n(3000, 51);
  CHECK(h[2] == 0);
  CHECK(chi_square(h, uniform(3, {2})) < chi_critical(1));
  // Host 0 with 200 in flight costs 10 ms x 201 > 1000 ms: host 2 now wins against it.
  t.snapshot().stats(0).in_flight.store(200);
  h = pick_n(3000, 52);
  CHECK(h[0] == 0);
  t.snapshot().stats(0).in_flight.store(0);
  // Idle for 60 s: 1000 ms x e^-6 = 2.5 ms is now cheaper than the others' 10 ms x e^-6.
  // (All decay alike, so add fresh 10 ms samples to the fast hosts.)
  clock.advance(std::chrono::seconds(60));
  {
    auto s = t.snapshot();
    record_latency(s.stats(0), std::chrono::milliseconds(10), clock.now());
    record_latency(s.stats(1), std::chrono::milliseconds(10), clock.now());
  }
  h = pick_n(3000, 53);
  CHECK(h[2] > 0);
}

TEST_CASE("the decay weight matches std::exp", "[balance][ewma]") {
  double worst = 0;
  for (double x = 0; x < 50; x += 0.000731) {
    const double rel = std::abs(detail::exp_neg(x) - std::exp(-x)) / std::exp(-x);
    worst = rel > worst ? rel : worst;
  }
  CHECK(worst < 2e-7);
  CHECK(detail::exp_neg(0) == 1.0);
  CHECK(detail::exp_neg(-3) == 1.0);
  CHECK(detail::exp_neg(800) == 0.0);
  CHECK(detail::exp_neg(690) == Approx(std::exp(-690.0)).epsilon(1e-6));
}

TEST_CASE("every policy honours the avoided index unless it is the only choice", "[balance][avoid]") {
  Table t;
  Endpoint eps[4] = {ep(1, 80, 0, 1), ep(2, 80, 0, 1), ep(3, 80, 0, 1), ep(4, 80, 0, 1)};
  REQUIRE(t.publish(eps, 4).ok());
  RoundRobin rr;
  Random random;
  WeightedSrv srv;
  LeastRequest lr;
  PeakEwma pe;
  std::uint64_t only2 = 0b0100;
  auto check = [&](auto& policy) {
    auto h = histogram(t, policy, 2000, 61, nullptr, 2);
    CHECK(h[2] == 0);
    CHECK(chi_square(h, uniform(4, {2})) < chi_critical(2));
    CHECK(histogram(t, policy, 20, 62, &only2, 2)[2] == 20);  // a retry on the same host beats none
  };
  check(rr);
  check(random);
  check(srv);
  check(lr);
  check(pe);
}
