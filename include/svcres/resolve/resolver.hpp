#pragma once
// Resolver<Transport, Clock, N, CacheCapacity, Workspaces>: a DNS stub resolver for service discovery.
//
//   svcres::Resolver<svcres::PosixTransport> r(svcres::ResolvConf::load().value());
//   auto a = r.resolve("user-service.local", svcres::dns::Type::SRV);
//   if (a.ok()) for (const auto& e : a.endpoints) ...   // address, port, priority, weight
//
// What resolve(name, type) does:
// - Search list and ndots as glibc's res_search (2.36): a name with a trailing dot is tried as is
//   only; a name with at least `ndots` dots is tried as is first, then with each search domain;
//   otherwise the search domains come first, then the name as is. Which failures go on is glibc's
//   (see search() below): NXDOMAIN, NODATA and SERVFAIL move to the next search domain; a failed
//   as-is-first try moves on whatever the failure; a timeout or REFUSED in the search list ends
//   the list but the as-is name is still tried; every server unreachable ends the search.
// - Each query goes to the servers in order (under `options rotate`: starting at a random server
//   for each Resolver object, then one further per query, as glibc per process), `attempts`
//   rounds. The wait of one try is glibc's res_send schedule, which depends on the server's index i
//   in the nameserver list, not on the round: timeout for i = 0, (timeout << i) / nameservers for
//   i > 0, in whole seconds (at least 1 s). One server, timeout:1 attempts:3: sends at +0/+1/+2 s,
//   fails at +3 s. Defaults (timeout:5 attempts:2), one server: 10 s. Three servers, timeout:2
//   attempts:2: waits of 2, 1, 2, 2, 1, 2 s. See try_timeout().
// - Adaptive retransmission (ResolverOptions::adaptive_retransmit, off by default; glibc has none):
//   the server switches and every try's wait stay as above, but inside a try's wait the same
//   datagram (same port, same ID) is sent again after an RTO, then after 2, 4, ... RTO (RFC 6298
//   §5.5), until the wait ends. The RTO is RFC 6298 §2 over the round trips measured to that server
//   (SRTT + 4 * RTTVAR, at least min_rto, initial_rto before the first sample); Karn's rule (RFC
//   6298 §3): an exchange that sent a copy gives no sample (a reply cannot be matched to its copy),
//   and backs the server's RTO off (doubled, at most 60 s, RFC 6298 §2.5) until a clean sample.
//   An RTO at least the try's wait sends no copy. Needs a transport that honours
//   Exchange::retransmit_after (PosixTransport does); others just send once.
// - Timeout, ICMP unreachable, SERVFAIL, REFUSED, NOTIMP, a reply that does not parse: next
//   server. FORMERR to a query with OPT: the same server once more without OPT (RFC 6891 §7), and
//   without OPT for the rest of that query. TC=1: the same server again over TCP (RFC 7766 §5); a
//   truncated answer is never used nor cached (RFC 2181 §9).
// - Replies are accepted only from the server's address and port with the query's ID and question
//   (RFC 5452 §9.1; with `use_0x20` the question's case must match exactly); others are ignored.
// - CNAMEs are followed inside the response (at most `max_cname` links; a loop is
//   Errc::cname_loop). When a server stops at a CNAME without an SOA (it does not serve the
//   target), the target is asked for, once per new target: a server that answers the target with
//   an empty NOERROR again ends the lookup with NODATA instead of being asked forever.
// - SRV (RFC 2782): each target's addresses come from the additional section when present and are
//   queried otherwise (unbound, for one, sends none). A target of "." is skipped (RFC 2782: "service
//   not available"). A target whose address query fails makes the whole answer fail, so a partial
//   set never replaces a whole one.
// - Deadline (LookupFlags::deadline): no packet is sent at or after it, every wait (a try, a
//   coalesced lookup, a free workspace) is cut to what is left, and reaching it ends the lookup with
//   Errc::deadline_exceeded, which serve-stale may still answer. Search candidates, CNAME
//   re-queries and SRV target lookups share the caller's deadline.
// - Packet bound: one resolve() call sends at most
//     P * attempts * nameservers * (1 + max_cname + F * N)      (ResolverOptions::max_packets)
//   packets (F = 1, or 2 with AddressFamilies::both; P = 3 = a query, its retry without OPT, its TCP
//   retry): enough for one name, its CNAME re-queries and every SRV target's address queries with
//   every server failing. Defaults, one server: 438; three: 1314. With adaptive_retransmit each UDP
//   send may carry up to 1 + K datagrams, K the largest k with (2^k - 1) * min_rto < W (W the longest
//   try wait), so P = 2 * (1 + K) + 1 (the query and its retry without OPT may each carry copies;
//   TCP never): timeout:1, min_rto 50 ms: K = 4 (copies at 50, 150, 350, 750 ms), P = 11, one
//   server, attempts:2: 1606; defaults (timeout:5): K = 6, P = 15, one server: 2190. Every
//   datagram counts against the budget and in `packets`, copies included; the transport is never
//   allowed more copies than the budget has left. Spent: Errc::capacity_exceeded.
// - Cache: see cache.hpp. Positive TTL = min TTL of every record used, capped at max_ttl; negative
//   TTL = min(SOA TTL, SOA MINIMUM) (RFC 2308 §5) for an SOA of class IN owned by the query name or
//   an ancestor, or negative_ttl_no_soa. When every server fails, the last good answer is served
//   for up to `stale_window` after expiry, flagged stale, with ttl = stale_answer_ttl (RFC 8767 §4,
//   which suggests 30 s). A TTL of 0 erases the entry (cache.hpp).
// - Identical lookups in flight at once are coalesced: one query is sent, every caller gets its
//   result.
// - fork(): when the transport offers process_tag() (PosixTransport: getpid()), the ID and 0x20
//   generator is reseeded in a child before its first query (see transport.hpp).
//
// Threads: resolve() may be called from any number of threads. One std::mutex guards the cache, the
// in-flight table, the workspaces and the ID generator; it is never held during network I/O. (The
// lock-free part of svcres is the endpoint table, which readers hit on every request; the resolver
// runs once per TTL.) At most `Workspaces` (default 2: two Services sharing one resolver refresh at
// once) lookups use the network at once; others wait for a workspace (within their deadline).
// Memory: no heap. The Resolver object holds the cache (about CacheCapacity * (N * 24 + 600)
// bytes), the in-flight table, and `Workspaces` workspaces of 64 KiB + N * ~560 bytes each (the
// message buffer, an SRV answer's targets and decoded address records): sizeof(Resolver<PosixTransport>)
// is 376,808 bytes with the defaults (273,840 with one workspace; 170,856 when those buffers lived
// on the stack); keep it static or allocate it once. resolve() itself needs little stack: a pull refresh of an SRV name
// whose targets need address queries (PosixTransport, loopback server) touches about 11 KiB
// (15,592 bytes on a painted 64 KiB thread stack, of which 4,464 an idle thread touches too; g++
// -O2; ASan about 28 KiB): tests/resolve/resolver_process_test.cpp runs it on a 64 KiB stack.

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
  // Packets one resolve() call may send, all its queries together; 0: the bound at the top of this
  // file. Spent, the lookup ends with Errc::capacity_exceeded.
  std::uint32_t max_packets = 0;
  // Opt-in: resend a UDP query inside one try's wait after an RTO learnt from measured round trips
  // (see the top of this file). Off, the resolver sends exactly as glibc's res_send.
  bool adaptive_retransmit = false;
  // The smallest RTO: unbound's default (util/rtt.c RTT_MIN_TIMEOUT, option infra-cache-min-rtt,
  // 50 ms); RFC 6298 §2.4's 1 s floor is for TCP over unknown paths, not a stub's nearby server.
  std::chrono::milliseconds min_rto{50};
  // The RTO before a server's first sample: RFC 6298 §2.1's 1 s. With timeout:1 that sends no copy
  // until a round trip has been measured.
  std::chrono::milliseconds initial_rto{1000};
};

// A server's round-trip estimate (RFC 6298 §2); rto is before clamping to a try's wait.
struct RttEstimate {
  std::chrono::microseconds srtt{0};
  std::chrono::microseconds rttvar{0};
  std::chrono::microseconds rto{0};
  bool sampled = false;  // false: no round trip measured yet (srtt and rttvar mean nothing)
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
  std::uint64_t packets = 0;     // DNS queries sent (UDP datagrams, adaptive copies included, plus TCP queries)
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
  // A FORMERR may carry no question (RFC 6891 §7: a server that does not know EDNS); with the
  // right ID, source and port it is taken, which can only make the resolver retry without OPT.
  if ((m[3] & 0x0f) == static_cast<std::uint8_t>(dns::Rcode::formerr) && dns::detail::load_u16(m + 4) == 0) return true;
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

// 64 bits from std::random_device. Kept out of line: a random_device is about 5 KiB (libstdc++),
// which inlined into the resolver's query path would sit on the stack of every query.
#if defined(__GNUC__)
__attribute__((noinline))
#endif
inline std::uint64_t fresh_seed() noexcept {
  return Rng::from_entropy()();
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

template <class Transport, class Clock = SteadyClock, std::size_t N = 64, std::size_t CacheCapacity = 64,
          std::size_t Workspaces = 2>
class Resolver {
  static_assert(is_transport_v<Transport>,
                "Resolver<Transport>: Transport needs `Result<std::size_t> udp(const svcres::Exchange&)` and "
                "`Result<std::size_t> tcp(const svcres::Exchange&)`; use svcres::PosixTransport from "
                "<svcres/net/posix_transport.hpp> or see <svcres/resolve/transport.hpp>.");
  static_assert(is_clock_v<Clock>, "Resolver<Transport, Clock>: Clock needs `svcres::TimePoint now() const`.");
  static_assert(Workspaces > 0, "Resolver<..., Workspaces>: at least one workspace is needed to send a query.");

 public:
  using AnswerType = Answer<N>;
  static constexpr std::size_t max_endpoints = N;
  static constexpr std::size_t message_buffer = dns::max_message_size;
  static constexpr std::size_t workspaces = Workspaces;
  // Packets one try (one server, one round) may send: the query, the same without OPT after a
  // FORMERR to EDNS (RFC 6891 §7), and the TCP retry after TC=1 (RFC 7766 §5).
  static constexpr std::uint32_t packets_per_try = 3;

  explicit Resolver(ResolvConf conf, ResolverOptions opts = {}, Transport transport = Transport{},
                    Clock clock = Clock{}) noexcept
      : conf_(std::move(conf)), opts_(opts), transport_(std::move(transport)), clock_(std::move(clock)),
        rng_(Rng::from_entropy()), cache_(opts.stale_window) {
    // glibc picks a random first server per process under `options rotate` (res_send.c,
    // nameserver_offset), then moves one server per query; here per Resolver object.
    rotate_next_ = static_cast<std::size_t>(rng_() >> 1);
    process_tag_ = detail::process_tag_of(transport_);
  }

  // Resolves `name` (presentation text, relative or absolute) with search-list expansion.
  AnswerType resolve(std::string_view name, dns::Type type, LookupFlags flags = {}) noexcept {
    AnswerType out;
    Lookup ctx{flags.deadline, packet_budget(), nullptr};
    search(name, type, flags, ctx, out);
    return out;
  }

  // One absolute name, no search list.
  AnswerType resolve(const dns::Name& name, dns::Type type, LookupFlags flags = {}) noexcept {
    AnswerType out;
    Lookup ctx{flags.deadline, packet_budget(), nullptr};
    lookup(name, type, flags, ctx, out);
    return out;
  }
  // The same into the caller's Answer: the allocation-free, copy-light path for hot callers (a
  // cache hit copies only the endpoints in use).
  void resolve_into(const dns::Name& name, dns::Type type, AnswerType& out, LookupFlags flags = {}) noexcept {
    Lookup ctx{flags.deadline, packet_budget(), nullptr};
    lookup(name, type, flags, ctx, out);
  }

  // The packet budget of one resolve() call (see the top of this file).
  std::uint32_t packet_budget() const noexcept {
    if (opts_.max_packets != 0) return opts_.max_packets;
    const std::uint64_t families = opts_.families == AddressFamilies::both ? 2 : 1;
    std::uint64_t per_try = packets_per_try;
    if (opts_.adaptive_retransmit) {
      std::chrono::milliseconds longest{0};
      for (std::size_t i = 0; i < conf_.nameservers.size(); ++i)
        if (try_timeout(i) > longest) longest = try_timeout(i);
      per_try = 2 * (1 + std::uint64_t{retransmits_within(longest)}) + 1;
    }
    const std::uint64_t per_name = per_try * conf_.attempts * conf_.nameservers.size();
    const std::uint64_t b = per_name * (1 + opts_.max_cname + families * N);
    return b > 0xffffffffu ? 0xffffffffu : static_cast<std::uint32_t>(b);
  }

  // The wait for one try at the server with index `server` (its place in conf().nameservers), as
  // glibc's res_send (send_dg): `timeout` for server 0, (timeout << i) / nameservers for server
  // i > 0, the same in every round. glibc counts whole seconds (integer division, at least 1 s);
  // a timeout set in code with a millisecond part is divided in milliseconds (at least 1 ms).
  std::chrono::milliseconds try_timeout(std::size_t server) const noexcept {
    const long long base = static_cast<long long>(conf_.timeout.count());
    const long long n = static_cast<long long>(conf_.nameservers.size());
    const unsigned shift = server < 16 ? static_cast<unsigned>(server) : 16u;
    long long t = server == 0 || n == 0 ? base : (base << shift) / n;
    if (base % 1000 == 0) {
      t -= t % 1000;
      if (t < 1000) t = 1000;
    } else if (t < 1) {
      t = 1;
    }
    return std::chrono::milliseconds(t);
  }

  // The most copies one UDP send may add within `wait` (RFC 6298 §5.5 doubling from min_rto): the
  // k-th copy leaves (2^k - 1) * RTO after the first datagram, and RTO >= min_rto.
  unsigned retransmits_within(std::chrono::milliseconds wait) const noexcept {
    const long long step0 = opts_.min_rto.count() > 0 ? opts_.min_rto.count() : 1;
    unsigned k = 0;
    for (long long step = step0, at = step0; at < wait.count() && k < 62; step *= 2, at += step) ++k;
    return k;
  }

  // The round-trip estimate of conf().nameservers[server] (all zero before any exchange with it).
  RttEstimate rtt_estimate(std::size_t server) noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    return server < max_servers ? rtt_[server] : RttEstimate{};
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
  static constexpr std::size_t max_servers = ResolvConf::max_nameservers;

  struct InFlight {
    dns::Name name;
    dns::Type type = dns::Type::A;
    bool used = false;
    bool done = false;
    unsigned waiters = 0;
    AnswerType result;
  };

  // What a network fetch needs beyond a few names: the message buffer (a TCP reply may be 64 KiB),
  // an SRV answer's targets and its decoded address records. Kept in the object so that resolve()
  // runs on a small stack; one per network lookup in progress, nested target lookups reuse their
  // parent's (they run after the parent has copied what it needs out of the message).
  struct Workspace {
    std::uint8_t message[message_buffer];
    detail::SrvTargets<N> srv;
    detail::AddressRecords<N> addrs;
    AnswerType target;  // one SRV target's address lookup (an A/AAAA fetch never needs its own)
    bool used = false;
  };

  // Shared by every query of one resolve() call: search candidates, CNAME re-queries, SRV targets.
  struct Lookup {
    TimePoint deadline;
    std::uint32_t packets_left;
    Workspace* ws;  // the workspace held by the outermost fetch; null before it starts
  };

  // The text's name, absolute or not, and whether res_search tries it as is before the search list
  // (a trailing dot, or at least `ndots` dots).
  Errc parse_query_name(std::string_view text, dns::Name& base, bool& absolute, bool& as_is_first) const noexcept {
    if (text.empty()) return Errc::bad_name_text;
    if (Errc e = dns::Name::from_text(text).get(base); e != Errc::ok) return e;
    absolute = (text.back() == '.' && !(text.size() >= 2 && text[text.size() - 2] == '\\')) || base.is_root();
    as_is_first = absolute || base.label_count() - 1 >= conf_.ndots;
    return Errc::ok;
  }

  // glibc's res_search (resolv/res_query.c, 2.36) over the candidates:
  // - the name as is, when tried first, may fail in any way: the search list is tried next, and its
  //   error is the one reported if nothing resolves;
  // - in the search list, NXDOMAIN and NODATA go on; SERVFAIL goes on too (glibc: TRY_AGAIN with a
  //   SERVFAIL reply in hand); every server unreachable (ECONNREFUSED) ends the whole search; any
  //   other failure (a timeout, REFUSED) ends the search list, and the name as is is still tried
  //   when it was not tried first;
  // - when nothing resolves: the as-is-first error, else NODATA if any candidate had it, else
  //   SERVFAIL if any had it, else the last error.
  // The deadline or the packet budget running out ends everything (not glibc: it has neither).
  void search(std::string_view text, dns::Type type, LookupFlags flags, Lookup& ctx, AnswerType& out) noexcept {
    dns::Name base, name;
    bool absolute = false, as_is_first = false;
    if (Errc e = parse_query_name(text, base, absolute, as_is_first); e != Errc::ok) {
      out.error = e;
      return;
    }
    // Slots in res_search's order: [as is,] each search domain[, as is]. Names are built one at a
    // time (a list of them would be 7 * 256 bytes of stack).
    const std::size_t domains = absolute ? 0 : conf_.search.size();
    const std::size_t first_domain = as_is_first ? 1 : 0;
    const std::size_t slots = domains + 1;
    std::uint32_t packets = 0;
    bool have_first = false, got_nodata = false, got_servfail = false;
    Errc first_error = Errc::ok;
    for (std::size_t j = 0; j < slots; ++j) {
      const bool is_domain = j >= first_domain && j < first_domain + domains;
      if (is_domain) {
        dns::Name suffix;
        if (dns::Name::from_text(conf_.search[j - first_domain].view()).get(suffix) != Errc::ok) continue;
        if (base.concat(suffix).get(name) != Errc::ok) continue;
      } else {
        name = base;
      }
      lookup(name, type, flags, ctx, out);
      packets += out.packets;
      if (out.ok() || out.error == Errc::deadline_exceeded || out.error == Errc::capacity_exceeded) break;
      if (!is_domain) {
        if (!as_is_first) break;  // the as-is try after the list was the last
        have_first = true;
        first_error = out.error;
        continue;
      }
      if (out.error == Errc::nodata) got_nodata = true;
      if (out.error == Errc::server_failure) got_servfail = true;
      if (out.error == Errc::connection_refused) break;  // glibc: "no server present, give up"
      if (out.authoritative_empty() || out.error == Errc::server_failure) continue;
      if (as_is_first) break;             // the as-is try came first: nothing left
      j = first_domain + domains - 1;     // end the list; the loop's ++j reaches the as-is name
    }
    if (!out.ok() && out.error != Errc::deadline_exceeded && out.error != Errc::capacity_exceeded &&
        out.error != Errc::connection_refused) {
      if (have_first) out.error = first_error;
      else if (got_nodata) out.error = Errc::nodata;
      else if (got_servfail) out.error = Errc::server_failure;
    }
    out.packets = packets;
  }

  // Cache, coalescing and serve-stale around fetch().
  // The cache hit, kept small so that it stays the whole call; a miss goes on in lookup_miss().
  void lookup(const dns::Name& name, dns::Type type, LookupFlags flags, Lookup& ctx, AnswerType& out,
              unsigned depth = 0) noexcept {
    const bool use_cache = opts_.cache && !flags.bypass_cache;
    // One clock read per lookup, taken before the lock so the lock covers only the table work.
    const TimePoint hit_now = use_cache ? clock_.now() : TimePoint{};
    std::unique_lock<std::mutex> lock(mu_);
    if (use_cache && cache_.get(name, type, hit_now, out)) {
      bump_locked(cache_hits_);
      return;
    }
    lookup_miss(lock, name, type, flags, ctx, out, depth);
  }

  // Waits on cv_ (mu_ held by `lock`) until `ready()` or the deadline; false at the deadline. The
  // deadline is the Clock's; the wait itself is in real time (what is left of it when it starts).
  template <class Pred>
  bool wait_until_deadline(std::unique_lock<std::mutex>& lock, TimePoint deadline, Pred ready) noexcept {
    if (deadline == TimePoint::max()) {
      cv_.wait(lock, ready);
      return true;
    }
    const TimePoint now = clock_.now();
    if (now >= deadline) return ready();
    return cv_.wait_for(lock, deadline - now, ready);
  }

  // Called with mu_ held by `lock`: coalescing, fetch() without the lock, then cache and stale.
  // The outermost fetch takes a workspace before its in-flight slot becomes visible, so a lookup
  // that waits for a slot's result waits for a thread that is already able to send: no cycle.
  void lookup_miss(std::unique_lock<std::mutex>& lock, const dns::Name& name, dns::Type type, LookupFlags flags,
                   Lookup& ctx, AnswerType& out, unsigned depth) noexcept {
    InFlight* slot = nullptr;
    Workspace* acquired = nullptr;
    bump_locked(cache_misses_);
    for (;;) {
      InFlight* same = nullptr;
      for (auto& f : in_flight_)
        if (f.used && f.type == type && detail::same_name(f.name, name)) same = &f;
      if (same) {
        InFlight& f = *same;
        ++f.waiters;
        coalesced_.fetch_add(1, std::memory_order_relaxed);
        const bool done = wait_until_deadline(lock, ctx.deadline, [&] { return f.done; });
        if (done) out.assign(f.result);
        if (--f.waiters == 0 && f.done) f.used = false;
        out.packets = 0;
        if (!done) fail_locked(name, type, flags, Errc::deadline_exceeded, out);
        return;
      }
      if (ctx.ws == nullptr) {
        for (auto& w : workspaces_)
          if (!w.used) acquired = &w;
        if (acquired == nullptr) {
          // Every workspace busy: wait for one (or for an identical lookup to appear and coalesce).
          const std::uint64_t seen = released_;
          if (!wait_until_deadline(lock, ctx.deadline, [&] { return released_ != seen; })) {
            fail_locked(name, type, flags, Errc::deadline_exceeded, out);
            return;
          }
          continue;
        }
        acquired->used = true;
        ctx.ws = acquired;
      }
      break;
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
    out.reset();
    out.name = name;
    fetch(name, type, flags, ctx, out, depth);
    lock.lock();
    const TimePoint now = clock_.now();
    if (out.ok() || out.authoritative_empty()) {
      if (opts_.cache) cache_.put(name, type, out, now);
    } else {
      fail_locked(name, type, flags, out.error, out);
    }
    if (slot) {
      slot->result.assign(out);
      slot->done = true;
      if (slot->waiters == 0) slot->used = false;
    }
    if (acquired) {
      acquired->used = false;
      ctx.ws = nullptr;
      ++released_;
    }
    lock.unlock();
    if (slot || acquired) cv_.notify_all();
  }

  // mu_ held. The lookup failed with `why`: serve the stale entry if allowed (RFC 8767 §4, with a
  // short TTL so the caller comes back soon), else report `why`. `out.packets` is kept.
  void fail_locked(const dns::Name& name, dns::Type type, LookupFlags flags, Errc why, AnswerType& out) noexcept {
    const std::uint32_t sent = out.packets;
    if (flags.allow_stale && opts_.cache && cache_.get_stale(name, type, clock_.now(), out)) {
      out.ttl = opts_.stale_answer_ttl;
      out.stale = true;
      out.packets = sent;  // out.name came from the entry, stored under this name
      stale_served_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    out.error = why;
  }

  // Network resolution of one absolute name: CNAME chase and SRV target addresses.
  void fetch(const dns::Name& qname, dns::Type type, LookupFlags flags, Lookup& ctx, AnswerType& out,
             unsigned depth) noexcept {
    Workspace& ws = *ctx.ws;
    dns::Name current = qname;
    std::uint32_t ttl = opts_.max_ttl;
    unsigned chain = 0;
    unsigned requeried = 0;  // the chain length at the last re-query: each target is asked once
    Result<dns::Message> parsed = Errc::not_found;
    if (type == dns::Type::SRV) ws.srv.clear();
    for (;;) {
      if (Errc e = exchange(current, type, ws.message, sizeof ws.message, ctx, parsed, out.packets); e != Errc::ok) {
        out.error = e;
        return;
      }
      const dns::Message& msg = parsed.value();  // parsed once, by exchange(), over ws.message
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
          if (!ws.srv.push_back(t)) out.overflow = true;
        }
      }
      const dns::Rcode rcode = msg.rcode();
      if (!found) {
        std::uint32_t negative = opts_.negative_ttl_no_soa;
        const bool soa = soa_negative_ttl(msg, current, negative);
        // The server stopped at a CNAME whose target it does not serve (no SOA: not authoritative
        // for it): ask for the target, once per new target, so that a server answering the target
        // with an empty NOERROR again cannot keep us asking.
        if (rcode == dns::Rcode::noerror && chain > requeried && !soa && depth + chain <= opts_.max_cname) {
          requeried = chain;
          continue;
        }
        out.error = rcode == dns::Rcode::nxdomain ? Errc::nxdomain : Errc::nodata;
        out.ttl = negative;
        return;
      }
      if (type == dns::Type::SRV) {
        if (Errc e = srv_addresses(msg, flags, ctx, out, ttl, depth); e != Errc::ok) {
          out.error = e;  // a partial set must not replace a whole one
          return;
        }
      }
      out.error = Errc::ok;
      out.ttl = ttl;
      return;
    }
  }

  // The addresses of every SRV target in ws.srv into `out`: first from the additional (or answer)
  // section of `msg`, then, for each (target, family) the message had nothing for, a query. The
  // queries reuse ws.message, so `msg` is read only before the first of them.
  Errc srv_addresses(const dns::Message& msg, LookupFlags flags, Lookup& ctx, AnswerType& out, std::uint32_t& ttl,
                     unsigned depth) noexcept {
    Workspace& ws = *ctx.ws;
    const detail::AddressRecords<N>* decoded = ws.addrs.load(msg) ? &ws.addrs : nullptr;
    std::uint8_t missing[N] = {};  // bit 0: A, bit 1: AAAA still to query
    std::size_t k = 0;
    for (const detail::SrvTarget& t : ws.srv) {
      std::uint32_t target_ttl = t.ttl;
      // Per family: a server may send a target's A but drop its AAAA when space runs out.
      for (dns::Type at : {dns::Type::A, dns::Type::AAAA}) {
        if (want_family(at) && !addresses_in(msg, decoded, t, at, out, target_ttl))
          missing[k] = static_cast<std::uint8_t>(missing[k] | (at == dns::Type::A ? 1 : 2));
      }
      if (target_ttl < ttl) ttl = target_ttl;
      ++k;
    }
    // Target lookups share the caller's deadline and packet budget, and use the cache.
    LookupFlags sub_flags;
    sub_flags.deadline = flags.deadline;
    k = 0;
    for (const detail::SrvTarget& t : ws.srv) {
      for (dns::Type at : {dns::Type::A, dns::Type::AAAA}) {
        if ((missing[k] & (at == dns::Type::A ? 1 : 2)) == 0) continue;
        AnswerType& sub = ws.target;
        lookup(t.target, at, sub_flags, ctx, sub, depth + 1);
        out.packets += sub.packets;
        if (sub.authoritative_empty()) continue;
        if (!sub.ok()) return sub.error;
        for (const Endpoint& a : sub.endpoints) add_target(out, a.address, t);
        if (sub.ttl < ttl) ttl = sub.ttl;
        if (sub.overflow) out.overflow = true;
      }
      ++k;
    }
    return Errc::ok;
  }

  // The `at` addresses of SRV target `t` found in `msg` (additional, then answer section) into
  // `out`; false when there are none. `decoded`, when not null, holds msg's address records.
  bool addresses_in(const dns::Message& msg, const detail::AddressRecords<N>* decoded, const detail::SrvTarget& t,
                    dns::Type at, AnswerType& out, std::uint32_t& ttl) const noexcept {
    bool any = false;
    if (decoded) {
      for (const auto& r : *decoded) {
        if (r.type != at || !detail::same_name(r.owner, t.target)) continue;
        add_target(out, r.address, t);
        any = true;
        if (r.ttl < ttl) ttl = r.ttl;
      }
      return any;
    }
    for (dns::Section s : {dns::Section::additional, dns::Section::answer}) {
      for (const dns::Record& r : msg.records(s)) {
        if (r.klass != dns::class_in || r.type != at || !r.owner.equals(t.target)) continue;
        add_target(out, detail::record_address(r), t);
        any = true;
        if (r.ttl < ttl) ttl = r.ttl;
      }
    }
    return any;
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

  // RFC 2308 §5: the negative TTL is min(SOA record TTL, SOA MINIMUM), capped. Only an SOA of class
  // IN whose owner is `qname` or an ancestor of it counts (the zone the negative answer is about);
  // false, and `ttl` left as it is (the caller's no-SOA default), when there is none.
  bool soa_negative_ttl(const dns::Message& msg, const dns::Name& qname, std::uint32_t& ttl) const noexcept {
    for (const dns::Record& r : msg.authorities()) {
      if (r.type != dns::Type::SOA || r.klass != dns::class_in) continue;
      dns::Name owner;
      if (detail::name_into(r.owner, owner) != Errc::ok || !qname.is_subdomain_of(owner)) continue;
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

  // One query with failover, as glibc's res_send: `attempts` rounds over every server (rotated
  // under `options rotate`), each try waiting try_timeout(server index) but never past the
  // deadline. On success `reply` is the parsed view over `buf` of a reply that matches the question
  // and has a usable rcode (NOERROR or NXDOMAIN).
  Errc exchange(const dns::Name& qname, dns::Type type, std::uint8_t* buf, std::size_t cap, Lookup& ctx,
                Result<dns::Message>& reply, std::uint32_t& packets) noexcept {
    const std::size_t n = conf_.nameservers.size();
    if (n == 0) return Errc::no_nameservers;
    std::uint8_t query[dns::max_name_wire + 64];
    std::uint8_t plain[dns::max_name_wire + 64];  // the same query without OPT, built on first need
    std::size_t plain_len = 0;
    dns::Name wire_name = qname;
    std::uint16_t id;
    std::size_t start = 0;
    {
      std::lock_guard<std::mutex> guard(mu_);
      reseed_after_fork_locked();
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
    x.reply = buf;
    x.reply_capacity = cap;
    x.accept = &detail::reply_matches;
    x.accept_ctx = &match;

    std::uint8_t no_edns = 0;  // bit i: server (start + i) % n answered FORMERR to EDNS
    bool any_reply = false, all_refused = true;
    Errc last = Errc::timeout, last_rcode = Errc::ok;
    for (unsigned attempt = 0; attempt < conf_.attempts; ++attempt) {
      for (std::size_t i = 0; i < n; ++i) {
        const std::size_t server = (start + i) % n;
        x.server = conf_.nameservers[server];
        bool plain_query = (no_edns >> (i & 7) & 1) != 0;
        Result<std::size_t> r = Errc::timeout;
        for (int step = 0;; ++step) {  // the query; after FORMERR to EDNS, once more without OPT
          x.query = plain_query ? plain : query;
          x.query_size = plain_query ? plain_len : qlen;
          if (Errc e = send(x, server, ctx, conf_.use_vc, r, packets); e != Errc::ok) return e;
          if (r.ok() && !conf_.use_vc && truncated(buf, r.value())) {
            // RFC 7766 §5 / RFC 2181 §9: never use a TC answer; ask the same server over TCP.
            tcp_fallbacks_.fetch_add(1, std::memory_order_relaxed);
            if (Errc e = send(x, server, ctx, true, r, packets); e != Errc::ok) return e;
          }
          // RFC 6891 §7: a FORMERR to a query with OPT may come from a server that does not know
          // EDNS; ask it once more without OPT (its reply may carry no question, see reply_matches).
          if (step == 0 && !plain_query && qo.edns_payload != 0 && r.ok() && r.value() >= dns::header_size &&
              (buf[3] & 0x0f) == static_cast<std::uint8_t>(dns::Rcode::formerr)) {
            if (plain_len == 0) {
              dns::QueryOptions without = qo;
              without.edns_payload = 0;
              if (Errc e = dns::write_query(plain, sizeof plain, id, wire_name, type, without).get(plain_len);
                  e != Errc::ok)
                return e;
            }
            no_edns = static_cast<std::uint8_t>(no_edns | 1u << (i & 7));
            plain_query = true;
            continue;
          }
          break;
        }
        if (!r.ok()) {
          last = r.error();
          if (last != Errc::connection_refused) all_refused = false;
          continue;
        }
        all_refused = false;
        Result<dns::Message> m = dns::Message::parse(buf, r.value());
        if (!m.ok() || m->header().tc) {  // garbage (or TC over TCP): next server
          last = m.ok() ? Errc::truncated : m.error();
          continue;
        }
        any_reply = true;
        const dns::Rcode rc = m->rcode();
        if (rc == dns::Rcode::noerror || rc == dns::Rcode::nxdomain) {
          reply = std::move(m);
          return Errc::ok;
        }
        // glibc's res_search looks at the last reply received: SERVFAIL lets it go on searching,
        // REFUSED does not. NOTIMP, FORMERR and others are reported as server_failure.
        last_rcode = rc == dns::Rcode::refused ? Errc::refused : Errc::server_failure;
      }
    }
    if (any_reply) return last_rcode;
    if (all_refused) return Errc::connection_refused;
    return last == Errc::connection_refused ? Errc::timeout : last;
  }

  // One packet to conf_.nameservers[server] (UDP, or TCP when `tcp`) into `r`, unless the
  // deadline or the packet budget forbids it: then that error. The wait is the server's try
  // timeout, cut to what is left before the deadline.
  Errc send(Exchange& x, std::size_t server, Lookup& ctx, bool tcp, Result<std::size_t>& r,
            std::uint32_t& packets) noexcept {
    std::chrono::milliseconds wait = try_timeout(server);
    if (ctx.deadline != TimePoint::max()) {
      const TimePoint now = clock_.now();
      if (now >= ctx.deadline) return Errc::deadline_exceeded;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(ctx.deadline - now);
      if (left.count() <= 0) return Errc::deadline_exceeded;
      if (left < wait) wait = left;
    }
    if (ctx.packets_left == 0) return Errc::capacity_exceeded;
    --ctx.packets_left;
    x.timeout = wait;
    unsigned copies = 0;
    const bool adaptive = opts_.adaptive_retransmit && !tcp && server < max_servers;
    x.retransmit_after = std::chrono::milliseconds(0);
    x.max_retransmits = 0;
    x.retransmitted = nullptr;
    if (adaptive) {
      const unsigned most = retransmits_within(wait);
      x.max_retransmits = most < ctx.packets_left ? most : ctx.packets_left;  // the budget holds copies too
      x.retransmit_after = x.max_retransmits > 0 ? retransmit_after(server, wait) : std::chrono::milliseconds(0);
      x.retransmitted = &copies;
    }
    const TimePoint sent_at = adaptive ? clock_.now() : TimePoint{};
    r = tcp ? transport_.tcp(x) : transport_.udp(x);
    // Exchange's contract caps the copies; the cap keeps packets_left from wrapping should a
    // transport break it.
    if (copies > x.max_retransmits) copies = x.max_retransmits;
    ctx.packets_left -= copies;
    packets += 1 + copies;
    packets_.fetch_add(1 + copies, std::memory_order_relaxed);
    if (adaptive) observe_rtt(server, r.ok(), copies, clock_.now() - sent_at);
    if (!r.ok() && ctx.deadline != TimePoint::max() && clock_.now() >= ctx.deadline) return Errc::deadline_exceeded;
    return Errc::ok;
  }

  // The first copy's delay for a try of `wait` at `server`: its RTO, at least min_rto; 0 (no copy)
  // when that is not inside the wait. Rounded up to whole milliseconds.
  std::chrono::milliseconds retransmit_after(std::size_t server, std::chrono::milliseconds wait) noexcept {
    std::chrono::microseconds rto;
    {
      std::lock_guard<std::mutex> lock(mu_);
      rto = rtt_[server].rto.count() > 0 ? rtt_[server].rto : opts_.initial_rto;
    }
    auto after = std::chrono::ceil<std::chrono::milliseconds>(rto);
    if (after < opts_.min_rto) after = opts_.min_rto;
    return after < wait ? after : std::chrono::milliseconds(0);
  }

  // RFC 6298 §2-3 after one UDP exchange with `server` that took `elapsed` (the resolver's clock,
  // from before the first datagram to the return) and sent `copies` extra datagrams.
  void observe_rtt(std::size_t server, bool answered, unsigned copies, Duration elapsed) noexcept {
    using us = std::chrono::microseconds;
    constexpr us max_rto = std::chrono::seconds(60);  // RFC 6298 §2.5
    std::lock_guard<std::mutex> lock(mu_);
    RttEstimate& e = rtt_[server];
    if (copies > 0) {
      // Karn (RFC 6298 §3): the reply may answer any copy, so no sample; keep the backed-off RTO
      // (§5.5) for the next exchange until a clean sample replaces it.
      us base = e.rto.count() > 0 ? e.rto : us(opts_.initial_rto);
      if (base < us(opts_.min_rto)) base = opts_.min_rto;  // the RTO in use was at least min_rto
      e.rto = base * 2 < max_rto ? base * 2 : max_rto;
      return;
    }
    if (!answered) return;  // no copy was due inside the wait: nothing learnt
    const us r = std::chrono::duration_cast<us>(elapsed);
    if (!e.sampled) {  // §2.2
      e.srtt = r;
      e.rttvar = r / 2;
      e.sampled = true;
    } else {  // §2.3, beta = 1/4 then alpha = 1/8; RTTVAR uses the SRTT before this update
      const us diff = e.srtt > r ? e.srtt - r : r - e.srtt;
      e.rttvar = (3 * e.rttvar + diff) / 4;
      e.srtt = (7 * e.srtt + r) / 8;
    }
    // §2.2/2.3: RTO = SRTT + max(G, K * RTTVAR), K = 4; G (the clock's granularity) is below
    // min_rto, which retransmit_after() applies.
    e.rto = e.srtt + 4 * e.rttvar;
    if (e.rto > max_rto) e.rto = max_rto;
  }

  // mu_ held. A forked child inherits rng_'s state: without a reseed it would send its parent's
  // IDs and 0x20 patterns. The transport's process_tag() (when it has one) changes across fork().
  void reseed_after_fork_locked() noexcept {
    if constexpr (detail::has_process_tag_v<Transport>) {
      const std::uint64_t tag = transport_.process_tag();
      if (tag != process_tag_) {
        process_tag_ = tag;
        rng_.reseed(detail::fresh_seed() ^ tag);
      }
    }
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

  // Guards rng_, rotate_next_, process_tag_, cache_, in_flight_, workspaces_[].used, released_,
  // rtt_; the only writer of cache_hits_/misses_.
  std::mutex mu_;
  std::condition_variable cv_;  // an in-flight result is done, or a workspace was released
  Rng rng_;
  std::size_t rotate_next_ = 0;
  std::uint64_t process_tag_ = 0;
  std::uint64_t released_ = 0;  // workspaces released so far: waiters for one watch it change
  Cache<N, CacheCapacity> cache_;
  InFlight in_flight_[max_in_flight];
  Workspace workspaces_[Workspaces];
  RttEstimate rtt_[max_servers];  // by index in conf_.nameservers; used with adaptive_retransmit

  std::atomic<std::uint64_t> packets_{0};
  std::atomic<std::uint64_t> tcp_fallbacks_{0};
  std::atomic<std::uint64_t> cache_hits_{0};
  std::atomic<std::uint64_t> cache_misses_{0};
  std::atomic<std::uint64_t> stale_served_{0};
  std::atomic<std::uint64_t> coalesced_{0};
};

}  // namespace svcres
