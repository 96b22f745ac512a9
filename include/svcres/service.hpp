#pragma once
// Service<Policy, Resolver, Capacity, Clock>: one DNS-discovered service, balanced in-process the way
// ECS Service Connect's Envoy sidecar balances it: resolve, keep the endpoint table fresh, pick,
// lease, feed outcomes back (in-flight counts, peak EWMA, outlier ejection, metrics), retry.
//
//   static svcres::Service<> users("user-service.local");   // SRV, round robin, /etc/resolv.conf
//   auto lease = users.pick();                              // Result<Service<>::Lease>
//   if (lease) { ...talk to lease->endpoint()...; lease->complete(svcres::TryOutcome::http(200)); }
//
//   auto r = users.call([&](const svcres::Endpoint& ep, svcres::TimePoint try_deadline) {
//     return send_request(ep, try_deadline);               // -> svcres::TryOutcome
//   });                                                     // retries, back-off, budget, deadlines
//
// REFRESH goes through EndpointResolver (resolve/endpoint_resolver.hpp), which this object owns for
// its one name: ahead of expiry at TTL * (refresh_fraction + U[0, refresh_jitter]) clamped to
// [min_refresh, max_refresh], packets counted, and optionally merging successive answers
// (ServiceOptions::merge = MergeMode::union_of_refreshes learns every task behind Route 53's
// 8-record answers). It is pull-driven: a pick that finds the refresh due refreshes the table itself,
// so a Lambda needs no thread. Coalesced: one picking thread resolves (under try_lock) while the
// others keep picking from the current table; only when there is no table yet do they wait for the
// first answer. Long-running hosts may call start_refresher(): a std::thread that refreshes
// `refresh_ahead` before the refresh time so picks never wait on DNS; the destructor stops and joins
// it. A failed resolution keeps the current set (a DNS outage must not empty the table; served stale
// for ResolverOptions::stale_window, kept after that too) and is retried after retry_after_failure;
// an authoritative NXDOMAIN/NODATA empties it (RFC 2308: the name or its records are gone).
// Refreshes bypass the resolver's cache (the service keeps its own schedule).
//
// DEADLINES: pick(PickOptions{.deadline}) and call(..., deadline) bound the refresh they may run by
// the time left (LookupFlags::deadline: the resolver sends nothing and waits for nothing past it);
// no try starts at or after the deadline (Errc::deadline_exceeded), and a lease's latency is
// measured from the clock read after any refresh, so DNS time is never charged to an endpoint.
// With a set in hand, a refresh must not eat the tries' time: when the deadline is NEAR (less than
// ServiceOptions::refresh_headroom away, 20 ms by default) the pick uses the current set and leaves
// the refresh to the next pick or the background refresher; otherwise the refresh may use at most
// half of the time left. With no set yet, the refresh may use all of it (there is nothing else to
// pick from). pick() without a deadline refreshes without a bound, as before.
//
// NAME: a name that cannot be a DNS name (over 253 characters plus an optional final dot, a label
// over 63, an empty label) makes every pick, call and refresh fail with that error
// (Errc::name_too_long, label_too_long, bad_name_text); nothing is sent.
//
// PICK: snapshot the table (lock-free, no writes), filter ejected endpoints (OutlierDetector, panic
// threshold), let the policy choose, start a lease (in_flight + 1, which also checks that the set did
// not change under the pick; if it did, pick again). No heap, no lock unless a refresh is due.
//
// CALL: see RetryPolicy (retry.hpp) for what is retried and the time limits. A retry never goes to
// the endpoint that just failed when another is usable (PickContext::avoid), waits a fully jittered
// back-off first, and needs a slot in the retry budget (20 % of active requests, at least 3).
//
// THREADS: pick(), call(), refresh(), lease completion and every accessor may be used from any
// number of threads. The object is large (the table lives inside it; with the default resolver,
// its cache too): give it static storage or allocate it once, and do not move it (leases point to
// it; it is neither copyable nor movable).
//
// Policy: any type satisfying balance/policy.hpp; default-constructed, reconfigure through policy().
// Maglev gets its index automatically. Resolver: svcres::Resolver<...> or any type EndpointResolver
// accepts: `max_endpoints`, `AnswerType` (an svcres::Answer<N>), `options()` (ResolverOptions) and
//   AnswerType resolve(std::string_view name, dns::Type type, LookupFlags flags)
// (unit tests supply a fake). Clock: core/clock.hpp; if it also has `void sleep_for(Duration)`, call() sleeps
// its back-off through it (tests with a manual clock), otherwise with std::this_thread::sleep_for.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>

#include "svcres/balance/ewma.hpp"
#include "svcres/balance/feedback.hpp"
#include "svcres/balance/maglev.hpp"
#include "svcres/balance/outlier.hpp"
#include "svcres/balance/pick_context.hpp"
#include "svcres/balance/policy.hpp"
#include "svcres/balance/round_robin.hpp"
#include "svcres/core/clock.hpp"
#include "svcres/core/endpoint.hpp"
#include "svcres/core/errc.hpp"
#include "svcres/core/random.hpp"
#include "svcres/core/result.hpp"
#include "svcres/dns/name.hpp"
#include "svcres/dns/types.hpp"
#include "svcres/metrics/service_metrics.hpp"
#include "svcres/resolve/endpoint_resolver.hpp"
#include "svcres/resolve/resolv_conf.hpp"
#include "svcres/resolve/resolver.hpp"
#include "svcres/service/backoff.hpp"
#include "svcres/service/lease.hpp"
#include "svcres/service/outcome.hpp"
#include "svcres/service/retry.hpp"
#include "svcres/service/retry_budget.hpp"
#include "svcres/table/endpoint_table.hpp"

// The default Resolver sends DNS through POSIX sockets. service.hpp itself touches no OS API: on a
// host without them (or with SVCRES_NO_POSIX defined) there is no default and the caller names a
// Resolver over its own transport.
#if !defined(SVCRES_NO_POSIX) && __has_include(<sys/socket.h>)
#include "svcres/net/posix_transport.hpp"
namespace svcres::detail {
using DefaultResolver = svcres::Resolver<PosixTransport>;
}
#else
namespace svcres::detail {
struct NoDefaultResolver {};  // fails is_service_resolver with its one-sentence message
using DefaultResolver = NoDefaultResolver;
}  // namespace svcres::detail
#endif

namespace svcres {

struct ServiceOptions {
  // SRV (ports from DNS), A or AAAA (the port below); any other type: SRV, and A/AAAA (per
  // ResolverOptions::families) when the name has no SRV records.
  dns::Type query = dns::Type::SRV;
  std::uint16_t port = 0;            // given to endpoints that came without one (A/AAAA answers)
  Duration min_refresh = std::chrono::seconds(1);    // floor on the TTL: TTL 0 must not mean "every pick"
  Duration max_refresh = std::chrono::seconds(300);
  Duration retry_after_failure = std::chrono::seconds(1);
  double refresh_fraction = 0.75;    // refresh at TTL * (fraction + U[0, jitter]): ahead of expiry,
  double refresh_jitter = 0.15;      // and not in lock-step with other processes
  Duration refresh_ahead = std::chrono::milliseconds(500);  // background refresher only
  // A pick or call with a deadline closer than this does not refresh while it has a set to pick from
  // (a refresh gets at most half of the time left, so below 20 ms it could hardly finish). Small,
  // because callers whose every deadline is short would otherwise never refresh without a thread.
  Duration refresh_headroom = std::chrono::milliseconds(20);
  MergeMode merge = MergeMode::replace;  // union_of_refreshes: learn every task of a multivalue name
  double merge_false_drop = 1e-6;        // see EndpointResolverOptions::merge_false_drop
  OutlierConfig outlier{};       // ejection after 5 consecutive failures, as Service Connect
  EwmaConfig ewma{};
  RetryBudgetConfig retry_budget{};
};

struct PickOptions {
  std::uint64_t key = 0;            // request hash for Maglev
  bool has_key = false;
  // Identities to skip, e.g. the hosts a call already tried: avoid[0, avoid_count). The last one
  // (the host that just failed) is skipped whenever any other endpoint is usable; the earlier ones
  // too as long as something else remains (Envoy's previous_hosts retry predicate).
  const Endpoint* avoid = nullptr;
  std::size_t avoid_count = 0;
  // Bounds a refresh this pick runs; at or past it the pick fails with deadline_exceeded. See
  // DEADLINES at the top.
  TimePoint deadline = TimePoint::max();
};

struct CallResult {
  // ok: the last try's outcome is good (a response, status below 500). try_failed: the last try
  // failed and was not retriable or retries ran out. retry_budget_exhausted, deadline_exceeded: a
  // retry was wanted but not allowed. Or why no endpoint could be picked (no_endpoints,
  // no_healthy_endpoint, or the resolution error: nxdomain, timeout, ...).
  Errc error = Errc::not_found;
  TryOutcome outcome{};  // of the last try (meaningful when tries > 0)
  unsigned tries = 0;
  Endpoint endpoint{};   // of the last try
  bool ok() const noexcept { return error == Errc::ok; }
};

namespace detail {

template <class P>
struct policy_index {
  using type = NoIndex;
};
template <>
struct policy_index<Maglev> {
  using type = MaglevIndex<>;
};

template <class R, class = void>
struct is_service_resolver : std::false_type {};
template <class R>
struct is_service_resolver<
    R, std::void_t<decltype(R::max_endpoints), typename R::AnswerType,
                   decltype(std::declval<R&>().options().families),
                   decltype(std::declval<R&>().resolve(std::declval<std::string_view>(), dns::Type::SRV, LookupFlags{})
                                .endpoints.size()),
                   decltype(std::declval<R&>().resolve(std::declval<std::string_view>(), dns::Type::SRV, LookupFlags{})
                                .authoritative_empty())>> : std::true_type {};

inline EndpointLookup lookup_for(dns::Type t) noexcept {
  switch (t) {
    case dns::Type::SRV: return EndpointLookup::srv;
    case dns::Type::A: return EndpointLookup::a;
    case dns::Type::AAAA: return EndpointLookup::aaaa;
    default: return EndpointLookup::srv_then_address;
  }
}

inline EndpointResolverOptions discovery_options(const ServiceOptions& o) noexcept {
  EndpointResolverOptions e;
  e.merge = o.merge;
  e.merge_false_drop = o.merge_false_drop;
  e.refresh_fraction = o.refresh_fraction;
  e.refresh_jitter = o.refresh_jitter;
  e.min_refresh_interval = o.min_refresh;
  e.max_refresh_interval = o.max_refresh;
  e.retry_interval = o.retry_after_failure;
  return e;
}

template <class C, class = void>
struct has_sleep_for : std::false_type {};
template <class C>
struct has_sleep_for<C, std::void_t<decltype(std::declval<C&>().sleep_for(Duration{}))>> : std::true_type {};

template <class C>
void sleep_on(C& clock, Duration d) {
  if (d <= Duration::zero()) return;
  if constexpr (has_sleep_for<C>::value) {
    clock.sleep_for(d);
  } else {
    std::this_thread::sleep_for(d);
  }
}

// One generator per thread (Rng is not thread-safe), seeded without a system call on the pick path.
inline Rng& thread_rng() noexcept {
  static std::atomic<std::uint64_t> threads{0};
  thread_local Rng rng(mix64(threads.fetch_add(1, std::memory_order_relaxed) * 0x9e3779b97f4a7c15ull ^
                             static_cast<std::uint64_t>(to_ns(SteadyClock{}.now())) ^
                             reinterpret_cast<std::uintptr_t>(&threads)));
  return rng;
}

inline Duration clamp_duration(Duration d, Duration lo, Duration hi) noexcept {
  return d < lo ? lo : (d > hi ? hi : d);
}

inline metrics::FailureKind failure_kind(const TryOutcome& o) noexcept {
  switch (o.kind) {
    case TryKind::connect_failure: return metrics::FailureKind::connect;
    case TryKind::timeout: return metrics::FailureKind::timeout;
    default: break;
  }
  if (o.http_status >= 500) return metrics::FailureKind::http_5xx;
  if (o.http_status >= 400) return metrics::FailureKind::http_4xx;
  return metrics::FailureKind::other;
}

}  // namespace detail

template <class Policy = RoundRobin, class Resolver = detail::DefaultResolver, std::size_t Capacity = 64,
          class Clock = SteadyClock>
class Service {
 public:
  using Table = EndpointTable<Capacity, typename detail::policy_index<Policy>::type>;
  using Lease = svcres::Lease<Service>;
  using policy_type = Policy;
  using resolver_type = Resolver;
  using clock_type = Clock;
  using Discovery = EndpointResolver<Resolver, 1, Clock>;
  static constexpr std::size_t capacity = Capacity;
  static constexpr std::size_t max_name = 254;  // 253 characters and an optional final dot

 private:
  static_assert(is_policy_v<Policy, typename Table::Snapshot>,
                "Service<Policy>: Policy must be a load-balancing policy, a type with a member `template <class "
                "Snapshot> std::size_t pick(const Snapshot&, svcres::PickContext&)` (see svcres/balance/policy.hpp); "
                "use svcres::RoundRobin, Random, WeightedSrv, LeastRequest, PeakEwma or Maglev.");
  static_assert(std::is_default_constructible_v<Policy>,
                "Service<Policy>: the policy must be default-constructible; configure it afterwards through "
                "service.policy().");
  static_assert(detail::is_service_resolver<Resolver>::value,
                "Service<Policy, Resolver>: Resolver needs `max_endpoints`, `AnswerType`, `options()` and "
                "`AnswerType resolve(std::string_view, svcres::dns::Type, svcres::LookupFlags)`, as "
                "svcres::Resolver<Transport> has.");
  static_assert(is_clock_v<Clock>, "Service<..., Clock>: Clock needs `svcres::TimePoint now() const`.");

 public:
  // Owns its resolver, configured from /etc/resolv.conf (127.0.0.1 when that cannot be read).
  template <class R = Resolver, std::enable_if_t<std::is_constructible_v<R, ResolvConf>, int> = 0>
  explicit Service(std::string_view name, ServiceOptions opts = {}, Clock clock = Clock{})
      : Service(nullptr, name, opts, std::move(clock)) {
    Result<ResolvConf> conf = ResolvConf::load();
    own_.emplace(conf.ok() ? std::move(conf.value()) : ResolvConf::parse(""));
    resolver_ = &*own_;
    discovery_.emplace(*resolver_, detail::discovery_options(opts_), clock_);
  }
  // Owns a resolver built from `conf` (tests and hosts that know their DNS server).
  template <class R = Resolver, std::enable_if_t<std::is_constructible_v<R, ResolvConf>, int> = 0>
  Service(const ResolvConf& conf, std::string_view name, ServiceOptions opts = {}, Clock clock = Clock{})
      : Service(nullptr, name, opts, std::move(clock)) {
    own_.emplace(conf);
    resolver_ = &*own_;
    discovery_.emplace(*resolver_, detail::discovery_options(opts_), clock_);
  }
  // Uses a resolver shared with other services; it must outlive this object.
  Service(Resolver& resolver, std::string_view name, ServiceOptions opts = {}, Clock clock = Clock{})
      : Service(&resolver, name, opts, std::move(clock)) {}

  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;
  ~Service() { stop_refresher(); }

  // Picks an endpoint and starts a lease on it. Errors: no_endpoints (empty set), no_healthy_endpoint
  // (every endpoint ejected with panic mode off), or the last resolution error while no set is known.
  // With PickOptions::deadline: deadline_exceeded when it passed (no lease is started).
  Result<Lease> pick() noexcept { return pick_impl<false>(PickOptions{}, false); }
  Result<Lease> pick(const PickOptions& po) noexcept { return pick_impl<true>(po, false); }

  // Runs fn(endpoint, try_deadline) -> TryOutcome with retries; see RetryPolicy and CallResult.
  // `deadline` is an absolute bound over everything (e.g. the Lambda's remaining time).
  template <class Fn>
  CallResult call(Fn&& fn, const RetryPolicy& rp = RetryPolicy{}, TimePoint deadline = TimePoint::max()) {
    constexpr bool callable = std::is_invocable_r_v<TryOutcome, Fn&, const Endpoint&, TimePoint>;
    static_assert(callable,
                  "Service::call(fn): fn must be callable as `svcres::TryOutcome fn(const svcres::Endpoint&, "
                  "svcres::TimePoint try_deadline)`.");
    if constexpr (callable) {
      return call_impl(fn, rp, deadline);
    } else {
      return CallResult{};  // unreachable: only the static_assert above is reported
    }
  }

 private:
  template <class Fn>
  CallResult call_impl(Fn& fn, const RetryPolicy& rp, TimePoint deadline) {
    CallResult res;
    const TimePoint start = clock_.now();
    TimePoint end = deadline;
    if (rp.timeout > Duration::zero() && end - start > rp.timeout) end = start + rp.timeout;
    Endpoint failed[8];  // the hosts this call tried, most recent last (the last 8 when there were more)
    std::size_t n_failed = 0;
    for (unsigned attempt = 0;; ++attempt) {
      const bool retry = attempt > 0;
      TimePoint now = clock_.now();
      if (now >= end) {
        if (retry) budget_.retry_finished();
        res.error = Errc::deadline_exceeded;
        return res;
      }
      PickOptions po;
      po.avoid = failed;
      po.avoid_count = n_failed;
      po.deadline = end;  // bounds any refresh; no lease starts at or after it
      Result<Lease> picked = pick_impl<true>(po, retry);
      if (!picked.ok()) {
        if (retry) budget_.retry_finished();  // the slot reserved below was never used by a lease
        res.error = picked.error();
        return res;
      }
      Lease& lease = picked.value();
      now = lease.started();  // read after any refresh: now < end
      const TimePoint try_deadline =
          rp.per_try_timeout > Duration::zero() && end - now > rp.per_try_timeout ? now + rp.per_try_timeout : end;
      res.endpoint = lease.endpoint();
      ++res.tries;
      const TryOutcome o = fn(static_cast<const Endpoint&>(res.endpoint), try_deadline);
      lease.complete(o);
      res.outcome = o;
      if (!rp.retriable(o)) {
        res.error = o.good() ? Errc::ok : Errc::try_failed;
        return res;
      }
      if (attempt >= rp.max_retries) {
        // A last try that timed out at the overall deadline was ended by the deadline, not by the
        // retry count: say so, whatever the back-off jitter made of the earlier tries.
        const bool cut_by_deadline = o.kind == TryKind::timeout && try_deadline == end;
        res.error = cut_by_deadline ? Errc::deadline_exceeded : Errc::try_failed;
        return res;
      }
      if (n_failed == 8) {
        for (std::size_t k = 1; k < 8; ++k) failed[k - 1] = failed[k];
        --n_failed;
      }
      failed[n_failed++] = res.endpoint;
      const Duration wait = backoff_delay(rp.backoff, attempt + 1, detail::thread_rng());
      if (clock_.now() + wait >= end) {
        res.error = Errc::deadline_exceeded;
        return res;
      }
      if (!budget_.try_start_retry()) {
        metrics_.retries_refused.add();
        res.error = Errc::retry_budget_exhausted;
        return res;
      }
      metrics_.retries.add();
      detail::sleep_on(clock_, wait);
    }
  }

 public:
  // Resolves now, waiting for any refresh in progress first. Returns the resolution's error (the
  // current set is kept on failure), table_busy, or the name's error.
  Status refresh() noexcept { return refresh(TimePoint::max()); }
  // The same, bounded by `deadline` (the wait for a refresh in progress too): e.g. a Lambda's
  // init phase, which the platform ends after 10 s. Errc::deadline_exceeded when it ran out.
  Status refresh(TimePoint deadline) noexcept {
    if (name_error_ != Errc::ok) return name_error_;
    std::unique_lock<std::timed_mutex> lock(refresh_mu_, std::defer_lock);
    if (deadline == TimePoint::max()) {
      lock.lock();
    } else {
      const TimePoint now = clock_.now();
      if (now >= deadline || !lock.try_lock_for(deadline - now)) return Errc::deadline_exceeded;
    }
    return do_refresh(true, deadline);
  }

  // Starts the background refresher (idempotent). Not for Lambda: a frozen process cannot run it.
  void start_refresher() {
    std::lock_guard<std::mutex> lock(bg_mu_);
    if (bg_.joinable()) return;
    bg_stop_ = false;
    bg_ = std::thread([this] { refresher_loop(); });
  }
  void stop_refresher() {
    {
      std::lock_guard<std::mutex> lock(bg_mu_);
      bg_stop_ = true;
    }
    bg_cv_.notify_all();
    if (bg_.joinable()) bg_.join();
  }

  std::string_view name() const noexcept { return {name_, name_size_}; }
  const ServiceOptions& options() const noexcept { return opts_; }
  Policy& policy() noexcept { return policy_; }
  Resolver& resolver() noexcept { return *resolver_; }
  // The EndpointResolver this service refreshes through (its options, total_packets()).
  Discovery& discovery() noexcept { return *discovery_; }
  Clock& clock() noexcept { return clock_; }
  const OutlierDetector& detector() const noexcept { return detector_; }
  RetryBudget& retry_budget() noexcept { return budget_; }
  const metrics::ServiceMetrics& metrics() const noexcept { return metrics_; }
  metrics::MetricsSnapshot metrics_snapshot() const noexcept { return metrics_.snapshot(); }
  // A view of the current set with live statistics; see EndpointTable (valid() after reading).
  typename Table::Snapshot snapshot() const noexcept { return table_.snapshot(); }
  // Outcome of the last resolution: ok, an authoritative negative answer, or why it failed.
  Errc last_resolution() const noexcept { return last_error_.load(std::memory_order_relaxed); }
  // When a pick will next refresh the table.
  TimePoint refresh_due() const noexcept {
    return TimePoint(std::chrono::duration_cast<Duration>(std::chrono::nanoseconds(due_ns_.load(std::memory_order_relaxed))));
  }
  // Resolutions sent so far (a republish of the set already held sends nothing and is not counted).
  std::uint64_t refreshes() const noexcept { return refreshes_.load(std::memory_order_relaxed); }

 private:
  friend class svcres::Lease<Service>;

  Service(Resolver* r, std::string_view name, const ServiceOptions& opts, Clock clock) noexcept
      : resolver_(r), opts_(opts), lookup_(detail::lookup_for(opts.query)), clock_(std::move(clock)),
        detector_(opts.outlier), budget_(opts.retry_budget) {
    if (r) discovery_.emplace(*r, detail::discovery_options(opts_), clock_);
    // Never cut a name: a shortened name is a different name. Checked once, here, by the codec.
    if (name.size() > max_name) {
      name_error_ = Errc::name_too_long;
    } else {
      const Result<dns::Name> wire = dns::Name::from_text(name);
      if (!wire.ok()) name_error_ = wire.error();
    }
    if (name_error_ == Errc::ok) {
      name_size_ = name.size();
      for (std::size_t i = 0; i < name_size_; ++i) name_[i] = name[i];
    }
    name_[name_size_] = '\0';
    if (name_error_ != Errc::ok) {
      last_error_.store(name_error_, std::memory_order_relaxed);
      due_ns_.store(std::numeric_limits<std::int64_t>::max(), std::memory_order_relaxed);  // never due
    }
  }

  TimePoint lease_now() const noexcept { return clock_.now(); }

  void finish_lease(const Endpoint& ep, SlotRef ref, bool retry, TryOutcome o, Duration latency, TimePoint now) noexcept {
    // EWMA (a failure counted as at least EwmaConfig::failure_penalty), ejection, then the end of
    // the lease, after which the slot may be reused.
    if (complete(table_, ref, Outcome{o.endpoint_ok(), latency}, now, &detector_, opts_.ewma)) {
      metrics_.ejections.add();
      // Merge mode keeps endpoints the sampled answers skipped; one that fails until ejected and
      // that the latest answer did not hold is taken out now (re-learned if an answer shows it).
      if (opts_.merge == MergeMode::union_of_refreshes && discovery_->forget(name(), opts_.port, lookup_, ep)) {
        republish_.store(true, std::memory_order_relaxed);
        due_ns_.store(to_ns(now), std::memory_order_relaxed);  // the next pick republishes, sending nothing
      }
    }
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(latency);
    if (o.kind == TryKind::ok && o.http_status < 400) {
      metrics_.record_success(us);
    } else {
      metrics_.record_failure(detail::failure_kind(o), us);
    }
    budget_.request_finished();
    if (retry) budget_.retry_finished();
  }

  // WithOptions = false: the plain pick() (no key, nothing to avoid) compiles to less code.
  template <bool WithOptions>
  Result<Lease> pick_impl(const PickOptions& po, bool retry) noexcept {
    if (name_error_ != Errc::ok) return name_error_;
    const TimePoint deadline = WithOptions ? po.deadline : TimePoint::max();
    TimePoint now = clock_.now();
    // A refresh may take a while: read the clock again after it, so that the deadline check and
    // the lease's start (its latency) see the time the try really starts.
    if (maybe_refresh(now, deadline)) now = clock_.now();
    if (now >= deadline) return Errc::deadline_exceeded;
    for (;;) {
      auto snap = table_.snapshot();
      if (snap.empty()) {
        if (!snap.valid()) continue;
        const Errc e = last_error_.load(std::memory_order_relaxed);
        return e == Errc::ok || e == Errc::table_busy ? Errc::no_endpoints : e;
      }
      PickContext ctx(detail::thread_rng(), now);
      UsableSet<Capacity> usable;
      (void)detector_.filter(snap, now, usable, ctx);
      if constexpr (WithOptions) {
        ctx.key = po.key;
        ctx.has_key = po.has_key;
      }
      if (WithOptions && po.avoid && po.avoid_count > 0) {
        const Endpoint& last = po.avoid[po.avoid_count - 1];
        for (std::size_t i = 0; i < snap.size(); ++i) {
          if (snap.endpoint(i).same_identity(last)) {
            ctx.avoid = i;
            break;
          }
        }
        if (po.avoid_count > 1) narrow(snap, po, ctx, usable);
      }
      const std::size_t i = policy_.pick(snap, ctx);
      if (i == no_pick || i >= snap.size()) {
        if (!snap.valid()) continue;  // decided on a set rewritten under the pick
        return Errc::no_healthy_endpoint;
      }
      const Endpoint ep = snap.endpoint(i);
      const SlotRef ref = snap.start(i);  // validates everything read above
      if (!ref.valid()) continue;         // the set changed under this pick: pick again
      metrics_.requests.add();
      budget_.request_started();
      return Lease(this, ep, ref, now, retry);
    }
  }

  // Takes the earlier avoided hosts out of the usable mask, unless that leaves nothing usable
  // besides ctx.avoid; then the mask stays as the detector made it.
  template <class Snap>
  static void narrow(const Snap& snap, const PickOptions& po, PickContext& ctx, UsableSet<Capacity>& usable) noexcept {
    UsableSet<Capacity> mask;
    const std::size_t n = snap.size();
    for (auto& w : mask.words) w = 0;
    std::size_t left = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (!ctx.healthy(i) || i == ctx.avoid) continue;
      bool skip = false;
      for (std::size_t k = 0; k + 1 < po.avoid_count && !skip; ++k) skip = snap.endpoint(i).same_identity(po.avoid[k]);
      if (skip) continue;
      mask.words[i >> 6] |= std::uint64_t{1} << (i & 63);
      ++left;
    }
    if (left == 0) return;
    usable = mask;
    ctx.usable = usable.words;
  }

  // Coalesced pull refresh: whoever gets the mutex resolves; the others go on with the current set,
  // except when there is none yet, in which case they wait for the first resolution to finish (at
  // most until `deadline`). True when this call waited or resolved (the caller reads the clock again).
  bool maybe_refresh(TimePoint now, TimePoint deadline) noexcept {
    // Relaxed: the due time only decides whether to try; the table publishes its own data.
    if (to_ns(now) < due_ns_.load(std::memory_order_relaxed)) return false;
    TimePoint refresh_deadline = deadline;
    if (deadline != TimePoint::max() && !table_.snapshot().empty()) {
      // A set in hand: the tries come first. Near the deadline pick from it and refresh later;
      // otherwise let the refresh use at most half of the time left.
      const Duration left = deadline - now;
      if (left < opts_.refresh_headroom) return false;
      refresh_deadline = now + left / 2;
    }
    std::unique_lock<std::timed_mutex> lock(refresh_mu_, std::try_to_lock);
    if (!lock.owns_lock()) {
      // Acquire: pairs with the release in do_refresh(); a true value means a set (or an error
      // for it) is in place, so there is something to pick from or to report.
      if (resolved_once_.load(std::memory_order_acquire)) return false;
      if (deadline == TimePoint::max()) {
        lock.lock();
      } else if (deadline <= now || !lock.try_lock_for(deadline - now)) {
        return true;  // the first resolution is still running at the deadline
      }
    }
    if (to_ns(clock_.now()) < due_ns_.load(std::memory_order_relaxed)) return true;  // another thread just did it
    (void)do_refresh(false, refresh_deadline);
    return true;
  }

  // Caller holds refresh_mu_ (which makes this thread the table's single writer). `force`: resolve
  // whatever the schedule (refresh(), the background refresher); otherwise EndpointResolver::get(),
  // which resolves when the refresh time has come and returns the held set without sending anything
  // before it (a republish after table_busy or after an ejected endpoint was forgotten).
  Status do_refresh(bool force, TimePoint deadline) noexcept {
    const EndpointQuery q{lookup_, deadline};
    republish_.store(false, std::memory_order_relaxed);
    if (force) {
      discovery_->refresh_into(set_, name(), opts_.port, q);
    } else {
      discovery_->get_into(set_, name(), opts_.port, q);
    }
    const auto& set = set_;
    if (set.refreshed) {
      refreshes_.fetch_add(1, std::memory_order_relaxed);
      metrics_.dns_resolutions.add();
      metrics_.dns_packets_sent.add(set.packets);
      if (set.resolution != Errc::ok && set.resolution != Errc::nxdomain && set.resolution != Errc::nodata)
        metrics_.dns_failures.add();
      if (set.stale) metrics_.dns_stale_served.add();
    }
    const TimePoint now = clock_.now();
    Errc result = set.error;
    TimePoint next = set.refresh_at;
    if (set.error == Errc::ok || set.authoritative_empty) {
      // An authoritative NXDOMAIN/NODATA arrives with an empty list (RFC 2308).
      const std::size_t n = set.endpoints.size() < Capacity ? set.endpoints.size() : Capacity;
      Status s;
      if (!published_ || set.generation != published_generation_) s = table_.publish(set.endpoints.data(), n);
      if (!s.ok()) {
        // table_busy: leases hold the spare slots. Publish the set already resolved again, backing
        // off from 10 ms to the normal interval; get() sends nothing until the refresh time.
        result = s.error();
        const TimePoint retry_at = now + busy_backoff_;
        if (retry_at < next) next = retry_at;
        if (busy_backoff_ < opts_.max_refresh) busy_backoff_ = busy_backoff_ * 2;
        republish_.store(true, std::memory_order_relaxed);
      } else {
        busy_backoff_ = first_busy_backoff;
        published_ = true;
        published_generation_ = set.generation;
        metrics_.endpoints_known.set(static_cast<std::int64_t>(n));
        // A stale set is served because the resolution failed: report why.
        result = set.error == Errc::ok ? set.resolution : set.error;
      }
    }
    last_error_.store(result, std::memory_order_relaxed);
    due_ns_.store(to_ns(next), std::memory_order_relaxed);
    // Release: pairs with the acquire in maybe_refresh(); the publish above happened before.
    resolved_once_.store(true, std::memory_order_release);
    if (result == Errc::ok) return Status{};
    return result;
  }

  void refresher_loop() {
    std::unique_lock<std::mutex> lock(bg_mu_);
    while (!bg_stop_) {
      const std::int64_t now_ns = to_ns(clock_.now());
      const std::int64_t due = due_ns_.load(std::memory_order_relaxed);
      // A pending republish is due as it stands (it sends nothing); a resolution refresh_ahead early.
      const bool republish = republish_.load(std::memory_order_relaxed);
      const std::int64_t target = republish ? due : due - detail::ns_of(opts_.refresh_ahead);
      Duration wait = std::chrono::seconds(1);  // re-read the due time at least once a second
      if (now_ns >= target) {
        lock.unlock();
        {
          std::lock_guard<std::timed_mutex> refresh_lock(refresh_mu_);
          (void)do_refresh(!republish, TimePoint::max());
        }
        lock.lock();
        wait = std::chrono::milliseconds(20);  // never spin, even when the next due time is now
      } else if (target - now_ns < detail::ns_of(wait)) {
        wait = std::chrono::nanoseconds(target - now_ns);
      }
      bg_cv_.wait_for(lock, wait, [this] { return bg_stop_; });
    }
  }

  static constexpr Duration first_busy_backoff = std::chrono::milliseconds(10);

  Resolver* resolver_;
  std::optional<Resolver> own_;
  char name_[max_name + 1] = {};
  std::size_t name_size_ = 0;
  Errc name_error_ = Errc::ok;
  ServiceOptions opts_;
  EndpointLookup lookup_;
  Clock clock_;
  std::optional<Discovery> discovery_;  // emplaced once the resolver is known
  Policy policy_{};
  OutlierDetector detector_;
  RetryBudget budget_;
  metrics::ServiceMetrics metrics_;

  // Serialises resolutions and makes one thread the table's writer; timed, so that a pick with a
  // deadline waits for a first resolution run by another thread no longer than its deadline.
  std::timed_mutex refresh_mu_;
  typename Discovery::Set set_;              // under refresh_mu_: the last set, kept off the stack
  bool published_ = false;                   // under refresh_mu_
  std::uint64_t published_generation_ = 0;   // under refresh_mu_
  Duration busy_backoff_ = first_busy_backoff;  // under refresh_mu_
  std::atomic<std::int64_t> due_ns_{0};
  std::atomic<Errc> last_error_{Errc::ok};
  std::atomic<bool> resolved_once_{false};
  std::atomic<bool> republish_{false};       // relaxed: only picks the refresher's kind of refresh
  std::atomic<std::uint64_t> refreshes_{0};

  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  bool bg_stop_ = false;
  std::thread bg_;

  Table table_;
};

}  // namespace svcres
