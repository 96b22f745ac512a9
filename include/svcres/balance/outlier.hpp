#pragma once
// OutlierDetector: consecutive-failure ejection, applied beside any policy as a filter.
//
// Completion side, on_outcome(): a success resets the endpoint's consecutive failures; the
// `consecutive_failures`-th failure in a row (default 5) ejects it until
//     now + min(base_ejection x times_ejected, max_ejection)     (30 s x n, capped at 300 s)
// unless that would eject the last usable endpoint of the current set: with 2-4 tasks, a percentage
// cap like Envoy's max_ejection_percent rounds to "eject nothing", so instead we refuse only the
// ejection that would leave nobody. (Two threads ejecting the last two hosts at the same instant can
// both succeed; the panic rule below then uses every host, so traffic never stops.)
// Pick side, filter(): builds the usable mask for one pick and lifts expired ejections lazily (no
// timer: a frozen Lambda simply finds the deadline passed). If fewer than panic_threshold_percent
// (default 50 %) of the entries are usable, health is ignored and every entry is used (panic mode),
// as Envoy does: a partial outage should not focus all traffic on the few remaining hosts.
// When nothing in the table is ejected, filter() is one relaxed load (no per-entry work).
//
//   svcres::UsableSet<Table::capacity()> usable;               // on the caller's stack
//   detector.filter(snap, now, usable, ctx);                    // before policy.pick(snap, ctx)
//   detector.on_outcome(table, ref, stats, ok, now);            // via svcres::complete()
//
// times_ejected never decreases while the identity stays in its slot; it restarts at 0 when the slot
// is given to a new identity.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "svcres/balance/pick_context.hpp"
#include "svcres/core/clock.hpp"
#include "svcres/table/endpoint_stats.hpp"
#include "svcres/table/endpoint_table.hpp"

namespace svcres {

struct OutlierConfig {
  std::uint32_t consecutive_failures = 5;
  Duration base_ejection = std::chrono::seconds(30);
  Duration max_ejection = std::chrono::seconds(300);
  std::uint32_t panic_threshold_percent = 50;  // 0 disables panic mode
};

// A usable-entry bit mask for one pick, sized for a table capacity; lives on the caller's stack.
template <std::size_t Capacity>
struct UsableSet {
  std::uint64_t words[(Capacity + 63) / 64];
};

struct FilterResult {
  std::size_t usable = 0;  // entries not ejected
  bool panic = false;      // below the panic threshold: every entry was made usable
};

class OutlierDetector {
 public:
  explicit OutlierDetector(OutlierConfig cfg = {}) noexcept : cfg_(cfg) {}
  const OutlierConfig& config() const noexcept { return cfg_; }

  template <class Snapshot, std::size_t C>
  FilterResult filter(const Snapshot& s, TimePoint now, UsableSet<C>& set, PickContext& ctx) const noexcept {
    static_assert(C >= Snapshot::capacity(), "UsableSet<C> must be at least the table's capacity: use UsableSet<Table::capacity()>.");
    const std::size_t n = s.size();
    ctx.usable = nullptr;
    // Relaxed: a hint. Missing an ejection made a moment ago on another thread costs one unfiltered
    // pick; the ejection deadline itself is read below on the next pick.
    if (s.ejected_counter().load(std::memory_order_relaxed) <= 0) return {n, false};
    const std::int64_t now_ns = to_ns(now);
    for (auto& w : set.words) w = 0;
    std::size_t usable = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (ejected(s.stats(i), now_ns, s.ejected_counter())) continue;
      set.words[i >> 6] |= std::uint64_t{1} << (i & 63);
      ++usable;
    }
    if (usable == n) return {n, false};
    if (static_cast<std::uint64_t>(usable) * 100 < static_cast<std::uint64_t>(cfg_.panic_threshold_percent) * n)
      return {usable, true};
    ctx.usable = set.words;
    return {usable, false};
  }

  // Returns true when this outcome ejected the endpoint.
  template <class Table>
  bool on_outcome(Table& table, SlotRef ref, EndpointStats& st, bool success, TimePoint now) const noexcept {
    // Relaxed: per-endpoint counters; the ejection deadline is the only thing readers act on.
    if (success) {
      st.consecutive_failures.store(0, std::memory_order_relaxed);
      return false;
    }
    if (cfg_.consecutive_failures == 0) return false;
    if (st.consecutive_failures.fetch_add(1, std::memory_order_relaxed) + 1 < cfg_.consecutive_failures) return false;
    const std::int64_t now_ns = to_ns(now);
    std::int64_t until = st.ejected_until_ns.load(std::memory_order_relaxed);
    if (until > now_ns) return false;  // already ejected: late failures of older leases
    {
      bool in_set;
      std::size_t others;
      std::atomic<std::int32_t>* counter;
      for (;;) {  // until the scan saw one whole set (a publish may rewrite it under the scan)
        const auto snap = table.snapshot();
        counter = &snap.ejected_counter();
        in_set = false;
        others = 0;
        for (std::size_t i = 0; i < snap.size(); ++i) {
          if (snap.ref(i).slot == ref.slot) {
            in_set = true;
          } else if (!ejected(snap.stats(i), now_ns, *counter)) {
            ++others;
          }
        }
        if (snap.valid()) break;
      }
      if (!in_set || others == 0) return false;  // gone already, or the last usable endpoint
      const std::uint32_t times = st.times_ejected.fetch_add(1, std::memory_order_relaxed) + 1;
      const std::int64_t base = std::chrono::duration_cast<std::chrono::nanoseconds>(cfg_.base_ejection).count();
      const std::int64_t cap = std::chrono::duration_cast<std::chrono::nanoseconds>(cfg_.max_ejection).count();
      const std::int64_t length = base > 0 && static_cast<std::int64_t>(times) > cap / base ? cap : base * times;
      if (!st.ejected_until_ns.compare_exchange_strong(until, now_ns + (length < cap ? length : cap),
                                                       std::memory_order_relaxed, std::memory_order_relaxed)) {
        st.times_ejected.fetch_sub(1, std::memory_order_relaxed);  // another thread ejected it first
        return false;
      }
      if (until == 0) counter->fetch_add(1, std::memory_order_relaxed);
    }
    st.consecutive_failures.store(0, std::memory_order_relaxed);
    return true;
  }

 private:
  // True while ejected; lifts an expired ejection (the one thread whose CAS wins drops the count).
  static bool ejected(EndpointStats& st, std::int64_t now_ns, std::atomic<std::int32_t>& counter) noexcept {
    std::int64_t until = st.ejected_until_ns.load(std::memory_order_relaxed);
    if (until == 0) return false;
    if (until > now_ns) return true;
    if (st.ejected_until_ns.compare_exchange_strong(until, 0, std::memory_order_relaxed, std::memory_order_relaxed))
      counter.fetch_sub(1, std::memory_order_relaxed);
    return until > now_ns;  // a concurrent re-ejection wrote a later deadline into `until`
  }

  OutlierConfig cfg_;
};

}  // namespace svcres
