// A user-written policy: a plain type with pick(); nothing to inherit, nothing to register.
#include <atomic>

#include "balance_util.hpp"
#include "svcres/balance/least_request.hpp"
#include "svcres/balance/maglev.hpp"
#include "svcres/balance/peak_ewma.hpp"
#include "svcres/balance/policy.hpp"
#include "svcres/balance/random.hpp"
#include "svcres/balance/round_robin.hpp"
#include "svcres/balance/weighted_srv.hpp"
#include "svcres/table/endpoint_table.hpp"
#include "test.hpp"

using namespace svcres;
using Table = EndpointTable<8>;

namespace {
// Sends everything to the first allowed entry with the lowest port ("primary, then backups").
struct LowestPort {
  template <class Snapshot>
  std::size_t pick(const Snapshot& s, PickContext& c) const noexcept {
    std::size_t best = no_pick;
    for (std::size_t i = 0; i < s.size(); ++i)
      if (c.allowed(i) && (best == no_pick || s.endpoint(i).port < s.endpoint(best).port)) best = i;
    return best;
  }
};
struct WrongReturn {
  template <class Snapshot>
  int pick(const Snapshot&, PickContext&) { return 0; }
};
struct NoPick {};

template <class P>
std::size_t use(Table& t, P& policy) {
  static_assert(require_policy<P, Table::Snapshot>());
  auto s = t.snapshot();
  Rng rng(1);
  PickContext c(rng);
  return policy.pick(s, c);
}
}  // namespace

static_assert(is_policy_v<LowestPort, Table::Snapshot>);
static_assert(is_policy_v<RoundRobin, Table::Snapshot>);
static_assert(is_policy_v<Random, Table::Snapshot>);
static_assert(is_policy_v<WeightedSrv, Table::Snapshot>);
static_assert(is_policy_v<LeastRequest, Table::Snapshot>);
static_assert(is_policy_v<PeakEwma, Table::Snapshot>);
static_assert(is_policy_v<Maglev, EndpointTable<8, MaglevIndex<>>::Snapshot>);
static_assert(!is_policy_v<WrongReturn, Table::Snapshot>);
static_assert(!is_policy_v<NoPick, Table::Snapshot>);
#if defined(__cpp_concepts) && __cpp_concepts >= 201907L
static_assert(Policy<LowestPort, Table::Snapshot> && !Policy<NoPick, Table::Snapshot>);
#endif

TEST_CASE("a user-written policy plugs in like the built-in ones", "[balance][custom]") {
  Table t;
  Endpoint eps[3] = {balance_test::ep(1, 9000), balance_test::ep(2, 8000), balance_test::ep(3, 8500)};
  REQUIRE(t.publish(eps, 3).ok());
  LowestPort p;
  CHECK(use(t, p) == 1);
}
