#pragma once
// WeightedSrv: the RFC 2782 selection rules applied to one pick.
//
// RFC 2782, "Priority": a client MUST contact the lowest-numbered priority it can reach, so the
// pick uses only the lowest priority that has an allowed entry (healthy and not avoided); higher
// groups are used only when every entry of the lower ones is ejected or avoided.
// RFC 2782, "Weight" (the ordering algorithm): within the group, weight-0 entries go first in the
// list, weights are summed (S), a uniform r in [0, S] inclusive is drawn, and the first entry whose
// running sum is >= r is chosen. So a positive weight w is picked with probability w / (S + 1)
// and the weight-0 entries together with 1 / (S + 1): the RFC's "very small chance" for weight 0
// in the presence of positive weights, and all of the traffic when every weight is 0.
// One deviation, noted in the RFC errata discussion: with no weight-0 entry, r = 0 would give the
// first entry of an arbitrary order an extra share; we draw r in [1, S] then, which is exactly
// proportional to weight.
// ZeroWeight::last_resort is the stricter reading some deployments want: weight-0 entries are
// chosen only when the group has no allowed positive-weight entry.

#include <cstddef>
#include <cstdint>

#include "svcres/balance/choose.hpp"
#include "svcres/balance/pick_context.hpp"
#include "svcres/core/endpoint.hpp"

namespace svcres {

class WeightedSrv {
 public:
  enum class ZeroWeight : std::uint8_t { rfc_small_chance, last_resort };
  explicit WeightedSrv(ZeroWeight z = ZeroWeight::rfc_small_chance) noexcept : zero_(z) {}

  template <class Snapshot>
  std::size_t pick(const Snapshot& s, PickContext& c) const noexcept {
    return detail::relax_avoid(c, [&] { return pick_once(s, c); });
  }

 private:
  template <class Snapshot>
  std::size_t pick_once(const Snapshot& s, PickContext& c) const noexcept {
    const std::size_t n = s.size();
    // One pass for the lowest allowed priority and its group's weight sum and weight-0 count.
    std::uint32_t best = 0x10000;  // above any 16-bit priority
    std::uint64_t sum = 0;
    std::uint32_t zeros = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (!c.allowed(i)) continue;
      const auto e = s.rank(i);
      if (e.priority > best) continue;
      if (e.priority < best) {
        best = e.priority;
        sum = 0;
        zeros = 0;
      }
      sum += e.weight;
      zeros += e.weight == 0 ? 1 : 0;
    }
    if (best == 0x10000) return no_pick;
    // sum <= 65535 x 65535 entries < 2^32, so below() is exact enough.
    bool take_zero;
    if (sum == 0) {
      take_zero = true;
    } else if (zeros == 0 || zero_ == ZeroWeight::last_resort) {
      take_zero = false;
    } else {
      take_zero = c.rng.below(static_cast<std::uint32_t>(sum + 1)) == 0;
    }
    if (take_zero) {
      std::uint32_t k = c.rng.below(zeros);
      for (std::size_t i = 0; i < n; ++i)
        if (c.allowed(i) && s.rank(i).priority == best && s.rank(i).weight == 0 && k-- == 0) return i;
      return no_pick;
    }
    std::uint64_t r = 1 + c.rng.below(static_cast<std::uint32_t>(sum));  // [1, S]
    std::uint64_t running = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const auto e = s.rank(i);
      if (!c.allowed(i) || e.priority != best) continue;
      running += e.weight;
      if (running >= r) return i;
    }
    return no_pick;  // unreachable: running reaches sum >= r
  }

  ZeroWeight zero_;
};

}  // namespace svcres
