// Readers pick, lease and complete while the writer republishes random sets. Checks: a view that
// valid() accepts is always exactly one published set; a lease's stats never land on another
// identity (ports decide outcomes and latencies, so a misrouted update is visible); a lease started
// from a stale view is refused and leaves no count behind; in-flight counts return to zero.
// Duration per case: SVCRES_STRESS_MS milliseconds (default 1500).

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>

#include "svcres/balance/feedback.hpp"
#include "svcres/balance/random.hpp"
#include "svcres/table/endpoint_table.hpp"
#include "test.hpp"

using namespace svcres;

namespace {

constexpr std::size_t kCap = 16;
using Table = EndpointTable<kCap>;

std::chrono::milliseconds stress_duration() {
  const char* v = std::getenv("SVCRES_STRESS_MS");
  long ms = v ? std::atol(v) : 1500;
  return std::chrono::milliseconds(ms > 0 ? ms : 1500);
}

// The set published as version v: 1..kCap entries (duplicates allowed) drawn from 48 identities. Odd ports "fail".
std::size_t make_set(std::uint64_t v, Endpoint* out) {
  Rng r(v * 7919 + 1);
  // Never empty: readers spin so fast on an empty set that it would dominate the iterations
  // (empty sets are covered by the unit tests).
  std::size_t n = 1 + r.below(kCap);
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t id = r.below(48);
    out[i].address = IpAddress::v4(10, 1, static_cast<std::uint8_t>(id / 8), static_cast<std::uint8_t>(id));
    out[i].port = static_cast<std::uint16_t>(2000 + id);
    out[i].weight = static_cast<std::uint16_t>(r.below(4));
    out[i].priority = static_cast<std::uint16_t>(id % 3);
  }
  return n;
}

struct Failure {
  std::atomic<int> count{0};
  void note() { count.fetch_add(1); }
};

}  // namespace

TEST_CASE("readers see whole published sets and stats stay with their identity", "[table][stress]") {
  static Table table;  // static: 4 buffers and 32 slots of two cache lines each
  const OutlierDetector counter(OutlierConfig{1u << 30, std::chrono::seconds(30), std::chrono::seconds(300), 50});
  // Failures at face value (no 5 s penalty): each endpoint's latency samples encode its port.
  EwmaConfig face_value;
  face_value.failure_penalty = Duration::zero();
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> picks{0}, snapshots_checked{0}, nopicks{0}, busy_publishes{0}, stale_views{0},
      refused_starts{0};
  Failure mixed_set, wrong_stats, dead_ref;
  const auto deadline = std::chrono::steady_clock::now() + stress_duration();

  std::thread writer([&] {
    Endpoint eps[kCap];
    std::uint64_t busy = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      std::size_t n = make_set(table.version() + 1, eps);
      Status s = table.publish(eps, n);
      if (!s.ok()) {
        REQUIRE(s.error() == Errc::table_busy);
        ++busy;
        std::this_thread::yield();
      }
    }
    stop.store(true);
    busy_publishes.store(busy);
  });

  auto reader = [&](std::uint64_t seed) {
    Rng rng(seed);
    Random policy;
    Endpoint expect[kCap];
    struct Held {
      SlotRef ref;
      Endpoint ep;
    };
    Held held[4];
    std::size_t nheld = 0;
    auto finish_one = [&](const Held& h) {
      EndpointStats* st = table.stats(h.ref);
      if (st == nullptr) {
        dead_ref.note();
      } else {
        bool ok = (h.ep.port % 2) == 0;
        complete(table, h.ref, Outcome{ok, std::chrono::microseconds(h.ep.port)}, SteadyClock{}.now(), &counter,
                 face_value);
        return;
      }
      table.finish(h.ref);
    };
    while (!stop.load(std::memory_order_relaxed)) {
      auto snap = table.snapshot();
      // Problems seen through the view count only if the view is still valid after the reads.
      bool mixed = false;
      int bad_stats = 0;
      std::size_t n = make_set(snap.version(), expect);
      if (snap.version() != 0) {
        bool same = n == snap.size();
        for (std::size_t i = 0; same && i < n; ++i) same = snap.endpoint(i) == expect[i];
        mixed = !same;
      }
      for (std::size_t i = 0; i < snap.size(); ++i) {
        const EndpointStats& st = snap.stats(i);
        const Endpoint e = snap.endpoint(i);
        std::uint64_t ewma = st.ewma_ns.load(std::memory_order_relaxed);
        if (ewma != 0 && ewma != e.port * 1000ull) ++bad_stats;
        if (e.port % 2 == 0 && st.consecutive_failures.load(std::memory_order_relaxed) != 0) ++bad_stats;
        if (st.in_flight.load(std::memory_order_relaxed) > 64) ++bad_stats;  // an underflow
      }
      PickContext ctx(rng);
      std::size_t i = policy.pick(snap, ctx);
      // Now and then hold the view across republishes, so that start() meets stale views.
      if (rng.below(64) == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
      if (!snap.valid()) {
        stale_views.fetch_add(1, std::memory_order_relaxed);
        // A stale view must refuse a lease and leave the count as it was.
        if (i != no_pick && snap.start(i).valid() && !snap.valid()) wrong_stats.note();
        continue;
      }
      if (snap.version() != 0) {
        if (mixed) mixed_set.note();
        snapshots_checked.fetch_add(1, std::memory_order_relaxed);
      }
      for (int k = 0; k < bad_stats; ++k) wrong_stats.note();
      if (i == no_pick) {
        if (snap.size() != 0) wrong_stats.note();
        nopicks.fetch_add(1, std::memory_order_relaxed);
        // Nothing to pick: finish a held lease anyway, or a retired slot it holds could keep the
        // writer from ever finding room for the next set.
        if (nheld > 0) finish_one(held[--nheld]);
        continue;
      }
      const Endpoint picked = snap.endpoint(i);
      const SlotRef ref = snap.start(i);
      if (!ref.valid()) {
        refused_starts.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      if (nheld == 4) {
        // Keep leases across several republishes, finishing a random one.
        std::size_t k = rng.below(4);
        finish_one(held[k]);
        held[k] = held[--nheld];
      }
      held[nheld++] = Held{ref, picked};
      picks.fetch_add(1, std::memory_order_relaxed);
    }
    for (std::size_t k = 0; k < nheld; ++k) finish_one(held[k]);
  };

  std::vector<std::thread> readers;
  for (std::uint64_t s = 1; s <= 3; ++s) readers.emplace_back(reader, s);
  writer.join();
  for (auto& r : readers) r.join();

  INFO("picks " << picks.load() << ", snapshots checked " << snapshots_checked.load() << ", empty picks " << nopicks.load()
                   << ", busy publishes " << busy_publishes.load() << ", versions " << table.version()
                   << ", stale views " << stale_views.load() << ", refused starts " << refused_starts.load());
  CHECK(picks.load() > 100);
  CHECK(stale_views.load() > 0);  // the readers' sleeps make views go stale: that path ran
  CHECK(mixed_set.count.load() == 0);
  CHECK(wrong_stats.count.load() == 0);
  CHECK(dead_ref.count.load() == 0);
  auto snap = table.snapshot();
  for (std::size_t i = 0; i < snap.size(); ++i) CHECK(snap.stats(i).in_flight.load() == 0);
}

TEST_CASE("readers holding views never hold the writer back", "[table][stress]") {
  static EndpointTable<4> t;
  Endpoint a[1];
  a[0].address = IpAddress::v4(10, 5, 0, 1);
  a[0].port = 80;
  REQUIRE(t.publish(a, 1).ok());
  // 24 threads each keep a view of three successive versions; the writer publishes on regardless,
  // and every view but those of the current and the previous buffer reports itself stale.
  constexpr int kThreads = 24;
  std::atomic<int> round{-1}, holding{0}, valid_after{0};
  std::atomic<bool> release{false};
  std::vector<std::thread> readers;
  for (int k = 0; k < kThreads; ++k)
    readers.emplace_back([&] {
      std::vector<EndpointTable<4>::Snapshot> kept;
      for (int r = 0; r < 3; ++r) {
        while (round.load() != r) std::this_thread::yield();
        kept.push_back(t.snapshot());
        holding.fetch_add(1);
      }
      while (!release.load()) std::this_thread::yield();
      for (const auto& v : kept) valid_after.fetch_add(v.valid() ? 1 : 0);
    });
  for (int r = 0; r < 3; ++r) {
    REQUIRE(t.publish(a, 1).ok());
    round.store(r);
    while (holding.load() < kThreads * (r + 1)) std::this_thread::yield();
  }
  for (int k = 0; k < 8; ++k) CHECK(t.publish(a, 1).ok());  // views held: no table_busy
  release.store(true);
  for (auto& r : readers) r.join();
  CHECK(valid_after.load() == 0);  // 8 publishes later every kept view is stale
  CHECK(t.snapshot().stats(0).in_flight.load() == 0);
}
