#include <chrono>

#include "balance_util.hpp"
#include "svcres/balance/feedback.hpp"
#include "svcres/balance/outlier.hpp"
#include "svcres/balance/random.hpp"
#include "svcres/table/endpoint_table.hpp"
#include "test.hpp"

using namespace svcres;
using namespace std::chrono_literals;
using balance_test::ep;
using Table = EndpointTable<8>;

namespace {
// One lease on entry i, completed with the outcome at the clock's time.
void call(Table& t, std::size_t i, bool ok, const ManualClock& clock, const OutlierDetector& od) {
  SlotRef r;
  {
    auto s = t.snapshot();
    r = s.start(i);
  }
  complete(t, r, Outcome{ok, 5ms}, clock.now(), &od);
}
bool usable(Table& t, std::size_t i, const ManualClock& clock, const OutlierDetector& od, FilterResult* out = nullptr) {
  auto s = t.snapshot();
  Rng rng(1);
  PickContext c(rng, clock.now());
  UsableSet<Table::capacity()> set;
  FilterResult fr = od.filter(s, clock.now(), set, c);
  if (out) *out = fr;
  return c.healthy(i);
}
}  // namespace

TEST_CASE("five consecutive failures eject for 30 s x times, capped at 300 s; lifted lazily", "[balance][outlier]") {
  Table t;
  Endpoint eps[4] = {ep(1), ep(2), ep(3), ep(4)};
  REQUIRE(t.publish(eps, 4).ok());
  ManualClock clock;
  OutlierDetector od;
  for (int k = 0; k < 4; ++k) call(t, 0, false, clock, od);
  call(t, 0, true, clock, od);  // a success resets the run
  for (int k = 0; k < 4; ++k) call(t, 0, false, clock, od);
  CHECK(usable(t, 0, clock, od));
  call(t, 0, false, clock, od);  // fifth in a row
  CHECK_FALSE(usable(t, 0, clock, od));
  CHECK(usable(t, 1, clock, od));
  clock.advance(29s);
  CHECK_FALSE(usable(t, 0, clock, od));
  clock.advance(1s);
  CHECK(usable(t, 0, clock, od));  // lifted at pick time
  CHECK(t.snapshot().stats(0).ejected_until_ns.load() == 0);
  CHECK(t.snapshot().ejected_counter().load() == 0);
  // Second ejection: 60 s. Then 90, ..., capped at 300.
  const Duration expected[] = {60s, 90s, 120s, 150s, 180s, 210s, 240s, 270s, 300s, 300s, 300s};
  for (Duration d : expected) {
    for (int k = 0; k < 5; ++k) call(t, 0, false, clock, od);
    clock.advance(d - 1s);
    CHECK_FALSE(usable(t, 0, clock, od));
    clock.advance(1s);
    CHECK(usable(t, 0, clock, od));
  }
}

TEST_CASE("the last usable host is never ejected", "[balance][outlier]") {
  Table t;
  Endpoint eps[2] = {ep(1), ep(2)};
  REQUIRE(t.publish(eps, 2).ok());
  ManualClock clock;
  OutlierDetector od;
  for (int k = 0; k < 5; ++k) call(t, 0, false, clock, od);
  CHECK_FALSE(usable(t, 0, clock, od));
  for (int k = 0; k < 20; ++k) call(t, 1, false, clock, od);
  CHECK(usable(t, 1, clock, od));  // 2-task service: one ejected, the other stays
  // A single-task service never ejects.
  Table one;
  REQUIRE(one.publish(eps, 1).ok());
  for (int k = 0; k < 20; ++k) call(one, 0, false, clock, od);
  CHECK(usable(one, 0, clock, od));
}

TEST_CASE("below the panic threshold every host is used", "[balance][outlier]") {
  Table t;
  Endpoint eps[4] = {ep(1), ep(2), ep(3), ep(4)};
  REQUIRE(t.publish(eps, 4).ok());
  ManualClock clock;
  OutlierDetector od;
  FilterResult fr;
  for (int k = 0; k < 5; ++k) call(t, 0, false, clock, od);
  for (int k = 0; k < 5; ++k) call(t, 1, false, clock, od);
  // 2 of 4 usable = 50 %: not below the threshold, so the filter applies.
  CHECK_FALSE(usable(t, 0, clock, od, &fr));
  CHECK(fr.usable == 2);
  CHECK_FALSE(fr.panic);
  for (int k = 0; k < 5; ++k) call(t, 2, false, clock, od);
  // 1 of 4 = 25 %: panic, health ignored.
  CHECK(usable(t, 0, clock, od, &fr));
  CHECK(fr.panic);
  CHECK(fr.usable == 1);
  // Policies then pick ejected hosts too.
  auto s = t.snapshot();
  Rng rng(9);
  UsableSet<Table::capacity()> set;
  long hits0 = 0;
  for (int k = 0; k < 400; ++k) {
    PickContext c(rng, clock.now());
    od.filter(s, clock.now(), set, c);
    hits0 += Random{}.pick(s, c) == 0 ? 1 : 0;
  }
  CHECK(hits0 > 50);
}

TEST_CASE("ejection state does not survive the slot's reuse by another identity", "[balance][outlier]") {
  EndpointTable<1> t;  // 2 slots
  Endpoint a[1] = {ep(1)}, b[1] = {ep(2)}, c[1] = {ep(3)};
  ManualClock clock;
  OutlierDetector od;
  REQUIRE(t.publish(a, 1).ok());
  // Eject by hand (a one-host set never ejects by itself).
  t.snapshot().stats(0).ejected_until_ns.store(to_ns(clock.now() + 30s));
  t.snapshot().ejected_counter().store(1);
  REQUIRE(t.publish(b, 1).ok());
  REQUIRE(t.publish(c, 1).ok());  // c takes a's old slot
  auto s = t.snapshot();
  CHECK(s.stats(0).ejected_until_ns.load() == 0);
  CHECK(s.ejected_counter().load() == 0);
}

TEST_CASE("complete() records failures at the EWMA failure penalty, 5 s unless set to zero", "[balance][ewma]") {
  Table t;
  Endpoint eps[3] = {ep(1), ep(2), ep(3)};
  REQUIRE(t.publish(eps, 3).ok());
  ManualClock clock;
  EwmaConfig face_value;
  face_value.failure_penalty = Duration::zero();
  SlotRef a = t.snapshot().start(0), b = t.snapshot().start(1), c = t.snapshot().start(2);
  complete(t, a, Outcome{false, 2ms}, clock.now(), nullptr);              // default: a fast failure looks slow
  complete(t, b, Outcome{false, 2ms}, clock.now(), nullptr, face_value);  // penalty off: as given
  complete(t, c, Outcome{true, 2ms}, clock.now(), nullptr);               // successes are never raised
  auto s = t.snapshot();
  CHECK(s.stats(0).ewma_ns.load() == 5000000000u);
  CHECK(s.stats(1).ewma_ns.load() == 2000000u);
  CHECK(s.stats(2).ewma_ns.load() == 2000000u);
  CHECK(s.stats(0).in_flight.load() == 0);
  CHECK(s.stats(1).in_flight.load() == 0);
}
