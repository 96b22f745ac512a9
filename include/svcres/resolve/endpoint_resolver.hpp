#pragma once
// EndpointResolver<Resolver, Services>: service name -> endpoint set, the entry the service layer
// calls. API (everything returns by value; nothing allocates):
//
//   using R = svcres::Resolver<svcres::PosixTransport>;
//   R resolver(conf);                                   // see resolver.hpp
//   svcres::EndpointResolver<R> er(resolver, opts);     // opts: EndpointResolverOptions below
//   svcres::EndpointSet<R::max_endpoints> set = er.get("user-service.local", 8080);
//
// get(service, default_port):
//   - Within the set's refresh time: returns the held set, sends nothing (set.packets == 0).
//   - Otherwise refreshes: SRV first (address, port, priority, weight per task); if the name has no
//     SRV records (NODATA), A (and/or AAAA, per ResolverOptions::families) with `default_port`.
//     Refresh happens ahead of expiry, at ttl * (refresh_fraction + U[0, refresh_jitter]), so a
//     fleet of callers does not refresh in lock-step, and at most once per min_refresh_interval
//     (the VPC resolver allows 1024 packets/s per interface). set.packets is the number of DNS
//     queries this refresh sent; total_packets() sums every refresh.
// refresh(service, default_port): the same, refreshing now whatever the schedule.
//
// How to read an EndpointSet:
//   error == ok, stale == false  fresh answer; replace your table with `endpoints`.
//   error == ok, stale == true   every server failed; `endpoints` is the last good set, served for
//                                up to ResolverOptions::stale_window past its expiry (RFC 8767).
//   authoritative_empty == true  NXDOMAIN or NODATA from the server: `endpoints` is empty, on purpose.
//   any other error              failure past the stale window or with nothing known yet. `endpoints`
//                                still holds the last known set (possibly empty): keep your table.
// A failure never empties a known set; only an authoritative NXDOMAIN/NODATA does.
//   generation                   changes whenever the endpoint list changes (cheap "did it change").
//
// Merge mode (EndpointResolverOptions::merge = MergeMode::union_of_refreshes): Route 53 answers at
// most 8 records of a multivalue name, picked at random per query. In this mode each refresh's answer
// is added to what was known, and an endpoint is dropped only when it was missing from
// `merge_keep_refreshes` successive successful refreshes or not seen for `merge_keep_for`. Repeated
// refreshes thus learn every task of a 40-task service. An authoritative empty answer still empties.
//
// Threads: any thread may call get()/refresh(); a std::mutex guards the per-service state and is not
// held during resolution. Concurrent refreshes of one name send one query (the Resolver coalesces).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string_view>

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

struct EndpointResolverOptions {
  MergeMode merge = MergeMode::replace;
  unsigned merge_keep_refreshes = 8;           // drop after missing this many successive refreshes
  Duration merge_keep_for = std::chrono::minutes(5);  // or after not being seen for this long
  double refresh_fraction = 0.75;              // refresh when this share of the TTL has passed...
  double refresh_jitter = 0.15;                // ...plus up to this much more, at random
  Duration min_refresh_interval = std::chrono::seconds(1);
  Duration retry_interval = std::chrono::seconds(5);  // after a failed refresh
};

template <std::size_t N>
struct EndpointSet {
  Errc error = Errc::not_found;
  FixedVector<Endpoint, N> endpoints;
  std::uint32_t ttl = 0;       // seconds of the answer (0 when nothing was ever resolved)
  TimePoint expires{};         // when the answer's TTL runs out
  TimePoint refresh_at{};      // when get() will next send queries
  bool stale = false;
  bool authoritative_empty = false;
  bool from_srv = false;       // endpoints came from SRV records (else A/AAAA + default port)
  std::uint32_t packets = 0;   // DNS queries sent by this call
  std::uint64_t generation = 0;
};

template <class Resolver, std::size_t Services = 16>
class EndpointResolver {
 public:
  static constexpr std::size_t N = Resolver::max_endpoints;
  using Set = EndpointSet<N>;

  explicit EndpointResolver(Resolver& resolver, EndpointResolverOptions opts = {}) noexcept
      : resolver_(resolver), opts_(opts), rng_(Rng::from_entropy()) {}

  Set get(std::string_view service, std::uint16_t default_port) noexcept { return run(service, default_port, false); }
  Set refresh(std::string_view service, std::uint16_t default_port) noexcept { return run(service, default_port, true); }

  std::uint64_t total_packets() const noexcept { return total_packets_.load(std::memory_order_relaxed); }
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
    bool used = false;
    TimePoint last_used{};
    Set set;
    FixedVector<Known, N> known;  // merge mode
    std::uint64_t refreshes = 0;
    TimePoint last_refresh{};
    bool have_good = false;
    std::uint64_t generation = 0;
  };

  Set run(std::string_view service, std::uint16_t port, bool force) noexcept {
    if (service.empty() || service.size() > 255) {
      Set s;
      s.error = Errc::bad_name_text;
      return s;
    }
    const TimePoint now = resolver_.clock().now();
    {
      std::lock_guard<std::mutex> lock(mu_);
      State& st = state_for(service, port, now);
      if (!force && st.set.error != Errc::not_found && now < st.set.refresh_at) {
        Set s = st.set;
        s.packets = 0;
        s.stale = st.set.stale || (st.have_good && st.set.error == Errc::ok && now >= st.set.expires);
        return s;
      }
    }
    // Resolution runs without the lock: a slow server must not block other services' callers.
    LookupFlags flags;
    flags.bypass_cache = true;  // refresh ahead of expiry means asking even while the cache is fresh
    flags.allow_stale = false;  // staleness is decided here, with the merged set
    auto a = resolver_.resolve(service, dns::Type::SRV, flags);
    std::uint32_t packets = a.packets;
    bool from_srv = true;
    if (a.error == Errc::nodata) {
      from_srv = false;
      const auto fam = resolver_.options().families;
      typename Resolver::AnswerType v4, v6;
      v4.error = v6.error = Errc::nodata;
      if (fam != AddressFamilies::v6) {
        v4 = resolver_.resolve(service, dns::Type::A, flags);
        packets += v4.packets;
      }
      if (fam != AddressFamilies::v4) {
        v6 = resolver_.resolve(service, dns::Type::AAAA, flags);
        packets += v6.packets;
      }
      a = v4;
      if (v4.authoritative_empty() && (v6.ok() || !v6.authoritative_empty())) a = v6;
      else if (v4.ok() && v6.ok()) {
        for (const Endpoint& e : v6.endpoints)
          if (!a.endpoints.push_back(e)) a.overflow = true;
        if (v6.ttl < a.ttl) a.ttl = v6.ttl;
      } else if (v4.ok() && !v6.ok() && !v6.authoritative_empty() && fam == AddressFamilies::both) {
        a.error = v6.error;  // half a set is a failure, not an answer
      }
      for (Endpoint& e : a.endpoints) e.port = port;
    }
    total_packets_.fetch_add(packets, std::memory_order_relaxed);

    std::lock_guard<std::mutex> lock(mu_);
    const TimePoint done = resolver_.clock().now();
    State& st = state_for(service, port, done);
    Set& s = st.set;
    s.packets = packets;
    if (a.ok()) {
      ++st.refreshes;
      st.have_good = true;
      st.last_refresh = done;
      FixedVector<Endpoint, N> next;
      if (opts_.merge == MergeMode::union_of_refreshes) {
        merge(st, a.endpoints, done);
        for (const Known& k : st.known) (void)next.push_back(k.endpoint);
      } else {
        next = a.endpoints;
      }
      set_endpoints(st, next);
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
      set_endpoints(st, FixedVector<Endpoint, N>{});
      st.have_good = false;
      s.error = a.error;
      s.ttl = a.ttl;
      s.stale = false;
      s.authoritative_empty = true;
      s.expires = done + std::chrono::seconds(a.ttl);
      s.refresh_at = done + refresh_delay(a.ttl);
    } else {
      // Every server failed: keep what is known (RFC 8767), say so, come back soon.
      s.refresh_at = done + opts_.retry_interval;
      if (st.have_good && done < s.expires + resolver_.options().stale_window) {
        s.error = Errc::ok;
        s.stale = done >= s.expires;
        if (s.stale) s.ttl = resolver_.options().stale_answer_ttl;
      } else {
        s.error = a.error;
        s.stale = st.have_good;
      }
    }
    s.generation = st.generation;
    return s;
  }

  Duration refresh_delay(std::uint32_t ttl) noexcept {
    const double f = opts_.refresh_fraction + opts_.refresh_jitter * rng_.unit();
    auto d = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(ttl * f));
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
    for (std::size_t i = 0; i < st.known.size();) {
      const Known& k = st.known[i];
      if (st.refreshes - k.seen_refresh >= opts_.merge_keep_refreshes || now - k.seen_at > opts_.merge_keep_for) {
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

  State& state_for(std::string_view service, std::uint16_t port, TimePoint now) noexcept {
    State* lru = &states_[0];
    for (State& s : states_) {
      if (s.used && s.port == port && std::string_view(s.name, s.name_size) == service) {
        s.last_used = now;
        return s;
      }
      if (!s.used) lru = &s;
      else if (lru->used && s.last_used < lru->last_used) lru = &s;
    }
    *lru = State{};
    lru->used = true;
    lru->port = port;
    lru->last_used = now;
    for (std::size_t i = 0; i < service.size(); ++i) lru->name[i] = service[i];
    lru->name_size = static_cast<std::uint8_t>(service.size());
    return *lru;
  }

  Resolver& resolver_;
  EndpointResolverOptions opts_;
  std::mutex mu_;
  Rng rng_;
  State states_[Services];
  std::atomic<std::uint64_t> total_packets_{0};
};

}  // namespace svcres
