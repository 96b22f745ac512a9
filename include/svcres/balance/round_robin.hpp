#pragma once
// RoundRobin: entries in turn, skipping those the context does not allow. One shared counter, so
// the order is global across threads (each pick is one relaxed fetch_add on a shared cache line;
// that line is the cost of exact global rotation). With a usable mask or an avoided index the
// rotation runs over the allowed entries only (O(n) for that pick). The counter is not reset on publish: after a
// republish the rotation continues from an arbitrary entry, which is still round robin.

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "svcres/balance/choose.hpp"
#include "svcres/balance/pick_context.hpp"
#include "svcres/table/endpoint_stats.hpp"

namespace svcres {

class RoundRobin {
 public:
  template <class Snapshot>
  std::size_t pick(const Snapshot& s, PickContext& c) noexcept {
    const std::size_t n = s.size();
    if (n == 0) return no_pick;
    // Relaxed: the counter only spreads picks; it orders nothing else.
    const std::uint32_t turn = next_.fetch_add(1, std::memory_order_relaxed);
    if (c.usable == nullptr && c.avoid == no_pick) return turn % static_cast<std::uint32_t>(n);
    // Filtered: rotate over the allowed entries only. Skipping forward from a disallowed entry
    // instead would hand its turns to its neighbour and double that neighbour's share.
    return detail::relax_avoid(c, [&] {
      const std::size_t k = detail::count_allowed(s, c, no_pick);
      return k == 0 ? no_pick : detail::nth_allowed(s, c, turn % k, no_pick);
    });
  }

 private:
  alignas(kCacheLine) std::atomic<std::uint32_t> next_{0};
};

}  // namespace svcres
