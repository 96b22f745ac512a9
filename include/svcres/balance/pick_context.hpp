#pragma once
// PickContext: everything a policy may use besides the snapshot, for one pick.
//
//   Rng& rng            the caller's generator (one per thread: Rng is not thread-safe)
//   now                 the caller's clock reading (policies never read a clock themselves)
//   key / has_key       a request hash for consistent policies (Maglev); ignored by the others
//   usable              bit i of usable[i / 64] set = entry i is healthy; nullptr = every entry is.
//                       Filled by OutlierDetector::filter(); a policy never picks an unusable entry.
//   avoid               an index to skip when anything else is allowed (a retry avoiding the host
//                       that just failed); no_pick = none. When it is the only usable entry the
//                       policies pick it anyway: a retry on the same host beats no retry.

#include <cstddef>
#include <cstdint>

#include "svcres/core/clock.hpp"
#include "svcres/core/random.hpp"

namespace svcres {

// What pick() returns when nothing may be picked (empty set, or every entry filtered out).
inline constexpr std::size_t no_pick = static_cast<std::size_t>(-1);

struct PickContext {
  explicit PickContext(Rng& r, TimePoint t = TimePoint{}) noexcept : rng(r), now(t) {}

  Rng& rng;
  TimePoint now;
  std::uint64_t key = 0;
  bool has_key = false;
  const std::uint64_t* usable = nullptr;
  std::size_t avoid = no_pick;

  bool healthy(std::size_t i) const noexcept { return usable == nullptr || ((usable[i >> 6] >> (i & 63)) & 1u); }
  bool allowed(std::size_t i) const noexcept { return i != avoid && healthy(i); }
};

}  // namespace svcres
