#pragma once
// RoundRobin: entries in turn, skipping those the context does not allow.
// Each reader thread rotates on its own counter (one per thread shard, each on its own cache
// line), the way Envoy gives every worker its own balancer: no cache line is written by two threads,
// so picks scale with threads. Every thread's sequence is exact round robin; across threads the load
// is equal in the long run but two threads may hit the same entry at the same moment. Counters are
// not reset on publish: after a republish the rotation continues from an arbitrary entry.
// With a usable mask or an avoided index the rotation runs over the allowed entries only (O(n) for
// that pick), so an ejected entry's turns are shared by all, not handed to its neighbour.

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "svcres/balance/choose.hpp"
#include "svcres/balance/pick_context.hpp"
#include "svcres/table/endpoint_stats.hpp"
#include "svcres/table/endpoint_table.hpp"

namespace svcres {

namespace detail {
// Per-thread counter shards: kReaderShards exclusive ones, each owned by one thread, plus one shared
// overflow shard (index kReaderShards) for threads beyond that.
inline constexpr std::size_t kReaderShards = 16;

// The first kReaderShards threads that ever pick round robin each own one shard for the rest of the
// process; later threads share the overflow shard. Ownership is never handed back: a thread-exit
// hook would need thread_local with a destructor, and registering one can allocate inside the C
// library on the first pick of every thread. Saturating, so ids never wrap.
inline std::size_t claim_shard() noexcept {
  static std::atomic<std::uint32_t> next{0};
  // Relaxed: hands out distinct numbers; nothing else is published through it.
  std::uint32_t k = next.load(std::memory_order_relaxed);
  while (k < kReaderShards) {
    if (next.compare_exchange_weak(k, k + 1, std::memory_order_relaxed, std::memory_order_relaxed)) return k;
  }
  return kReaderShards;
}

// This thread's shard: exclusive (0..15) or the overflow shard (16). Trivially destructible.
inline std::size_t this_thread_shard() noexcept {
  thread_local const std::size_t mine = claim_shard();
  return mine;
}
}  // namespace detail

class RoundRobin {
 public:
  RoundRobin() noexcept {
    // Different starting points, so threads do not walk the set in lockstep.
    for (std::size_t k = 0; k <= detail::kReaderShards; ++k)
      turns_[k].next.store(static_cast<std::uint32_t>(k * 7919u), std::memory_order_relaxed);
  }

  template <class Snapshot>
  std::size_t pick(const Snapshot& s, PickContext& c) noexcept {
    const std::size_t n = s.size();
    if (n == 0) return no_pick;
    std::atomic<std::uint32_t>& counter = turns_[detail::this_thread_shard()].next;
    // Relaxed load + store, not fetch_add: the counter is this thread's own (threads beyond the
    // shard count share one and may occasionally repeat a turn, which round robin tolerates), and
    // it orders nothing else.
    std::uint32_t turn = counter.load(std::memory_order_relaxed);
    const std::uint32_t n32 = static_cast<std::uint32_t>(n);
    if (c.usable == nullptr && c.avoid == no_pick) {
      // The counter is kept below n here, so the common case needs no division (a 32-bit div is
      // ~25 cycles, more than the rest of this function); it is reduced only after the set shrank
      // or a filtered pick advanced it past n.
      if (turn >= n32) turn %= n32;
      counter.store(turn + 1 == n32 ? 0 : turn + 1, std::memory_order_relaxed);
      return turn;
    }
    counter.store(turn + 1, std::memory_order_relaxed);
    return detail::relax_avoid(c, [&] {
      const std::size_t k = detail::count_allowed(s, c, no_pick);
      return k == 0 ? no_pick : detail::nth_allowed(s, c, turn % k, no_pick);
    });
  }

 private:
  struct alignas(kCacheLine) Turn {
    std::atomic<std::uint32_t> next{0};
  };
  Turn turns_[detail::kReaderShards + 1];  // one per thread shard, overflow included
};

}  // namespace svcres
