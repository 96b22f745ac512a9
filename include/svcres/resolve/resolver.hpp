#pragma once
// Resolver<Transport, Clock, N>: a DNS stub resolver for service discovery.
//
//   svcres::Resolver<svcres::PosixTransport> r(svcres::ResolvConf::load().value());
//   auto a = r.resolve("user-service.local", svcres::dns::Type::SRV);
//   if (a.ok()) for (const auto& e : a.endpoints) ...   // address, port, priority, weight
//
// What resolve(name, type) does:
// - Search list and ndots as glibc's res_search: a name with a trailing dot is tried as is; a name
//   with at least `ndots` dots is tried as is first, then with each search domain; otherwise the
//   search domains come first. NXDOMAIN and NODATA move to the next candidate; any failure stops.
// - Each query goes to the servers in order (or rotated, `options rotate`), `attempts` rounds; as in
//   glibc's res_send, round k waits `timeout` << k per try, divided by the number of servers after
//   the first round (5 s, then 10 s / 2 with two servers, ...). Timeout, ICMP unreachable, SERVFAIL, REFUSED, NOTIMP, FORMERR, a reply
//   that does not parse: next server. TC=1: the same server again over TCP (RFC 7766 §5); a
//   truncated answer is never used nor cached (RFC 2181 §9).
// - Replies are accepted only from the server's address and port with the query's ID and question
//   (RFC 5452 §9.1; with `use_0x20` the question's case must match exactly); others are ignored.
// - CNAMEs are followed inside the response and re-queried when the server stopped (at most
//   `max_cname` links; a loop is Errc::cname_loop).
// - SRV (RFC 2782): each target's addresses come from the additional section when present and are
//   queried otherwise (unbound, for one, sends none). A target of "." is skipped (RFC 2782: "service
//   not available"). A target whose address query fails makes the whole answer fail, so a partial
//   set never replaces a whole one.
// - Cache: see cache.hpp. Positive TTL = min TTL of every record used, capped at max_ttl; negative
//   TTL = min(SOA TTL, SOA MINIMUM) (RFC 2308 §5) or negative_ttl_no_soa. When every server fails,
//   the last good answer is served for up to `stale_window` after expiry, flagged stale, with
//   ttl = stale_answer_ttl (RFC 8767 §4, which suggests 30 s).
// - Identical lookups in flight at once are coalesced: one query is sent, every caller gets its
//   result.
//
// Threads: resolve() may be called from any number of threads. One std::mutex guards the cache, the
// in-flight table and the ID generator; it is never held during network I/O. (The lock-free part of
// svcres is the endpoint table, which readers hit on every request; the resolver runs once per TTL.)
// Memory: no heap. The Resolver object holds the cache (about Capacity * (N * 24 + 600) bytes: keep it
// static or allocate it once); resolve() uses about 100 KiB of stack (a 64 KiB message buffer, the
// SRV targets and decoded address records at N * ~280 bytes each), twice that when a target is queried.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <new>
#include <string_view>
#include <type_traits>
#include <utility>

#include "svcres/core/clock.hpp"
#include "svcres/core/endpoint.hpp"
#include "svcres/core/fixed_vector.hpp"
#include "svcres/core/random.hpp"
#include "svcres/core/result.hpp"
#include "svcres/dns/limits.hpp"
#include "svcres/dns/message.hpp"
#include "svcres/dns/name.hpp"
#include "svcres/dns/types.hpp"
#include "svcres/dns/wire.hpp"
#include "svcres/dns/writer.hpp"
#include "svcres/resolve/answer.hpp"
#include "svcres/resolve/cache.hpp"
#include "svcres/resolve/resolv_conf.hpp"
#include "svcres/resolve/transport.hpp"

namespace svcres {

enum class AddressFamilies : std::uint8_t { v4, v6, both };

struct ResolverOptions {
  bool cache = true;
  bool use_0x20 = false;                 // randomise the question's case and require it echoed
  std::uint16_t edns_payload = dns::default_edns_payload;  // 0: EDNS only if resolv.conf says edns0
  unsigned max_cname = 8;
  AddressFamilies families = AddressFamilies::v4;  // address records fetched for SRV targets
  std::uint32_t max_ttl = 3600;          // cap on positive TTLs (seconds)
  std::uint32_t max_negative_ttl = 300;  // cap on negative TTLs
  std::uint32_t negative_ttl_no_soa = 5; // RFC 2308 §5: no SOA, no long negative caching
  Duration stale_window = std::chrono::minutes(5);
  std::uint32_t stale_answer_ttl = 30;   // RFC 8767 §4
};

struct LookupFlags {
  bool bypass_cache = false;  // send queries even when a fresh entry exists (refresh ahead)
  bool allow_stale = true;    // serve a stale entry when every server fails
  // No query is sent, and no reply awaited, past this instant (the caller's remaining time, e.g. a
  // call() deadline). Reaching it ends the lookup as a failure (Errc::deadline_exceeded), which
  // serve-stale may still answer.
  TimePoint deadline = TimePoint::max();
};

struct ResolverStats {
  std::uint64_t packets = 0;     // DNS queries sent (UDP datagrams plus TCP queries)
  std::uint64_t tcp_fallbacks = 0;
  std::uint64_t cache_hits = 0;
  std::uint64_t cache_misses = 0;
  std::uint64_t stale_served = 0;
  std::uint64_t coalesced = 0;   // callers that waited for an identical query in flight
};

namespace detail {

struct ReplyMatch {
  std::uint16_t id;
  const dns::Name* qname;
  dns::Type type;
  bool exact_case;
};

// RFC 5452 §9.1: same ID, QR set, one question equal to ours. The question name is compared in its
// uncompressed form at offset 12, which is where every server writes it.
inline bool reply_matches(const void* ctx, const std::uint8_t* m, std::size_t n) noexcept {
  const auto* c = static_cast<const ReplyMatch*>(ctx);
  if (n < dns::header_size) return false;
  if (dns::detail::load_u16(m) != c->id || (m[2] & 0x80) == 0) return false;
  if (dns::detail::load_u16(m + 4) != 1) return false;
  const std::size_t qn = c->qname->wire_size();
  if (dns::header_size + qn + 4 > n) return false;
  const std::uint8_t* want = c->qname->wire();
  const std::uint8_t* got = m + dns::header_size;
  // Servers echo the question as sent, so the bytes usually match as they are.
  if (std::memcmp(want, got, qn) != 0) {
    if (c->exact_case) return false;
    // Length bytes are <= 63, below 'A', so lower-casing every byte compares labels correctly.
    for (std::size_t i = 0; i < qn; ++i)
      if (dns::detail::ascii_lower(want[i]) != dns::detail::ascii_lower(got[i])) return false;
  }
  return dns::detail::load_u16(got + qn) == static_cast<std::uint16_t>(c->type) &&
         dns::detail::load_u16(got + qn + 2) == dns::class_in;
}

// `ref` decompressed into `out` (left as it was on failure). One function for the three places
// that need it: each inlined copy of to_name() would move a 256-byte name through a Result.
inline Errc name_into(const dns::NameRef& ref, dns::Name& out) noexcept { return ref.to_name().get(out); }

// The address in an A or AAAA record; parse() checked the rdata length for the type.
inline IpAddress record_address(const dns::Record& r) noexcept {
  return r.type == dns::Type::A ? IpAddress::from_v4_bytes(r.rdata) : IpAddress::from_v6_bytes(r.rdata);
}

struct SrvTarget {
  std::uint16_t priority = 0, weight = 0, port = 0;
  std::uint32_t ttl = 0;
  dns::Name target;
};

// Up to N values of a trivially destructible T in inline storage, each constructed only when it
// is added: a FixedVector<T, N> constructs all N up front, which for the name-carrying SRV targets
// and address records (~270 bytes each) is N * 270 bytes of stores on every SRV resolution.
template <class T, std::size_t N>
class AppendOnly {
  static_assert(std::is_trivially_destructible_v<T>, "AppendOnly never runs destructors");

 public:
  // The new element, or nullptr when full.
  T* push_back(const T& v) noexcept { return size_ == N ? nullptr : new (&slots_[size_++].t) T(v); }
  void pop_back() noexcept { --size_; }
  void clear() noexcept { size_ = 0; }
  const T* begin() const noexcept { return &slots_[0].t; }
  const T* end() const noexcept { return &slots_[0].t + size_; }

 private:
  union Slot {
    Slot() noexcept {}
    T t;
  };
  Slot slots_[N];
  std::size_t size_ = 0;
};

template <std::size_t N>
using SrvTargets = AppendOnly<SrvTarget, N>;

// The A and AAAA records of the additional then answer sections, decoded once per SRV response so
// that matching them to each target compares flat names instead of re-walking the message per
// target. Entries are constructed only as added; Name is trivially destructible.
template <std::size_t Cap>
class AddressRecords {
 public:
  struct Entry {
    dns::Name owner;
    dns::Type type;
    IpAddress address;
    std::uint32_t ttl;
  };
  // False when the message has more address records than Cap (the caller then walks the message).
  bool load(const dns::Message& msg) noexcept {
    entries_.clear();
    for (dns::Section s : {dns::Section::additional, dns::Section::answer}) {
      for (const dns::Record& r : msg.records(s)) {
        if (r.klass != dns::class_in || (r.type != dns::Type::A && r.type != dns::Type::AAAA)) continue;
        Entry* e = entries_.push_back(Entry{dns::Name(), r.type, record_address(r), r.ttl});
        if (e == nullptr) return false;
        if (name_into(r.owner, e->owner) != Errc::ok) {
          entries_.pop_back();
          return false;
        }
      }
    }
    return true;
  }
  const Entry* begin() const noexcept { return entries_.begin(); }
  const Entry* end() const noexcept { return entries_.end(); }

 private:
  AppendOnly<Entry, Cap> entries_;
};

}  // namespace detail

template <class Transport, class Clock = SteadyClock, std::size_t N = 64, std::size_t CacheCapacity = 64>
class Resolver {
  static_assert(is_transport_v<Transport>,
                "Resolver<Transport>: Transport needs `Result<std::size_t> udp(const svcres::Exchange&)` and "
                "`Result<std::size_t> tcp(const svcres::Exchange&)`; use svcres::PosixTransport from "
                "<svcres/net/posix_transport.hpp> or see <svcres/resolve/transport.hpp>.");
  static_assert(is_clock_v<Clock>, "Resolver<Transport, Clock>: Clock needs `svcres::TimePoint now() const`.");

 public:
  using AnswerType = Answer<N>;
  static constexpr std::size_t max_endpoints = N;
  static constexpr std::size_t message_buffer = dns::max_message_size;

  explicit Resolver(ResolvConf conf, ResolverOptions opts = {}, Transport transport = Transport{},
                    Clock clock = Clock{}) noexcept
      : conf_(std::move(conf)), opts_(opts), transport_(std::move(transport)), clock_(std::move(clock)),
        rng_(Rng::from_entropy()), cache_(opts.stale_window) {}

  // Resolves `name` (presentation text, relative or absolute) with search-list expansion.
  AnswerType resolve(std::string_view name, dns::Type type, LookupFlags flags = {}) noexcept {
    AnswerType out;
    FixedVector<dns::Name, ResolvConf::max_search + 1> candidates;
    if (Errc e = expand(name, candidates); e != Errc::ok) {
      out.error = e;
      return out;
    }
    std::uint32_t packets = 0;
    Errc first_negative = Errc::ok;
    for (const dns::Name& candidate : candidates) {
      lookup(candidate, type, flags, out);
      packets += out.packets;
      if (!out.authoritative_empty()) break;
      // glibc reports NODATA over a later NXDOMAIN: the name existed somewhere.
      if (first_negative != Errc::nodata) first_negative = out.error;
    }
    if (out.authoritative_empty() && first_negative != Errc::ok) out.error = first_negative;
    out.packets = packets;
    return out;
  }

  // One absolute name, no search list.
  AnswerType resolve(const dns::Name& name, dns::Type type, LookupFlags flags = {}) noexcept {
    AnswerType out;
    lookup(name, type, flags, out);
    return out;
  }
  // The same into the caller's Answer: the allocation-free, copy-light path for hot callers (a
  // cache hit copies only the endpoints in use).
  void resolve_into(const dns::Name& name, dns::Type type, AnswerType& out, LookupFlags flags = {}) noexcept {
    lookup(name, type, flags, out);
  }

  ResolverStats stats() const noexcept {
    ResolverStats s;
    s.packets = packets_.load(std::memory_order_relaxed);
    s.tcp_fallbacks = tcp_fallbacks_.load(std::memory_order_relaxed);
    s.cache_hits = cache_hits_.load(std::memory_order_relaxed);
    s.cache_misses = cache_misses_.load(std::memory_order_relaxed);
    s.stale_served = stale_served_.load(std::memory_order_relaxed);
    s.coalesced = coalesced_.load(std::memory_order_relaxed);
    return s;
  }

  void clear_cache() noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    cache_.clear();
  }

  const ResolvConf& conf() const noexcept { return conf_; }
  const ResolverOptions& options() const noexcept { return opts_; }
  Transport& transport() noexcept { return transport_; }
  Clock& clock() noexcept { return clock_; }
  const Clock& clock() const noexcept { return clock_; }

 private:
  static constexpr std::size_t max_in_flight = 16;

  struct InFlight {
    dns::Name name;
    dns::Type type = dns::Type::A;
    bool used = false;
    bool done = false;
    unsigned waiters = 0;
    AnswerType result;
  };

  // Candidate names in the order res_search tries them.
  Errc expand(std::string_view text, FixedVector<dns::Name, ResolvConf::max_search + 1>& out) const noexcept {
    if (text.empty()) return Errc::bad_name_text;
    const Result<dns::Name> parsed = dns::Name::from_text(text);
    if (!parsed.ok()) return parsed.error();
    const dns::Name& base = parsed.value();
    const bool absolute = text.back() == '.' && !(text.size() >= 2 && text[text.size() - 2] == '\\');
    if (absolute || base.is_root()) {
      (void)out.push_back(base);
      return Errc::ok;
    }
    const std::size_t dots = base.label_count() - 1;
    const bool as_is_first = dots >= conf_.ndots;
    if (as_is_first) (void)out.push_back(base);
    for (const auto& domain : conf_.search) {
      const Result<dns::Name> suffix = dns::Name::from_text(domain.view());
      if (!suffix.ok()) continue;
      const Result<dns::Name> full = base.concat(suffix.value());
      if (full.ok()) (void)out.push_back(full.value());
    }
    if (!as_is_first) (void)out.push_back(base);
    return Errc::ok;
  }

  // Cache, coalescing and serve-stale around fetch().
  // The cache hit, kept small so that it stays the whole call; a miss goes on in lookup_miss().
  void lookup(const dns::Name& name, dns::Type type, LookupFlags flags, AnswerType& out, unsigned depth = 0) noexcept {
    const bool use_cache = opts_.cache && !flags.bypass_cache;
    // One clock read per lookup, taken before the lock so the lock covers only the table work.
    const TimePoint hit_now = use_cache ? clock_.now() : TimePoint{};
    std::unique_lock<std::mutex> lock(mu_);
    if (use_cache && cache_.get(name, type, hit_now, out)) {
      bump_locked(cache_hits_);
      return;
    }
    lookup_miss(lock, name, type, flags, out, depth);
  }

  // Called with mu_ held by `lock`: coalescing, fetch() without the lock, then cache and stale.
  void lookup_miss(std::unique_lock<std::mutex>& lock, const dns::Name& name, dns::Type type, LookupFlags flags,
                   AnswerType& out, unsigned depth) noexcept {
    InFlight* slot = nullptr;
    {
      bump_locked(cache_misses_);
      for (auto& f : in_flight_) {
        if (f.used && f.type == type && detail::same_name(f.name, name)) {
          ++f.waiters;
          coalesced_.fetch_add(1, std::memory_order_relaxed);
          cv_.wait(lock, [&] { return f.done; });
          out.assign(f.result);
          out.packets = 0;
          if (--f.waiters == 0) f.used = false;
          return;
        }
      }
      for (auto& f : in_flight_) {
        if (!f.used) {
          slot = &f;
          slot->used = true;
          slot->done = false;
          slot->waiters = 0;
          slot->name = name;
          slot->type = type;
          break;
        }
      }
      lock.unlock();
    }
    out.reset();
    out.name = name;
    fetch(name, type, out, depth);
    {
      std::lock_guard<std::mutex> lock(mu_);
      const TimePoint now = clock_.now();
      if (out.ok() || out.authoritative_empty()) {
        if (opts_.cache) cache_.put(name, type, out, now);
      } else if (flags.allow_stale && opts_.cache) {
        const std::uint32_t sent = out.packets;
        const Errc why = out.error;
        if (cache_.get_stale(name, type, now, out)) {
          // RFC 8767 §4: a short TTL so the caller comes back soon.
          out.ttl = opts_.stale_answer_ttl;
          out.stale = true;
          out.packets = sent;  // out.name came from the entry, stored under this name
          stale_served_.fetch_add(1, std::memory_order_relaxed);
        } else {
          out.error = why;
        }
      }
      if (slot) {
        slot->result.assign(out);
        slot->done = true;
        if (slot->waiters == 0) slot->used = false;
      }
    }
    if (slot) cv_.notify_all();
  }

  // Network resolution of one absolute name: CNAME chase and SRV target addresses.
  void fetch(const dns::Name& qname, dns::Type type, AnswerType& out, unsigned depth) noexcept {
    std::uint8_t buf[message_buffer];
    dns::Name current = qname;
    std::uint32_t ttl = opts_.max_ttl;
    detail::SrvTargets<N> srv;
    unsigned chain = 0;
    Result<dns::Message> parsed = Errc::not_found;
    for (;;) {
      Errc e = exchange(current, type, buf, sizeof buf, parsed, out.packets);
      if (e != Errc::ok) {
        out.error = e;
        return;
      }
      const dns::Message& msg = parsed.value();  // parsed once, by exchange(), over buf
      out.authoritative = msg.header().aa;
      // Follow CNAMEs inside this answer (RFC 1034 §3.6.2).
      for (bool moved = true; moved;) {
        moved = false;
        for (const dns::Record& r : msg.answers()) {
          if (r.type != dns::Type::CNAME || r.klass != dns::class_in || !r.owner.equals(current)) continue;
          if (type == dns::Type::CNAME) break;
          if (++chain > opts_.max_cname) {
            out.error = Errc::cname_loop;
            return;
          }
          if (detail::name_into(r.as_name().value(), current) != Errc::ok) break;  // current kept on failure
          if (r.ttl < ttl) ttl = r.ttl;
          moved = true;
          break;
        }
      }
      bool found = false;
      for (const dns::Record& r : msg.answers()) {
        if (r.type != type || r.klass != dns::class_in || !r.owner.equals(current)) continue;
        found = true;
        if (r.ttl < ttl) ttl = r.ttl;
        if (type == dns::Type::A || type == dns::Type::AAAA) {
          Endpoint ep;
          ep.address = detail::record_address(r);
          add_endpoint(out, ep);
        } else if (type == dns::Type::SRV) {
          dns::SrvView v = r.as_srv().value();
          detail::SrvTarget t;
          t.priority = v.priority;
          t.weight = v.weight;
          t.port = v.port;
          t.ttl = r.ttl;
          if (detail::name_into(v.target, t.target) != Errc::ok || t.target.is_root()) continue;  // RFC 2782 "."
          if (!srv.push_back(t)) out.overflow = true;
        }
      }
      const dns::Rcode rcode = msg.rcode();
      if (!found) {
        std::uint32_t negative = opts_.negative_ttl_no_soa;
        const bool soa = soa_negative_ttl(msg, negative);
        if (rcode == dns::Rcode::noerror && chain > 0 && !soa && depth + chain <= opts_.max_cname) {
          continue;  // the server stopped at a CNAME it is not authoritative for: ask for the target
        }
        out.error = rcode == dns::Rcode::nxdomain ? Errc::nxdomain : Errc::nodata;
        out.ttl = negative;
        return;
      }
      if (type == dns::Type::SRV) {
        // Addresses from the additional (or answer) section first; one query per target otherwise.
        detail::AddressRecords<N> addrs;
        const detail::AddressRecords<N>* decoded = addrs.load(msg) ? &addrs : nullptr;
        for (const detail::SrvTarget& t : srv) {
          std::uint32_t target_ttl = t.ttl;
          // Per family: a server may send a target's A but drop its AAAA when space runs out.
          for (dns::Type at : {dns::Type::A, dns::Type::AAAA}) {
            if (!want_family(at)) continue;
            if (Errc e = target_addresses(msg, decoded, t, at, out, target_ttl, depth); e != Errc::ok) {
              out.error = e;  // a partial set must not replace a whole one
              return;
            }
          }
          if (target_ttl < ttl) ttl = target_ttl;
        }
      }
      out.error = Errc::ok;
      out.ttl = ttl;
      return;
    }
  }

  // The `at` addresses of one SRV target into `out`: from the additional (or answer) section when
  // the server sent them, from a query otherwise. Lowers `ttl`; an error when that query failed.
  // `decoded`, when not null, holds msg's address records in the same order as the walk below.
  Errc target_addresses(const dns::Message& msg, const detail::AddressRecords<N>* decoded,
                        const detail::SrvTarget& t, dns::Type at, AnswerType& out, std::uint32_t& ttl,
                        unsigned depth) noexcept {
    bool any = false;
    if (decoded) {
      for (const auto& r : *decoded) {
        if (r.type != at || !detail::same_name(r.owner, t.target)) continue;
        add_target(out, r.address, t);
        any = true;
        if (r.ttl < ttl) ttl = r.ttl;
      }
    }
    for (dns::Section s : {dns::Section::additional, dns::Section::answer}) {
      if (decoded) break;
      for (const dns::Record& r : msg.records(s)) {
        if (r.klass != dns::class_in || r.type != at || !r.owner.equals(t.target)) continue;
        add_target(out, detail::record_address(r), t);
        any = true;
        if (r.ttl < ttl) ttl = r.ttl;
      }
    }
    if (any) return Errc::ok;
    AnswerType sub;
    lookup(t.target, at, LookupFlags{}, sub, depth + 1);
    out.packets += sub.packets;
    if (sub.authoritative_empty()) return Errc::ok;
    if (!sub.ok()) return sub.error;
    for (const Endpoint& a : sub.endpoints) add_target(out, a.address, t);
    if (sub.ttl < ttl) ttl = sub.ttl;
    if (sub.overflow) out.overflow = true;
    return Errc::ok;
  }

  bool want_family(dns::Type t) const noexcept {
    if (t == dns::Type::A) return opts_.families != AddressFamilies::v6;
    if (t == dns::Type::AAAA) return opts_.families != AddressFamilies::v4;
    return false;
  }

  // `address` as an endpoint of SRV target `t` (RFC 2782: its port, priority and weight).
  static void add_target(AnswerType& out, const IpAddress& address, const detail::SrvTarget& t) noexcept {
    add_endpoint(out, Endpoint{address, t.port, t.priority, t.weight});
  }

  static void add_endpoint(AnswerType& out, const Endpoint& ep) noexcept {
    for (const Endpoint& e : out.endpoints)
      if (e.same_identity(ep)) return;
    if (!out.endpoints.push_back(ep)) out.overflow = true;
  }

  // RFC 2308 §5: the negative TTL is min(SOA record TTL, SOA MINIMUM), capped. False, and `ttl`
  // left as it is (the caller's no-SOA default), when the authority section has no SOA.
  bool soa_negative_ttl(const dns::Message& msg, std::uint32_t& ttl) const noexcept {
    for (const dns::Record& r : msg.authorities()) {
      if (r.type != dns::Type::SOA) continue;
      std::uint32_t t = r.ttl;
      // MINIMUM is the rdata's last 32 bits (RFC 1035 §3.3.13); parse() checked that an SOA's
      // rdata ends exactly 20 bytes after its two names.
      const std::uint32_t minimum = dns::detail::load_u32(r.rdata + r.rdlength - 4);
      if (minimum < t) t = minimum;
      ttl = t < opts_.max_negative_ttl ? t : opts_.max_negative_ttl;
      return true;
    }
    return false;
  }

  // One query with failover: every server, `attempts` rounds. On success `reply` is the parsed view
  // over `buf` of a reply that matches the question and has a usable rcode (NOERROR or NXDOMAIN).
  Errc exchange(const dns::Name& qname, dns::Type type, std::uint8_t* buf, std::size_t cap,
                Result<dns::Message>& reply, std::uint32_t& packets) noexcept {
    const std::size_t n = conf_.nameservers.size();
    if (n == 0) return Errc::no_nameservers;
    std::uint8_t query[dns::max_name_wire + 64];
    dns::Name wire_name = qname;
    std::uint16_t id;
    std::size_t start = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      id = static_cast<std::uint16_t>(rng_());
      if (opts_.use_0x20) wire_name.randomize_case(rng_);
      if (conf_.rotate) start = rotate_next_++ % n;
    }
    dns::QueryOptions qo;
    qo.edns_payload = opts_.edns_payload ? opts_.edns_payload : (conf_.edns0 ? dns::default_edns_payload : 0);
    std::size_t qlen = 0;
    if (Errc e = dns::write_query(query, sizeof query, id, wire_name, type, qo).get(qlen); e != Errc::ok) return e;

    detail::ReplyMatch match{id, &wire_name, type, opts_.use_0x20};
    Exchange x;
    x.query = query;
    x.query_size = qlen;
    x.reply = buf;
    x.reply_capacity = cap;
    x.accept = &detail::reply_matches;
    x.accept_ctx = &match;

    Errc last = Errc::timeout;
    bool saw_servfail = false, saw_refused = false;
    for (unsigned attempt = 0; attempt < conf_.attempts; ++attempt) {
      // Doubling stops at glibc's RES_MAXRETRY rounds, should code set more attempts than that.
      const unsigned doubling = attempt < ResolvConf::max_attempts ? attempt : ResolvConf::max_attempts - 1;
      x.timeout = conf_.timeout * (1 << doubling) / (attempt ? static_cast<long>(n) : 1L);
      for (std::size_t i = 0; i < n; ++i) {
        x.server = conf_.nameservers[(start + i) % n];
        Result<std::size_t> r = conf_.use_vc ? transport_.tcp(x) : transport_.udp(x);
        ++packets;
        packets_.fetch_add(1, std::memory_order_relaxed);
        if (r.ok() && !conf_.use_vc && truncated(buf, r.value())) {
          // RFC 7766 §5 / RFC 2181 §9: never use a TC answer; ask the same server over TCP.
          tcp_fallbacks_.fetch_add(1, std::memory_order_relaxed);
          r = transport_.tcp(x);
          ++packets;
          packets_.fetch_add(1, std::memory_order_relaxed);
        }
        if (!r.ok()) {
          last = r.error();
          continue;
        }
        Result<dns::Message> m = dns::Message::parse(buf, r.value());
        if (!m.ok() || m->header().tc) {  // garbage (or TC over TCP): next server
          last = m.ok() ? Errc::truncated : m.error();
          continue;
        }
        const dns::Rcode rc = m->rcode();
        if (rc == dns::Rcode::noerror || rc == dns::Rcode::nxdomain) {
          reply = std::move(m);
          return Errc::ok;
        }
        if (rc == dns::Rcode::refused) saw_refused = true;
        else saw_servfail = true;  // SERVFAIL, NOTIMP, FORMERR, anything else
      }
    }
    if (saw_servfail) return Errc::server_failure;
    if (saw_refused) return Errc::refused;
    return last;
  }

  // +1 on a counter only ever written under mu_: a plain load and store instead of a locked
  // read-modify-write on the cache-hit path. stats() reads with relaxed loads; it needs no ordering
  // with anything else, only untorn values, which atomics give.
  static void bump_locked(std::atomic<std::uint64_t>& c) noexcept {
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }

  static bool truncated(const std::uint8_t* m, std::size_t n) noexcept { return n >= 3 && (m[2] & 0x02) != 0; }

  ResolvConf conf_;
  ResolverOptions opts_;
  Transport transport_;
  Clock clock_;

  std::mutex mu_;  // guards rng_, rotate_next_, cache_, in_flight_; the only writer of cache_hits_/misses_
  std::condition_variable cv_;
  Rng rng_;
  std::size_t rotate_next_ = 0;
  Cache<N, CacheCapacity> cache_;
  InFlight in_flight_[max_in_flight];

  std::atomic<std::uint64_t> packets_{0};
  std::atomic<std::uint64_t> tcp_fallbacks_{0};
  std::atomic<std::uint64_t> cache_hits_{0};
  std::atomic<std::uint64_t> cache_misses_{0};
  std::atomic<std::uint64_t> stale_served_{0};
  std::atomic<std::uint64_t> coalesced_{0};
};

}  // namespace svcres
