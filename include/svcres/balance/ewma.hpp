#pragma once
// Peak EWMA of request latency, kept in EndpointStats (ewma_ns, ewma_updated_ns).
//
// record_latency(): peak-sensitive, after Finagle/Linkerd's and tower's PeakEwma. A sample above the
// current estimate replaces it at once (a host turning slow is believed immediately); a sample below
// is blended in with weight 1 - exp(-dt / decay), dt being the time since the last update. Decay is
// computed from timestamps, never from a timer or a sample count, so a process frozen for minutes
// (a Lambda between invocations) resumes with an estimate that has simply aged: no tick is missed.
// estimate_ns(): the estimate as seen at `now`: the stored value decayed toward zero by
// exp(-dt / decay), so a host that nobody has picked for a while (because it was slow) becomes
// attractive again and gets re-measured; a host with no sample yet costs default_rtt.
//
// Concurrency: completions race on the two words. The estimate is updated with a CAS loop, so no
// sample is lost; the timestamp is a separate word, so a concurrent pick may pair a new estimate with
// the previous timestamp, which only changes the decay of a single read slightly.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>

#include "svcres/core/clock.hpp"
#include "svcres/table/endpoint_stats.hpp"

namespace svcres {

struct EwmaConfig {
  Duration decay = std::chrono::seconds(10);
  Duration default_rtt = std::chrono::milliseconds(30);
  // complete() records a failed attempt as max(latency, failure_penalty). 5 s by default, unlike
  // tower and Envoy (which record a failure at face value): a timed-out request only says "at least
  // this slow", and a host failing fast (refused, 503) would otherwise look fast and attract traffic.
  // In bench/lb_sim's Linkerd scenario the penalty takes peak EWMA from 99.81 % to 99.95 % success,
  // because a stuck host no longer wins a choice as soon as its in-flight requests have timed out.
  // Zero restores the face-value behaviour.
  Duration failure_penalty = std::chrono::seconds(5);
};

namespace detail {
// e^-x for x >= 0 within 2e-7 relative, without a libm call (it runs twice per peak-EWMA pick):
// e^-x = 2^-k x e^-(f ln 2) with k = floor(x log2 e); the second factor by its Taylor series to the
// 9th power on [0, ln 2), the first by writing the exponent bits.
inline double exp_neg(double x) noexcept {
  if (!(x > 0)) return 1.0;  // also NaN
  if (x > 700) return 0.0;
  const double t = x * 1.4426950408889634;  // log2(e)
  const std::int64_t k = static_cast<std::int64_t>(t);  // t >= 0: truncation is floor
  const double y = (t - static_cast<double>(k)) * 0.6931471805599453;
  // The Taylor polynomial sum_k (-y)^k / k!, k = 0..9, in Estrin's form: about 5 dependent
  // multiply-adds instead of Horner's 9, so the two estimates of a peak-EWMA pick overlap well.
  const double y2 = y * y;
  const double y4 = y2 * y2;
  const double q0 = 1.0 - y;
  const double q1 = 1.0 / 2 - y * (1.0 / 6);
  const double q2 = 1.0 / 24 - y * (1.0 / 120);
  const double q3 = 1.0 / 720 - y * (1.0 / 5040);
  const double q4 = 1.0 / 40320 - y * (1.0 / 362880);
  const double p = (q0 + q1 * y2) + (q2 + q3 * y2) * y4 + q4 * (y4 * y4);
  const std::uint64_t bits = static_cast<std::uint64_t>(1023 - k) << 52;  // 2^-k, k <= 1010
  double scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}
// exp(-dt / tau) for dt >= 0; 1 for a clock that did not move or moved backwards.
inline double decay_weight(std::int64_t dt_ns, std::int64_t tau_ns) noexcept {
  if (dt_ns <= 0 || tau_ns <= 0) return 1.0;
  return exp_neg(static_cast<double>(dt_ns) / static_cast<double>(tau_ns));
}
inline std::int64_t ns_of(Duration d) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}
}  // namespace detail

inline void record_latency(EndpointStats& st, Duration latency, TimePoint now, const EwmaConfig& cfg = {}) noexcept {
  const std::int64_t now_ns = to_ns(now);
  const std::int64_t sample_signed = detail::ns_of(latency);
  const std::uint64_t sample = sample_signed > 0 ? static_cast<std::uint64_t>(sample_signed) : 1;  // 0 means "none"
  // Relaxed everywhere: the estimate is a self-contained number; nothing is published through it.
  std::uint64_t cur = st.ewma_ns.load(std::memory_order_relaxed);
  for (;;) {
    std::uint64_t next;
    if (cur == 0 || sample >= cur) {
      next = sample;  // first sample, or a peak
    } else {
      const double w = detail::decay_weight(now_ns - st.ewma_updated_ns.load(std::memory_order_relaxed),
                                            detail::ns_of(cfg.decay));
      const double blended = static_cast<double>(cur) * w + static_cast<double>(sample) * (1.0 - w);
      next = blended < 1.0 ? 1 : static_cast<std::uint64_t>(blended + 0.5);
    }
    if (st.ewma_ns.compare_exchange_weak(cur, next, std::memory_order_relaxed, std::memory_order_relaxed)) break;
  }
  st.ewma_updated_ns.store(now_ns, std::memory_order_relaxed);
}

inline double estimate_ns(const EndpointStats& st, TimePoint now, const EwmaConfig& cfg = {}) noexcept {
  const std::uint64_t cur = st.ewma_ns.load(std::memory_order_relaxed);
  if (cur == 0) return static_cast<double>(detail::ns_of(cfg.default_rtt));
  const std::int64_t dt = to_ns(now) - st.ewma_updated_ns.load(std::memory_order_relaxed);
  return static_cast<double>(cur) * detail::decay_weight(dt, detail::ns_of(cfg.decay));
}

}  // namespace svcres
