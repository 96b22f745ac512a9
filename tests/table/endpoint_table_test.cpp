#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "svcres/table/endpoint_table.hpp"
#include "test.hpp"

using namespace svcres;

namespace svcres::detail {
// What a reader preempted inside snapshot() sees: it loaded current_ before the previous publish
// and reads that buffer's sequence only now.
template <class Table>
struct TableTestAccess {
  static std::uint32_t current(const Table& t) { return t.current_.load(); }
  static std::optional<typename Table::Snapshot> view_of(const Table& t, std::uint32_t i) { return t.view_of(i); }
};
}  // namespace svcres::detail

namespace {
Endpoint ep(std::uint8_t last, std::uint16_t port, std::uint16_t prio = 0, std::uint16_t weight = 1) {
  Endpoint e;
  e.address = IpAddress::v4(10, 0, 0, last);
  e.port = port;
  e.priority = prio;
  e.weight = weight;
  return e;
}
}  // namespace

TEST_CASE("an empty table gives an empty snapshot", "[table]") {
  EndpointTable<4> t;
  auto s = t.snapshot();
  CHECK(s.size() == 0);
  CHECK(s.empty());
  CHECK(s.version() == 0);
}

TEST_CASE("publish makes the whole set visible and refuses sets over capacity", "[table]") {
  EndpointTable<4> t;
  Endpoint eps[5] = {ep(1, 80), ep(2, 80), ep(3, 80), ep(4, 80), ep(5, 80)};
  CHECK(t.publish(eps, 5).error() == Errc::capacity_exceeded);
  CHECK(t.publish(nullptr, 2).error() == Errc::invalid_argument);
  REQUIRE(t.publish(eps, 3).ok());
  auto s = t.snapshot();
  REQUIRE(s.size() == 3);
  CHECK(s.version() == 1);
  for (std::size_t i = 0; i < 3; ++i) CHECK(s.endpoint(i) == eps[i]);
}

TEST_CASE("a snapshot keeps its set while the writer republishes", "[table]") {
  EndpointTable<4> t;
  Endpoint a[2] = {ep(1, 80), ep(2, 80)};
  Endpoint b[3] = {ep(7, 81), ep(8, 81), ep(9, 81)};
  REQUIRE(t.publish(a, 2).ok());
  auto old = t.snapshot();
  REQUIRE(t.publish(b, 3).ok());
  auto fresh = t.snapshot();
  CHECK(old.size() == 2);
  CHECK(old.endpoint(1) == a[1]);
  CHECK(fresh.size() == 3);
  CHECK(fresh.endpoint(2) == b[2]);
  CHECK(fresh.version() == old.version() + 1);
}

TEST_CASE("stats follow the identity across republishing and reordering", "[table]") {
  EndpointTable<4> t;
  Endpoint a[3] = {ep(1, 80), ep(2, 80), ep(3, 80)};
  REQUIRE(t.publish(a, 3).ok());
  {
    auto s = t.snapshot();
    s.stats(1).consecutive_failures.store(7);
  }
  // Same identity (address + port) with another weight and position keeps its slot.
  Endpoint b[3] = {ep(3, 80), ep(2, 80, 0, 9), ep(4, 80)};
  REQUIRE(t.publish(b, 3).ok());
  auto s = t.snapshot();
  CHECK(s.stats(1).consecutive_failures.load() == 7);
  CHECK(s.endpoint(1).weight == 9);
  CHECK(s.stats(0).consecutive_failures.load() == 0);
  CHECK(s.stats(2).consecutive_failures.load() == 0);
}

TEST_CASE("a different port is a different identity", "[table]") {
  EndpointTable<4> t;
  Endpoint a[1] = {ep(2, 80)};
  Endpoint b[1] = {ep(2, 81)};
  REQUIRE(t.publish(a, 1).ok());
  t.snapshot().stats(0).consecutive_failures.store(4);
  REQUIRE(t.publish(b, 1).ok());
  auto s = t.snapshot();
  CHECK(s.stats(0).consecutive_failures.load() == 0);
}

TEST_CASE("entries with the same identity share one slot", "[table]") {
  EndpointTable<4> t;
  Endpoint a[3] = {ep(1, 80, 0), ep(1, 80, 5), ep(2, 80)};
  REQUIRE(t.publish(a, 3).ok());
  auto s = t.snapshot();
  CHECK(s.ref(0).slot == s.ref(1).slot);
  CHECK(s.ref(0).slot != s.ref(2).slot);
  CHECK(t.slots_in_use() == 2);
}

TEST_CASE("a slot with an unfinished lease is not reused; its ref stays valid", "[table]") {
  EndpointTable<2> t;  // 4 slots
  Endpoint a[2] = {ep(1, 80), ep(2, 80)};
  REQUIRE(t.publish(a, 2).ok());
  SlotRef lease;
  {
    auto s = t.snapshot();
    lease = s.start(0);
  }
  // Replace the whole set twice with new identities: ep(1) must keep its slot while leased.
  Endpoint b[2] = {ep(3, 80), ep(4, 80)};
  Endpoint c[2] = {ep(5, 80), ep(6, 80)};
  REQUIRE(t.publish(b, 2).ok());
  // Slots: ep1 (leased), ep2 (free now), ep3, ep4 in use -> c needs two slots, only one is free.
  CHECK(t.publish(c, 2).error() == Errc::table_busy);
  {
    auto s = t.snapshot();
    CHECK(s.endpoint(0) == b[0]);  // the failed publish changed nothing
  }
  REQUIRE(t.stats(lease) != nullptr);
  CHECK(t.stats(lease)->in_flight.load() == 1);
  t.stats(lease)->consecutive_failures.store(3);
  t.finish(lease);
  REQUIRE(t.publish(c, 2).ok());
  auto s = t.snapshot();
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(s.stats(i).consecutive_failures.load() == 0);  // the old lease's state did not move over
    CHECK(s.stats(i).in_flight.load() == 0);
  }
  // The finished ref now names a slot owned by someone else (or a reset one): stats() says so.
  CHECK(s.ref(0).slot == lease.slot);  // the first free slot is the one the lease released
  CHECK(t.stats(lease) == nullptr);
}

TEST_CASE("a busy publish leaves no readable set that was never published", "[table]") {
  // Regression: publish() used to write an empty set with an even sequence into the non-current
  // buffer before finding that it was busy; a reader that had loaded current_ before the previous
  // publish then took a valid, empty snapshot (the stress test's "mixed_set", ~1 run in 6 under ASan).
  using Table = EndpointTable<1>;  // 2 slots
  using Access = detail::TableTestAccess<Table>;
  Table t;
  Endpoint a[1] = {ep(1, 80)}, b[1] = {ep(2, 80)}, c[1] = {ep(3, 80)};
  REQUIRE(t.publish(a, 1).ok());
  const std::uint32_t a_buffer = Access::current(t);
  const SlotRef la = t.snapshot().start(0);
  REQUIRE(t.publish(b, 1).ok());
  const SlotRef lb = t.snapshot().start(0);
  REQUIRE(t.publish(c, 1).error() == Errc::table_busy);
  // The preempted reader holds a's buffer index and reads its sequence now.
  const auto late = Access::view_of(t, a_buffer);
  if (late) {  // readable only if it still holds a set that really was published
    CHECK(late->size() == 1);
    CHECK(late->version() == 1);
    CHECK(late->endpoint(0) == a[0]);
  }
  CHECK_FALSE(late.has_value());  // the busy publish marked the buffer as being rewritten
  CHECK(t.snapshot().endpoint(0) == b[0]);
  // The next publish into that buffer starts from the odd sequence and ends even and readable.
  t.finish(la);
  REQUIRE(t.publish(c, 1).ok());
  const auto after = Access::view_of(t, a_buffer);
  REQUIRE(after.has_value());
  CHECK(after->valid());
  CHECK(after->endpoint(0) == c[0]);
  CHECK(after->version() == 3);
  t.finish(lb);
  REQUIRE(t.publish(a, 1).ok());  // and the buffer after it still alternates correctly
  CHECK(t.snapshot().endpoint(0) == a[0]);
  CHECK(t.snapshot().valid());
}

TEST_CASE("an identity that returns before its slot is reclaimed gets its stats back", "[table]") {
  EndpointTable<4> t;
  Endpoint a[2] = {ep(1, 80), ep(2, 80)};
  Endpoint b[1] = {ep(2, 80)};
  REQUIRE(t.publish(a, 2).ok());
  { auto s = t.snapshot(); s.stats(0).times_ejected.store(2); }
  REQUIRE(t.publish(b, 1).ok());
  REQUIRE(t.publish(a, 2).ok());
  auto s = t.snapshot();
  CHECK(s.stats(0).times_ejected.load() == 2);
}

TEST_CASE("a view stays whole through one publish, reports itself stale at the second", "[table]") {
  EndpointTable<2> t;
  Endpoint a[1] = {ep(1, 80)}, b[1] = {ep(2, 80)}, c[1] = {ep(3, 80)};
  REQUIRE(t.publish(a, 1).ok());
  auto view = t.snapshot();
  CHECK(view.valid());
  REQUIRE(t.publish(b, 1).ok());
  CHECK(view.valid());  // its buffer is not the one rewritten
  CHECK(view.endpoint(0) == a[0]);
  REQUIRE(t.publish(c, 1).ok());  // rewrites the view's buffer: the writer never waits for views
  CHECK_FALSE(view.valid());
  // A stale view starts no lease and leaves every count as it was.
  CHECK_FALSE(view.start(0).valid());
  auto now = t.snapshot();
  CHECK(now.valid());
  CHECK(now.endpoint(0) == c[0]);
  CHECK(now.stats(0).in_flight.load() == 0);
  CHECK(now.version() == 3);
}

TEST_CASE("a failed publish leaves the current set and the views of it alone", "[table]") {
  EndpointTable<1> t;  // 2 slots
  Endpoint a[1] = {ep(1, 80)}, b[1] = {ep(2, 80)}, c[1] = {ep(3, 80)};
  REQUIRE(t.publish(a, 1).ok());
  const SlotRef la = t.snapshot().start(0);
  REQUIRE(t.publish(b, 1).ok());
  const SlotRef lb = t.snapshot().start(0);
  auto view = t.snapshot();
  CHECK(t.publish(c, 1).error() == Errc::table_busy);  // both slots have unfinished leases
  CHECK(view.valid());                                  // the current buffer was not touched
  CHECK(t.snapshot().endpoint(0) == b[0]);
  t.finish(la);
  REQUIRE(t.publish(c, 1).ok());  // a's slot is free now
  CHECK(t.snapshot().endpoint(0) == c[0]);
  t.finish(lb);
}

TEST_CASE("a generation change is visible through refs", "[table]") {
  EndpointTable<1> t;  // 2 slots
  Endpoint a[1] = {ep(1, 80)}, b[1] = {ep(2, 80)}, c[1] = {ep(3, 80)};
  REQUIRE(t.publish(a, 1).ok());
  SlotRef r1 = t.snapshot().ref(0);
  REQUIRE(t.publish(b, 1).ok());
  REQUIRE(t.publish(c, 1).ok());  // reclaims a's slot (no lease, no pin) for c
  SlotRef r3 = t.snapshot().ref(0);
  CHECK(r3.slot == r1.slot);
  CHECK(r3.generation != r1.generation);
  CHECK(t.stats(r1) == nullptr);
  CHECK(t.stats(r3) != nullptr);
}

TEST_CASE("tables with large capacity live on the heap", "[table]") {
  auto t = std::make_unique<EndpointTable<1024>>();
  std::vector<Endpoint> eps;
  for (int i = 0; i < 1024; ++i) eps.push_back(ep(static_cast<std::uint8_t>(i), static_cast<std::uint16_t>(1000 + i)));
  REQUIRE(t->publish(eps.data(), eps.size()).ok());
  std::reverse(eps.begin(), eps.end());
  REQUIRE(t->publish(eps.data(), eps.size()).ok());
  CHECK(t->slots_in_use() == 1024);
  CHECK(t->snapshot().endpoint(0) == eps[0]);
}

TEST_CASE("entries keep every field through the table's atomic words: v4, v6, mapped, extremes", "[table]") {
  EndpointTable<6> t;
  const char* texts[] = {"127.0.0.1:1", "[::1]:65535", "[2001:db8::ffff:1]:8080", "[::ffff:10.1.2.3]:443",
                         "255.255.255.255:65535", "0.0.0.0:0"};
  Endpoint eps[6];
  for (std::size_t i = 0; i < 6; ++i) {
    auto e = Endpoint::parse(texts[i]);
    REQUIRE(e.ok());
    eps[i] = e.value();
    eps[i].priority = static_cast<std::uint16_t>(i == 1 ? 65535 : i);
    eps[i].weight = static_cast<std::uint16_t>(i == 2 ? 65535 : 7 * i);
  }
  REQUIRE(t.publish(eps, 6).ok());
  auto s = t.snapshot();
  for (std::size_t i = 0; i < 6; ++i) {
    const Endpoint got = s.endpoint(i);
    CHECK(got == eps[i]);
    CHECK(got.address.family() == eps[i].address.family());
    CHECK(std::string(to_text(got).view()) == texts[i]);
    CHECK(s.rank(i).priority == eps[i].priority);
    CHECK(s.rank(i).weight == eps[i].weight);
  }
  CHECK(s.valid());
}
