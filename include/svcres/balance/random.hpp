#pragma once
// Random: uniform among the entries the context allows. No shared state at all, so it scales with
// threads where round robin's counter does not.

#include <cstddef>

#include "svcres/balance/choose.hpp"
#include "svcres/balance/pick_context.hpp"

namespace svcres {

struct Random {
  template <class Snapshot>
  std::size_t pick(const Snapshot& s, PickContext& c) const noexcept {
    return detail::relax_avoid(c, [&] { return detail::random_allowed(s, c); });
  }
};

}  // namespace svcres
