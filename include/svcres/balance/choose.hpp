#pragma once
// Internal helpers shared by the policies: uniform choice among the entries a PickContext allows.
// No allocation; O(1) expected when nothing is filtered, O(n) worst case.

#include <cstddef>
#include <cstdint>

#include "svcres/balance/pick_context.hpp"

namespace svcres::detail {

template <class Snapshot>
std::size_t count_allowed(const Snapshot& s, const PickContext& c, std::size_t exclude) noexcept {
  std::size_t k = 0;
  for (std::size_t i = 0, n = s.size(); i < n; ++i) k += (i != exclude && c.allowed(i)) ? 1u : 0u;
  return k;
}

template <class Snapshot>
std::size_t nth_allowed(const Snapshot& s, const PickContext& c, std::size_t k, std::size_t exclude) noexcept {
  for (std::size_t i = 0, n = s.size(); i < n; ++i)
    if (i != exclude && c.allowed(i) && k-- == 0) return i;
  return no_pick;
}

// Uniform among allowed entries other than `exclude`. A few rejection probes first (each accepted
// probe is uniform among allowed entries), then an exact count-and-index fallback.
template <class Snapshot>
std::size_t random_allowed(const Snapshot& s, PickContext& c, std::size_t exclude = no_pick) noexcept {
  const std::size_t n = s.size();
  if (n == 0) return no_pick;
  for (int probe = 0; probe < 4; ++probe) {
    std::size_t i = c.rng.below(static_cast<std::uint32_t>(n));
    if (i != exclude && c.allowed(i)) return i;
  }
  std::size_t k = count_allowed(s, c, exclude);
  if (k == 0) return no_pick;
  return nth_allowed(s, c, c.rng.below(static_cast<std::uint32_t>(k)), exclude);
}

template <class Snapshot>
void random_pair_filtered(const Snapshot& s, PickContext& c, std::size_t& a, std::size_t& b) noexcept {
  a = random_allowed(s, c);
  b = a == no_pick ? no_pick : random_allowed(s, c, a);
}

// Two distinct allowed entries for power-of-two-choices; second is no_pick when only one exists.
// The unfiltered case is kept small so it inlines into the policies' pick().
template <class Snapshot>
inline void random_pair(const Snapshot& s, PickContext& c, std::size_t& a, std::size_t& b) noexcept {
  const std::size_t n = s.size();
  if (c.usable == nullptr && c.avoid == no_pick && n >= 2) {
    // A uniform distinct pair from one 64-bit draw: each 32-bit half goes through the same
    // multiply-shift as Rng::below() (bias below 2^-32 each); xoshiro256**'s halves are independent.
    const std::uint64_t x = c.rng();
    a = static_cast<std::size_t>(((x >> 32) * n) >> 32);
    b = static_cast<std::size_t>(((x & 0xffffffffu) * (n - 1)) >> 32);
    if (b >= a) ++b;
    return;
  }
  random_pair_filtered(s, c, a, b);
}

// take_b ? b : a without a branch: which of two random draws wins is a coin flip the branch
// predictor cannot learn, and a mispredict (~15 cycles) costs more than the whole P2C comparison.
inline std::size_t select(bool take_b, std::size_t a, std::size_t b) noexcept {
  return a ^ ((a ^ b) & (std::size_t{0} - static_cast<std::size_t>(take_b)));
}

// Runs pick(ctx); if nothing qualified while ctx.avoid was set, runs it once more without avoiding.
template <class F>
std::size_t relax_avoid(PickContext& c, F&& pick) noexcept {
  std::size_t i = pick();
  if (i == no_pick && c.avoid != no_pick) {
    const std::size_t saved = c.avoid;
    c.avoid = no_pick;
    i = pick();
    c.avoid = saved;
  }
  return i;
}

// Power of two choices, shared by LeastRequest and PeakEwma: two distinct random entries (honouring
// the filter and, when possible, the retry's avoid) and the one `b_wins(b, a)` prefers.
template <class Snapshot, class Prefer>
std::size_t two_choices(const Snapshot& s, PickContext& c, Prefer&& b_wins) noexcept {
  return relax_avoid(c, [&] {
    std::size_t a, b;
    random_pair(s, c, a, b);
    if (b == no_pick) return a;
    return select(b_wins(b, a), a, b);
  });
}

}  // namespace svcres::detail
