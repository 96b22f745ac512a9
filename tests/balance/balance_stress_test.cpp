// Every policy with outlier ejection on several threads while the writer republishes: picks stay
// inside the set and inside the usable mask they were given; in-flight counts return to zero; the
// ejected-slot counter never goes negative. Duration: SVCRES_STRESS_MS (default 1500 ms).

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>

#include "svcres/balance/feedback.hpp"
#include "svcres/balance/least_request.hpp"
#include "svcres/balance/maglev.hpp"
#include "svcres/balance/outlier.hpp"
#include "svcres/balance/peak_ewma.hpp"
#include "svcres/balance/random.hpp"
#include "svcres/balance/round_robin.hpp"
#include "svcres/balance/weighted_srv.hpp"
#include "svcres/table/endpoint_table.hpp"
#include "test.hpp"

using namespace svcres;
using namespace std::chrono_literals;

namespace {
constexpr std::size_t kCap = 8;
// A small Maglev table keeps the writer's rebuild cheap under TSan (prime, > 100 x 8).
using Table = EndpointTable<kCap, MaglevIndex<1009, kCap>>;

std::chrono::milliseconds stress_duration() {
  const char* v = std::getenv("SVCRES_STRESS_MS");
  long ms = v ? std::atol(v) : 1500;
  return std::chrono::milliseconds(ms > 0 ? ms : 1500);
}

template <class P>
void run_policy(Table& table, P& policy, std::atomic<bool>& stop, std::uint64_t seed, std::atomic<int>& bad,
                std::atomic<long>& picks) {
  Rng rng(seed);
  // Ejections are short so hosts cycle in and out during the run.
  const OutlierDetector od(OutlierConfig{3, 2ms, 10ms, 50});
  while (!stop.load(std::memory_order_relaxed)) {
    SlotRef ref;
    std::uint16_t port = 0;
    {
      auto snap = table.snapshot();
      const TimePoint now = SteadyClock{}.now();
      PickContext ctx(rng, now);
      ctx.key = rng();
      ctx.has_key = (seed & 1) != 0;
      if (snap.size() > 1 && rng.below(4) == 0) ctx.avoid = rng.below(static_cast<std::uint32_t>(snap.size()));
      UsableSet<kCap> usable;
      od.filter(snap, now, usable, ctx);
      std::size_t i = policy.pick(snap, ctx);
      if (snap.ejected_counter().load(std::memory_order_relaxed) < 0) bad.fetch_add(1);
      // A pick made from a view that a publish rewrote meanwhile is thrown away, as Service does.
      if (!snap.valid()) continue;
      if (i == no_pick) {
        if (snap.size() != 0) bad.fetch_add(1);
        continue;
      }
      if (i >= snap.size() || !ctx.healthy(i)) bad.fetch_add(1);
      port = snap.endpoint(i).port;
      ref = snap.start(i);
      if (!ref.valid()) continue;  // went stale between the check and the start
    }
    picks.fetch_add(1, std::memory_order_relaxed);
    // Odd ports fail; latency grows with the port so EWMA has something to rank.
    complete(table, ref, Outcome{port % 2 == 0, std::chrono::microseconds(port % 97)}, SteadyClock{}.now(), &od);
  }
}
}  // namespace

TEST_CASE("policies with ejection under concurrent republishing", "[balance][stress]") {
  static Table table;
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::atomic<long> picks{0};
  RoundRobin rr;
  Random random;
  WeightedSrv srv;
  LeastRequest lr;
  PeakEwma pe;
  Maglev mg;
  std::vector<std::thread> threads;
  threads.emplace_back([&] { run_policy(table, rr, stop, 1, bad, picks); });
  threads.emplace_back([&] { run_policy(table, random, stop, 2, bad, picks); });
  threads.emplace_back([&] { run_policy(table, srv, stop, 3, bad, picks); });
  threads.emplace_back([&] { run_policy(table, lr, stop, 4, bad, picks); });
  threads.emplace_back([&] { run_policy(table, pe, stop, 5, bad, picks); });
  threads.emplace_back([&] { run_policy(table, mg, stop, 7, bad, picks); });
  const auto deadline = std::chrono::steady_clock::now() + stress_duration();
  Rng rng(99);
  long published = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    Endpoint eps[kCap];
    std::size_t n = rng.below(kCap + 1);
    for (std::size_t i = 0; i < n; ++i) {
      std::uint32_t id = rng.below(20);
      eps[i].address = IpAddress::v4(10, 3, 0, static_cast<std::uint8_t>(id));
      eps[i].port = static_cast<std::uint16_t>(3000 + id);
      eps[i].priority = static_cast<std::uint16_t>(id % 2);
      eps[i].weight = static_cast<std::uint16_t>(id % 3);
    }
    if (table.publish(eps, n).ok()) ++published;
    std::this_thread::sleep_for(200us);
  }
  stop.store(true);
  for (auto& t : threads) t.join();
  INFO("picks " << picks.load() << ", publishes " << published);
  CHECK(bad.load() == 0);
  CHECK(picks.load() > 100);
  CHECK(published > 10);
  auto snap = table.snapshot();
  for (std::size_t i = 0; i < snap.size(); ++i) CHECK(snap.stats(i).in_flight.load() == 0);
}
