// EndpointResolver as Service uses it, on a fake resolver and a manual clock: how an EndpointSet's
// flags read (stale only with ok) and the merge mode's drop rule.

#include <chrono>

#include "fakes.hpp"
#include "svcres/resolve/endpoint_resolver.hpp"
#include "test.hpp"

using namespace std::chrono_literals;
using svcres::Errc;
using svcres_test::ep;
using svcres_test::FakeResolver;

namespace {
using ER = svcres::EndpointResolver<FakeResolver, 1, svcres::ManualClock*>;
}  // namespace

TEST_CASE("EndpointSet: stale comes only with ok; past the stale window the error stands alone") {
  svcres::ManualClock clock;
  struct Clk {
    svcres::ManualClock* c;
    svcres::TimePoint now() const noexcept { return c->now(); }
  };
  FakeResolver dns;
  dns.set({ep("127.0.5.1:80"), ep("127.0.5.2:80")}, 30);
  svcres::EndpointResolver<FakeResolver, 1, Clk> er(dns, {}, Clk{&clock});
  auto fresh = er.get("s.local", 80);
  CHECK(fresh.error == Errc::ok);
  CHECK_FALSE(fresh.stale);
  CHECK(fresh.resolution == Errc::ok);
  CHECK(fresh.refreshed);
  dns.fail(Errc::timeout);
  clock.advance(31s);  // expired, inside the 5 min stale window
  auto stale = er.get("s.local", 80);
  CHECK(stale.error == Errc::ok);
  CHECK(stale.stale);
  CHECK(stale.resolution == Errc::timeout);  // why it is stale
  CHECK(stale.endpoints.size() == 2);
  clock.advance(10min);  // past the window
  auto late = er.refresh("s.local", 80);
  CHECK(late.error == Errc::timeout);
  CHECK_FALSE(late.stale);  // before: stale = 1 with a non-ok error, a row the table did not have
  CHECK_FALSE(late.authoritative_empty);
  CHECK(late.endpoints.size() == 2);  // kept: the caller keeps its table
  auto held = er.get("s.local", 80);  // within retry_interval: the held set, same flags
  CHECK_FALSE(held.refreshed);
  CHECK(held.error == Errc::timeout);
  CHECK_FALSE(held.stale);
}

TEST_CASE("merge: how many successive misses drop an endpoint") {
  using svcres::detail::merge_misses_to_drop;
  CHECK(merge_misses_to_drop(8, 40, 8, 1e-3) == 31);  // ceil(ln 1e-3 / ln 0.8)
  CHECK(merge_misses_to_drop(8, 40, 8, 1e-6) == 62);
  CHECK(merge_misses_to_drop(8, 40, 8, 1e-10) == 104);
  CHECK(merge_misses_to_drop(8, 20, 8, 1e-3) == 14);  // still learning: S estimated at 20
  CHECK(merge_misses_to_drop(5, 40, 8, 1e-6) == 1);   // smaller than the cap: the whole set
  CHECK(merge_misses_to_drop(3, 3, 3, 1e-6) == 1);    // every record in every answer
  CHECK(merge_misses_to_drop(0, 3, 3, 1e-6) == 1);
}

TEST_CASE("merge: forget drops an endpoint the latest answer did not hold, never one it did") {
  svcres::ManualClock clock;
  struct Clk {
    svcres::ManualClock* c;
    svcres::TimePoint now() const noexcept { return c->now(); }
  };
  FakeResolver dns;
  svcres::EndpointResolverOptions o;
  o.merge = svcres::MergeMode::union_of_refreshes;
  svcres::EndpointResolver<FakeResolver, 1, Clk> er(dns, o, Clk{&clock});
  const auto q = svcres::EndpointQuery{svcres::EndpointLookup::srv, svcres::TimePoint::max()};
  dns.set({ep("127.0.5.1:80"), ep("127.0.5.2:80")}, 30);
  REQUIRE(er.refresh("s.local", 0, q).endpoints.size() == 2);
  dns.set({ep("127.0.5.2:80"), ep("127.0.5.3:80")}, 30);  // a sample of the same size: .1 may be alive
  auto merged = er.refresh("s.local", 0, q);
  REQUIRE(merged.endpoints.size() == 3);
  CHECK_FALSE(er.forget("s.local", 0, q.lookup, ep("127.0.5.2:80")));  // in the latest answer
  CHECK(er.forget("s.local", 0, q.lookup, ep("127.0.5.1:80")));
  auto after = er.get("s.local", 0, q);
  CHECK_FALSE(after.refreshed);
  CHECK(after.endpoints.size() == 2);
  CHECK(after.generation != merged.generation);
}
