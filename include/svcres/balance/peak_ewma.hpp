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
    return detail::two_choices(s, c, [&](std::size_t b, std::size_t a) { return cheaper(s, b, a, c.now); });
  }

  template <class Snapshot>
  double cost(const Snapshot& s, std::size_t i, TimePoint now) const noexcept {
    const EndpointStats& st = s.stats(i);
    return estimate_ns(st, now, cfg_) * (static_cast<double>(st.in_flight.load(std::memory_order_relaxed)) + 1.0);
  }

 private:
  // cost(x) < cost(y), with one exp instead of two: cost = load x e^-e with load = estimate x
  // (in_flight + 1) before decay and e = dt / decay (0 for a host with no sample), so the test is
  // load_x x e^-(e_x - e_y) < load_y when e_x >= e_y, else load_x < load_y x e^-(e_y - e_x).
  // The same comparison as cost() up to rounding, except that two hosts both idle past the
  // exponent's underflow (~700 decays) are still told apart instead of both costing 0.
  template <class Snapshot>
  bool cheaper(const Snapshot& s, std::size_t x, std::size_t y, TimePoint now) const noexcept {
    double ex, ey;
    const double lx = undecayed(s.stats(x), now, ex);
    const double ly = undecayed(s.stats(y), now, ey);
    return ex >= ey ? lx * detail::exp_neg(ex - ey) < ly : lx < ly * detail::exp_neg(ey - ex);
  }
  double undecayed(const EndpointStats& st, TimePoint now, double& exponent) const noexcept {
    // Relaxed: independent estimates (see ewma.hpp); staleness only blurs one choice.
    const double load = static_cast<double>(st.in_flight.load(std::memory_order_relaxed)) + 1.0;
    const std::uint64_t cur = st.ewma_ns.load(std::memory_order_relaxed);
    exponent = 0;
    if (cur == 0) return static_cast<double>(detail::ns_of(cfg_.default_rtt)) * load;
    const std::int64_t dt = to_ns(now) - st.ewma_updated_ns.load(std::memory_order_relaxed);
    const std::int64_t tau = detail::ns_of(cfg_.decay);
    if (dt > 0 && tau > 0) exponent = static_cast<double>(dt) / static_cast<double>(tau);  // as decay_weight()
    return static_cast<double>(cur) * load;
  }

  EwmaConfig cfg_;
};

}  // namespace svcres
