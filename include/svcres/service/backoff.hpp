#pragma once
// Fully jittered exponential backoff between retries ("full jitter" in the AWS Architecture Blog's
// "Exponential Backoff and Jitter"): before retry n (n = 1, 2, ...) wait a uniform random time in
//     [0, min(cap, base x 2^(n-1)))
// Defaults are Envoy's retry back-off: 25 ms base, 250 ms cap (10 x base). Full jitter spreads the
// retries of many clients that failed at the same instant, which a fixed delay would synchronise.

#include <chrono>
#include <cstdint>

#include "svcres/core/clock.hpp"
#include "svcres/core/random.hpp"

namespace svcres {

struct BackoffConfig {
  Duration base = std::chrono::milliseconds(25);
  Duration cap = std::chrono::milliseconds(250);
};

// The upper bound of the wait before retry n (n >= 1): min(cap, base x 2^(n-1)); 0 for n == 0.
inline Duration backoff_ceiling(const BackoffConfig& cfg, unsigned retry) noexcept {
  if (retry == 0 || cfg.base <= Duration::zero()) return Duration::zero();
  Duration d = cfg.base;
  for (unsigned i = 1; i < retry && d < cfg.cap; ++i) d += d;  // doubling stops at the cap: no overflow
  return d < cfg.cap ? d : cfg.cap;
}

// One draw of the wait before retry n, uniform in [0, backoff_ceiling(n)).
inline Duration backoff_delay(const BackoffConfig& cfg, unsigned retry, Rng& rng) noexcept {
  const Duration ceiling = backoff_ceiling(cfg, retry);
  if (ceiling <= Duration::zero()) return Duration::zero();
  return Duration(static_cast<Duration::rep>(rng.unit() * static_cast<double>(ceiling.count())));
}

}  // namespace svcres
