#pragma once
// PeakEwma: power of two choices on cost = latency estimate x (in_flight + 1), after Finagle/Linkerd
// and tower. The estimate is ewma.hpp's estimate_ns() at ctx.now (peak-sensitive, decay 10 s by
// default, 30 ms for a host with no sample). Latency reaches the estimate only through
// record_latency(), which svcres::complete() (feedback.hpp) calls for every finished lease, so the
// policy itself keeps no state and never writes on the pick path.

#include <cstddef>
#include <cstdint>

#include "svcres/balance/choose.hpp"
#include "svcres/balance/ewma.hpp"
#include "svcres/balance/pick_context.hpp"

namespace svcres {

class PeakEwma {
 public:
  explicit PeakEwma(EwmaConfig cfg = {}) noexcept : cfg_(cfg) {}
  const EwmaConfig& config() const noexcept { return cfg_; }

  template <class Snapshot>
  std::size_t pick(const Snapshot& s, PickContext& c) const noexcept {
    return detail::relax_avoid(c, [&] {
      std::size_t a, b;
      detail::random_pair(s, c, a, b);
      if (b == no_pick) return a;
      return cost(s, b, c.now) < cost(s, a, c.now) ? b : a;
    });
  }

  template <class Snapshot>
  double cost(const Snapshot& s, std::size_t i, TimePoint now) const noexcept {
    const EndpointStats& st = s.stats(i);
    return estimate_ns(st, now, cfg_) * (static_cast<double>(st.in_flight.load(std::memory_order_relaxed)) + 1.0);
  }

 private:
  EwmaConfig cfg_;
};

}  // namespace svcres
