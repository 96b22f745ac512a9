#pragma once
// EndpointResolver<Resolver, Services, Clock>: service name -> endpoint set, the entry the service
// layer (svcres::Service) calls. API (everything returns by value; nothing allocates):
//
//   using R = svcres::Resolver<svcres::PosixTransport>;
//   R resolver(conf);                                   // see resolver.hpp
//   svcres::EndpointResolver<R> er(resolver, opts);     // opts: EndpointResolverOptions below
//   svcres::EndpointSet<R::max_endpoints> set = er.get("user-service.local", 8080);
//
// get(service, default_port[, EndpointQuery]):
//   - Within the set's refresh time: returns the held set, sends nothing (set.packets == 0).
//   - Otherwise refreshes. EndpointQuery::lookup chooses the records: srv_then_address (default):
//     SRV first (address, port, priority, weight per task); if the name has no SRV records (NODATA),
//     A (and/or AAAA, per ResolverOptions::families) with `default_port`. srv: SRV only. a, aaaa:
//     that address type only, with `default_port`. EndpointQuery::deadline bounds the refresh
//     (LookupFlags::deadline: no query sent nor reply awaited past it; reaching it is a failed
//     refresh, Errc::deadline_exceeded, handled as every failure below).
//     Refresh happens ahead of expiry, at ttl * (refresh_fraction + U[0, refresh_jitter]), so a
//     fleet of callers does not refresh in lock-step, at most once per min_refresh_interval (the VPC
//     resolver allows 1024 packets/s per interface) and at least once per max_refresh_interval.
//     set.packets is the number of DNS queries this refresh sent; total_packets() sums every refresh.
// refresh(service, default_port[, EndpointQuery]): the same, refreshing now whatever the schedule.
// get_into / refresh_into: the same into the caller's EndpointSet (no set-sized temporary on the
// stack; svcres::Service keeps one as a member).
//
// How to read an EndpointSet (the four rows cover every combination):
//   error == ok, stale == false  fresh answer; replace your table with `endpoints`.
//   error == ok, stale == true   every server failed; `endpoints` is the last good set, served for
//                                up to ResolverOptions::stale_window past its expiry (RFC 8767).
//   authoritative_empty == true  NXDOMAIN or NODATA from the server: `endpoints` is empty, on purpose
//                                (error says which; stale is false).
//   any other error              failure past the stale window or with nothing known yet; stale is
//                                false. `endpoints` still holds the last known set (possibly empty):
//                                keep your table.
// stale is never set together with a non-ok error: it means "usable, but past its TTL".
// A failure never empties a known set; only an authoritative NXDOMAIN/NODATA does.
//   resolution                   outcome of the last resolution attempt: ok, nxdomain/nodata, or
//                                why it failed (timeout, deadline_exceeded, ...); with stale == true
//                                it says why the stale set is served.
//   generation                   changes whenever the endpoint list changes (cheap "did it change").
//
// Merge mode (EndpointResolverOptions::merge = MergeMode::union_of_refreshes): Route 53 answers at
// most 8 records of a multivalue name, picked at random per query. In this mode each refresh's answer
// is added to what was known, and a known endpoint missing from the answers is kept until it is
// unlikely to be a live task the sampling happened to skip:
//   - A server that samples answers min(cap, S) of S records. An answer smaller than the largest
//     seen for this name is therefore the whole set: whatever it lacks is dropped at once.
//   - Otherwise each answer holds k of an estimated S = max(k, distinct endpoints known) records,
//     so a live task is missing from one answer with probability q = 1 - k / S, and from m in a row
//     with q^m. A known endpoint is dropped after m = ceil(ln(merge_false_drop) / ln(q)) successive
//     misses (8 of 40 at 1e-6: m = 62; at 1e-3: 31). S counts endpoints not yet aged out, so it
//     over-estimates the set after removals (keeps longer: the safe side), and under-estimates it
//     only while the union is still learning (the first ~25 refreshes for 40 tasks), when m is
//     recomputed at every refresh as S grows.
//   - merge_keep_refreshes != 0 replaces m by that fixed count; merge_keep_for (off by default)
//     also drops an endpoint not seen for that long, whatever the sampling says.
//   - forget(service, port, query, endpoint) drops an endpoint at once unless the latest answer held
//     it: svcres::Service calls it when outlier ejection ejects an endpoint (5 consecutive
//     failures), so a task that is really gone leaves after a few failed requests instead of m
//     refreshes; a live task that was ejected by mistake comes back with the next answer holding it.
// Repeated refreshes thus learn every task of a 40-task service (about 25 refreshes on average for
// 8 of 40: the coupon collector). An authoritative empty answer still empties.
//
// Threads: any thread may call get()/refresh()/forget(); a std::mutex guards the per-service state
// and is not held during resolution. Concurrent refreshes of one name send one query (the Resolver
// coalesces).
//
// Resolver: svcres::Resolver<...>, or any type with `max_endpoints`, `AnswerType` (an Answer<N>),
// `resolve(std::string_view, dns::Type, LookupFlags)` and `options()` (ResolverOptions). Clock: void
// (default) reads resolver.clock(); any other clock type (core/clock.hpp) is given to the constructor.

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string_view>
#include <type_traits>

#include "svcres/core/clock.hpp"
#include "svcres/core/endpoint.hpp"
#include "svcres/core/errc.hpp"
#include "svcres/core/fixed_vector.hpp"
#include "svcres/core/random.hpp"
#include "svcres/dns/types.hpp"
#include "svcres/resolve/answer.hpp"
#include "svcres/resolve/resolver.hpp"

namespace svcres {

enum class MergeMode : std::uint8_t { replace, union_of_refreshes };

// Which records make the endpoint set; see get().
enum class EndpointLookup : std::uint8_t { srv_then_address, srv, a, aaaa };

struct EndpointQuery {
  EndpointLookup lookup = EndpointLookup::srv_then_address;
  TimePoint deadline = TimePoint::max();  // bounds this refresh (LookupFlags::deadline)
};

struct EndpointResolverOptions {
  MergeMode merge = MergeMode::replace;
  // Merge mode: the accepted chance that a live task is dropped after a run of misses (see the
  // top of this header). 1e-6 keeps 8-of-40 endpoints for 62 missed refreshes.
  double merge_false_drop = 1e-6;
  unsigned merge_keep_refreshes = 0;           // != 0: drop after missing this many, whatever the sampling
  Duration merge_keep_for = Duration::max();   // also drop when not seen for this long (off by default)
  double refresh_fraction = 0.75;              // refresh when this share of the TTL has passed...
  double refresh_jitter = 0.15;                // ...plus up to this much more, at random
  Duration min_refresh_interval = std::chrono::seconds(1);
  Duration max_refresh_interval = std::chrono::hours(1);
  Duration retry_interval = std::chrono::seconds(5);  // after a failed refresh
};

template <std::size_t N>
struct EndpointSet {
  Errc error = Errc::not_found;
  FixedVector<Endpoint, N> endpoints;
  std::uint32_t ttl = 0;       // seconds of the answer (0 when nothing was ever resolved)
  TimePoint expires{};         // when the answer's TTL runs out
  TimePoint refresh_at{};      // when get() will next send queries
  bool stale = false;          // only with error == ok
  bool authoritative_empty = false;
  bool from_srv = false;       // endpoints came from SRV records (else A/AAAA + default port)
  Errc resolution = Errc::not_found;  // outcome of the last resolution attempt
  std::uint32_t packets = 0;   // DNS queries sent by this call
  bool refreshed = false;      // this call resolved (false: the held set, nothing sent)
  std::uint64_t generation = 0;
};

namespace detail {
struct ResolverClock {};  // EndpointResolver<..., Clock = void>: time from resolver.clock()

// Successive misses after which a merged endpoint is dropped, for an answer of k records when
// `known` distinct endpoints are held and the largest answer seen had `cap` records.
inline unsigned merge_misses_to_drop(std::size_t k, std::size_t known, std::size_t cap, double false_drop) noexcept {
  if (k == 0 || k < cap) return 1;  // a sampling server answers min(cap, S): this answer is the whole set
  const std::size_t s = known > k ? known : k;
  if (k >= s) return 1;
  const double miss = 1.0 - static_cast<double>(k) / static_cast<double>(s);
  if (!(false_drop > 0.0) || false_drop >= 1.0) return 1;
  const double m = std::ceil(std::log(false_drop) / std::log(miss));
  return m >= 1e6 ? 1000000u : (m < 1.0 ? 1u : static_cast<unsigned>(m));
}
}  // namespace detail

template <class Resolver, std::size_t Services = 16, class Clock = void>
class EndpointResolver {
 public:
  static constexpr std::size_t N = Resolver::max_endpoints;
  using Set = EndpointSet<N>;

  template <class C = Clock, std::enable_if_t<std::is_void_v<C>, int> = 0>
  explicit EndpointResolver(Resolver& resolver, EndpointResolverOptions opts = {}) noexcept
      : resolver_(resolver), opts_(opts), rng_(Rng::from_entropy()) {}
  template <class C = Clock, std::enable_if_t<!std::is_void_v<C>, int> = 0>
  EndpointResolver(Resolver& resolver, EndpointResolverOptions opts, C clock) noexcept
      : resolver_(resolver), opts_(opts), clock_(std::move(clock)), rng_(Rng::from_entropy()) {}

  Set get(std::string_view service, std::uint16_t default_port, const EndpointQuery& q = {}) noexcept {
    Set s;
    run(service, default_port, q, false, s);
    return s;
  }
  Set refresh(std::string_view service, std::uint16_t default_port, const EndpointQuery& q = {}) noexcept {
    Set s;
    run(service, default_port, q, true, s);
    return s;
  }
  void get_into(Set& out, std::string_view service, std::uint16_t default_port, const EndpointQuery& q = {}) noexcept {
    run(service, default_port, q, false, out);
  }
  void refresh_into(Set& out, std::string_view service, std::uint16_t default_port,
                    const EndpointQuery& q = {}) noexcept {
    run(service, default_port, q, true, out);
  }

  // Merge mode: drops `e` from the service's merged set unless the latest answer held it. True if
  // it was dropped (the next get() returns the smaller set, with a new generation, sending nothing).
  bool forget(std::string_view service, std::uint16_t default_port, EndpointLookup lookup, const Endpoint& e) noexcept {
    if (opts_.merge != MergeMode::union_of_refreshes) return false;
    std::lock_guard<std::mutex> lock(mu_);
    State* st = find(service, default_port, lookup);
    if (!st) return false;
    for (std::size_t i = 0; i < st->known.size(); ++i) {
      if (!st->known[i].endpoint.same_identity(e)) continue;
      if (st->known[i].seen_refresh == st->refreshes) return false;  // in the latest answer: alive
      st->known.swap_remove(i);
      FixedVector<Endpoint, N> next;
      for (const Known& k : st->known) (void)next.push_back(k.endpoint);
      set_endpoints(*st, next);
      st->set.generation = st->generation;
      return true;
    }
    return false;
  }

  std::uint64_t total_packets() const noexcept { return total_packets_.load(std::memory_order_relaxed); }
  const EndpointResolverOptions& options() const noexcept { return opts_; }
  // Deterministic jitter for tests.
  void seed(std::uint64_t s) noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    rng_.reseed(s);
  }

 private:
  struct Known {
    Endpoint endpoint;
    std::uint64_t seen_refresh = 0;
    TimePoint seen_at{};
  };
  struct State {
    char name[256] = {};
    std::uint8_t name_size = 0;
    std::uint16_t port = 0;
    EndpointLookup lookup = EndpointLookup::srv_then_address;
    bool used = false;
    TimePoint last_used{};
    Set set;
    FixedVector<Known, N> known;  // merge mode
    std::size_t answer_cap = 0;   // merge mode: the largest answer seen
    std::uint64_t refreshes = 0;
    TimePoint last_refresh{};
    bool have_good = false;
    std::uint64_t generation = 0;
  };
  using Answer = typename Resolver::AnswerType;

  TimePoint now() const noexcept {
    if constexpr (std::is_void_v<Clock>) {
      return resolver_.clock().now();
    } else {
      return clock_.now();
    }
  }

  void run(std::string_view service, std::uint16_t port, const EndpointQuery& q, bool force, Set& out) noexcept {
    if (service.empty() || service.size() > 255) {
      out = Set{};
      out.error = out.resolution = Errc::bad_name_text;
      return;
    }
    const TimePoint start = now();
    {
      std::lock_guard<std::mutex> lock(mu_);
      State& st = state_for(service, port, q.lookup, start);
      if (!force && st.set.error != Errc::not_found && start < st.set.refresh_at) {
        out = st.set;
        out.packets = 0;
        out.refreshed = false;
        out.stale = st.set.stale || (st.have_good && st.set.error == Errc::ok && start >= st.set.expires);
        return;
      }
    }
    // Resolution runs without the lock: a slow server must not block other services' callers.
    // Two answers at most on the stack (the SRV or A answer, and AAAA).
    LookupFlags flags;
    flags.bypass_cache = true;  // refresh ahead of expiry means asking even while the cache is fresh
    flags.allow_stale = false;  // staleness is decided here, with the merged set
    flags.deadline = q.deadline;
    Answer a;
    std::uint32_t packets = 0;
    bool from_srv = false;
    if (q.lookup == EndpointLookup::srv_then_address || q.lookup == EndpointLookup::srv) {
      a = resolver_.resolve(service, dns::Type::SRV, flags);
      packets += a.packets;
      from_srv = true;
    }
    if (q.lookup != EndpointLookup::srv && (!from_srv || a.error == Errc::nodata)) {
      from_srv = false;
      const auto fam = resolver_.options().families;
      const bool want_v4 = q.lookup == EndpointLookup::a || (q.lookup != EndpointLookup::aaaa && fam != AddressFamilies::v6);
      const bool want_v6 = q.lookup == EndpointLookup::aaaa || (q.lookup != EndpointLookup::a && fam != AddressFamilies::v4);
      if (want_v4) {
        a = resolver_.resolve(service, dns::Type::A, flags);
        packets += a.packets;
      }
      if (want_v6) {
        Answer v6 = resolver_.resolve(service, dns::Type::AAAA, flags);
        packets += v6.packets;
        if (!want_v4 || (a.authoritative_empty() && (v6.ok() || !v6.authoritative_empty()))) {
          a = v6;
        } else if (a.ok() && v6.ok()) {
          for (const Endpoint& e : v6.endpoints)
            if (!a.endpoints.push_back(e)) a.overflow = true;
          if (v6.ttl < a.ttl) a.ttl = v6.ttl;
        } else if (a.ok() && !v6.ok() && !v6.authoritative_empty()) {
          a.error = v6.error;  // half a set is a failure, not an answer
        }
      }
      for (Endpoint& e : a.endpoints) e.port = port;
    }
    total_packets_.fetch_add(packets, std::memory_order_relaxed);

    std::lock_guard<std::mutex> lock(mu_);
    const TimePoint done = now();
    State& st = state_for(service, port, q.lookup, done);
    Set& s = st.set;
    s.packets = packets;
    s.refreshed = true;
    s.resolution = a.error;
    if (a.ok()) {
      ++st.refreshes;
      st.have_good = true;
      st.last_refresh = done;
      if (opts_.merge == MergeMode::union_of_refreshes) {
        merge(st, a.endpoints, done);
        FixedVector<Endpoint, N> next;
        for (const Known& k : st.known) (void)next.push_back(k.endpoint);
        set_endpoints(st, next);
      } else {
        set_endpoints(st, a.endpoints);
      }
      s.error = Errc::ok;
      s.ttl = a.ttl;
      s.stale = false;
      s.authoritative_empty = false;
      s.from_srv = from_srv;
      s.expires = done + std::chrono::seconds(a.ttl);
      s.refresh_at = done + refresh_delay(a.ttl);
    } else if (a.authoritative_empty()) {
      // Only an authoritative NXDOMAIN/NODATA empties the set (RFC 2308).
      st.known.clear();
      st.answer_cap = 0;
      set_endpoints(st, FixedVector<Endpoint, N>{});
      st.have_good = false;
      s.error = a.error;
      s.ttl = a.ttl;
      s.stale = false;
      s.authoritative_empty = true;
      s.expires = done + std::chrono::seconds(a.ttl);
      s.refresh_at = done + refresh_delay(a.ttl);
    } else {
      // Every server failed (or the deadline came): keep what is known (RFC 8767), come back soon.
      s.refresh_at = done + opts_.retry_interval;
      if (st.have_good && done < s.expires + resolver_.options().stale_window) {
        s.error = Errc::ok;
        s.stale = done >= s.expires;
        if (s.stale) s.ttl = resolver_.options().stale_answer_ttl;
      } else {
        s.error = a.error;
        s.stale = false;  // "usable past its TTL" no longer holds: see the table at the top
      }
    }
    s.generation = st.generation;
    out = s;
  }

  Duration refresh_delay(std::uint32_t ttl) noexcept {
    const double f = opts_.refresh_fraction + opts_.refresh_jitter * rng_.unit();
    auto d = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(ttl * f));
    if (d > opts_.max_refresh_interval) d = opts_.max_refresh_interval;
    return d < opts_.min_refresh_interval ? opts_.min_refresh_interval : d;
  }

  void merge(State& st, const FixedVector<Endpoint, N>& fresh, TimePoint now) noexcept {
    for (const Endpoint& e : fresh) {
      bool found = false;
      for (Known& k : st.known) {
        if (k.endpoint.same_identity(e)) {
          k.endpoint = e;
          k.seen_refresh = st.refreshes;
          k.seen_at = now;
          found = true;
          break;
        }
      }
      if (found) continue;
      if (st.known.full()) {  // replace the one seen longest ago
        std::size_t oldest = 0;
        for (std::size_t i = 1; i < st.known.size(); ++i)
          if (st.known[i].seen_at < st.known[oldest].seen_at) oldest = i;
        st.known.swap_remove(oldest);
      }
      (void)st.known.push_back(Known{e, st.refreshes, now});
    }
    const unsigned misses =
        opts_.merge_keep_refreshes != 0
            ? opts_.merge_keep_refreshes
            : detail::merge_misses_to_drop(fresh.size(), st.known.size(), st.answer_cap, opts_.merge_false_drop);
    if (fresh.size() > st.answer_cap) st.answer_cap = fresh.size();
    for (std::size_t i = 0; i < st.known.size();) {
      const Known& k = st.known[i];
      const bool unseen_too_long = opts_.merge_keep_for != Duration::max() && now - k.seen_at > opts_.merge_keep_for;
      if (st.refreshes - k.seen_refresh >= misses || unseen_too_long) {
        st.known.swap_remove(i);
      } else {
        ++i;
      }
    }
  }

  static bool same_set(const FixedVector<Endpoint, N>& a, const FixedVector<Endpoint, N>& b) noexcept {
    if (a.size() != b.size()) return false;
    for (const Endpoint& e : a) {
      bool found = false;
      for (const Endpoint& f : b)
        if (e == f) {
          found = true;
          break;
        }
      if (!found) return false;
    }
    return true;
  }

  void set_endpoints(State& st, const FixedVector<Endpoint, N>& next) noexcept {
    if (!same_set(st.set.endpoints, next)) ++st.generation;
    st.set.endpoints = next;
  }

  // In place: a State{} temporary would put a whole set and merge list on the stack.
  static void reset(State& st) noexcept {
    Set& s = st.set;
    s.error = s.resolution = Errc::not_found;
    s.endpoints.clear();
    s.ttl = 0;
    s.expires = s.refresh_at = TimePoint{};
    s.stale = s.authoritative_empty = s.from_srv = false;
    s.packets = 0;
    s.refreshed = false;
    s.generation = 0;
    st.known.clear();
    st.answer_cap = 0;
    st.refreshes = 0;
    st.last_refresh = TimePoint{};
    st.have_good = false;
    st.generation = 0;
  }

  State* find(std::string_view service, std::uint16_t port, EndpointLookup lookup) noexcept {
    for (State& s : states_)
      if (s.used && s.port == port && s.lookup == lookup && std::string_view(s.name, s.name_size) == service) return &s;
    return nullptr;
  }

  State& state_for(std::string_view service, std::uint16_t port, EndpointLookup lookup, TimePoint now) noexcept {
    if (State* s = find(service, port, lookup)) {
      s->last_used = now;
      return *s;
    }
    State* lru = &states_[0];
    for (State& s : states_) {
      if (!s.used) {
        lru = &s;
        break;
      }
      if (s.last_used < lru->last_used) lru = &s;
    }
    reset(*lru);
    lru->used = true;
    lru->port = port;
    lru->lookup = lookup;
    lru->last_used = now;
    for (std::size_t i = 0; i < service.size(); ++i) lru->name[i] = service[i];
    lru->name_size = static_cast<std::uint8_t>(service.size());
    return *lru;
  }

  Resolver& resolver_;
  EndpointResolverOptions opts_;
  std::conditional_t<std::is_void_v<Clock>, detail::ResolverClock, Clock> clock_{};
  std::mutex mu_;
  Rng rng_;
  State states_[Services];
  std::atomic<std::uint64_t> total_packets_{0};
};

}  // namespace svcres
