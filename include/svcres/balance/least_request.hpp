#pragma once
// LeastRequest: power of two choices on in-flight requests, after Envoy's least-request balancer.
// Two distinct allowed entries are drawn uniformly and the one with the lower cost wins, where
//     cost = (in_flight + 1)^bias / weight      (weight 0 counts as 1)
// bias is Envoy's active_request_bias: 1.0 (default) is the classic "fewest requests per unit of
// weight"; 0 ignores load and picks by weight alone; larger values punish load harder. With bias
// 1.0 the comparison is done in integers (no pow on the pick path). Ties go to the first draw.

#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "svcres/balance/choose.hpp"
#include "svcres/balance/pick_context.hpp"

namespace svcres {

class LeastRequest {
 public:
  explicit LeastRequest(double active_request_bias = 1.0) noexcept : bias_(active_request_bias) {}

  template <class Snapshot>
  std::size_t pick(const Snapshot& s, PickContext& c) const noexcept {
    return detail::two_choices(s, c, [&](std::size_t b, std::size_t a) { return better(s, b, a); });
  }

 private:
  template <class Snapshot>
  bool better(const Snapshot& s, std::size_t x, std::size_t y) const noexcept {
    // Relaxed: a load estimate; staleness only makes the choice slightly less informed.
    const std::uint64_t lx = s.stats(x).in_flight.load(std::memory_order_relaxed) + 1ull;
    const std::uint64_t ly = s.stats(y).in_flight.load(std::memory_order_relaxed) + 1ull;
    std::uint64_t wx = s.rank(x).weight, wy = s.rank(y).weight;  // one load each
    wx += wx == 0;  // weight 0 counts as 1: least request balances load, and the host still serves
    wy += wy == 0;
    if (bias_ == 1.0) return lx * wy < ly * wx;  // lx/wx < ly/wy without division
    return std::pow(static_cast<double>(lx), bias_) * static_cast<double>(wy) <
           std::pow(static_cast<double>(ly), bias_) * static_cast<double>(wx);
  }

  double bias_;
};

}  // namespace svcres
