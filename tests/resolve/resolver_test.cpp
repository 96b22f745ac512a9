// Resolver and EndpointResolver against a scripted transport and a ManualClock: every TTL, negative
// caching, stale window and jitter decision is driven by hand.
#include <algorithm>
#include <atomic>
#include <memory>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "scripted_transport.hpp"
#include "svcres/resolve/endpoint_resolver.hpp"
#include "svcres/resolve/resolver.hpp"
#include "test.hpp"

using namespace std::chrono_literals;
using svcres::Errc;
using svcres::IpAddress;
using svcres::ManualClock;
using svcres::dns::Type;
using svcres_test::Behaviour;
using svcres_test::ScriptedTransport;

namespace {
using R = svcres::Resolver<ScriptedTransport, ManualClock>;

svcres::ResolvConf conf(std::initializer_list<const char*> servers, const char* search = nullptr) {
  svcres::ResolvConf c;
  for (const char* s : servers) REQUIRE(c.add_nameserver(s).ok());
  if (search) {
    std::string_view rest(search);
    while (!rest.empty()) {
      auto sp = rest.find(' ');
      REQUIRE(c.add_search(rest.substr(0, sp)).ok());
      rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
    }
  }
  c.timeout = 100ms;
  return c;
}

ScriptedTransport cloud_map() {
  ScriptedTransport t;
  auto& z = t.s->zone;
  z.service("user-service.local", 3, 8080, 2);
  z.service("batch-worker.local", 40, 9000, 4);
  z.a("api-service.local", "127.0.1.10", 10);
  z.a("api-service.local", "127.0.1.11", 10);
  z.cname("users.local", "user-service.local");
  z.cname("loop-a.local", "loop-b.local");
  z.cname("loop-b.local", "loop-a.local");
  z.a("short.local", "127.0.6.10", 7);
  return t;
}

std::set<std::string> texts(const svcres::FixedVector<svcres::Endpoint, 64>& eps) {
  std::set<std::string> out;
  for (const auto& e : eps) out.insert(std::string(to_text(e).view()));
  return out;
}
}  // namespace

TEST_CASE("SRV with additional records takes addresses from them: one packet", "[resolver]") {
  auto t = cloud_map();
  R r(conf({"127.0.0.1:15399"}), {}, t);
  auto a = r.resolve("user-service.local", Type::SRV);
  REQUIRE(a.ok());
  CHECK(a.packets == 1);
  CHECK(texts(a.endpoints) == std::set<std::string>{"127.0.2.10:8080", "127.0.2.11:8080", "127.0.2.12:8080"});
  CHECK(a.endpoints[0].priority == 1);
  CHECK(a.endpoints[0].weight == 1);
  CHECK(a.ttl == 60);
  CHECK(a.authoritative);
}

TEST_CASE("SRV without additional records queries each target", "[resolver]") {
  auto t = cloud_map();
  t.s->zone.additional = false;
  R r(conf({"127.0.0.1:15399"}), {}, t);
  auto a = r.resolve("user-service.local.", Type::SRV);
  REQUIRE(a.ok());
  CHECK(a.packets == 4);
  CHECK(a.endpoints.size() == 3);
  // The targets' A answers are now cached: a forced refresh of the SRV name costs one packet.
  svcres::LookupFlags f;
  f.bypass_cache = true;
  CHECK(r.resolve("user-service.local.", Type::SRV, f).packets == 1);
}

TEST_CASE("CNAME chains are followed, loops stop", "[resolver]") {
  auto t = cloud_map();
  R r(conf({"127.0.0.1:15399"}), {}, t);
  auto a = r.resolve("users.local", Type::SRV);
  REQUIRE(a.ok());
  CHECK(a.endpoints.size() == 3);
  auto loop = r.resolve("loop-a.local", Type::A);
  CHECK(loop.error == Errc::cname_loop);
}

TEST_CASE("NXDOMAIN with SOA is cached for min(SOA TTL, MINIMUM)", "[resolver][negative]") {
  auto t = cloud_map();
  t.s->zone.soa_ttl = 900;
  t.s->zone.soa_minimum = 30;
  R r(conf({"127.0.0.1:15399"}), {}, t);
  auto a = r.resolve("missing.local", Type::SRV);
  CHECK(a.error == Errc::nxdomain);
  CHECK(a.authoritative_empty());
  CHECK(a.ttl == 30);
  CHECK(r.resolve("missing.local", Type::SRV).packets == 0);
  r.clock().advance(29s);
  CHECK(r.resolve("missing.local", Type::SRV).from_cache);
  r.clock().advance(2s);
  auto again = r.resolve("missing.local", Type::SRV);
  CHECK_FALSE(again.from_cache);
  CHECK(again.packets == 1);
  // SOA TTL below MINIMUM wins too (RFC 2308 §5: the minimum of the two).
  t.s->zone.soa_ttl = 12;
  r.clock().advance(31s);
  CHECK(r.resolve("missing.local", Type::SRV).ttl == 12);
}

TEST_CASE("a negative answer without SOA gets the short default", "[resolver][negative]") {
  auto t = cloud_map();
  t.s->zone.with_soa = false;
  svcres::ResolverOptions o;
  o.negative_ttl_no_soa = 4;
  R r(conf({"127.0.0.1:15399"}), o, t);
  auto a = r.resolve("api-service.local", Type::SRV);
  CHECK(a.error == Errc::nodata);
  CHECK(a.ttl == 4);
  r.clock().advance(5s);
  CHECK(r.resolve("api-service.local", Type::SRV).packets == 1);
}

TEST_CASE("positive TTL is the smallest of the records used, capped", "[resolver][cache]") {
  auto t = cloud_map();
  t.s->zone.a("mixed.local", "127.0.9.1", 300);
  t.s->zone.a("mixed.local", "127.0.9.2", 20);
  svcres::ResolverOptions o;
  o.max_ttl = 3600;
  R r(conf({"127.0.0.1:15399"}), o, t);
  CHECK(r.resolve("mixed.local", Type::A).ttl == 20);
  t.s->zone.a("long.local", "127.0.9.3", 86400);
  o.max_ttl = 100;
  R capped(conf({"127.0.0.1:15399"}), o, t);
  CHECK(capped.resolve("long.local", Type::A).ttl == 100);
  r.clock().advance(19s);
  CHECK(r.resolve("mixed.local", Type::A).ttl == 1);
  r.clock().advance(1s);
  CHECK(r.resolve("mixed.local", Type::A).packets == 1);
}

TEST_CASE("TC over UDP retries the same server over TCP and is never cached", "[resolver][tcp]") {
  auto t = cloud_map();
  R r(conf({"127.0.0.1:15399"}), {}, t);
  auto a = r.resolve("batch-worker.local", Type::SRV);
  REQUIRE(a.ok());
  CHECK(a.endpoints.size() == 40);
  CHECK(t.s->tcp_calls.size() == 1);
  CHECK(r.stats().tcp_fallbacks == 1);
  // dnsmasq style: TC with a partial answer is also discarded.
  auto d = cloud_map();
  d.s->zone.truncate_partial = true;
  R rd(conf({"127.0.0.1:15399"}), {}, d);
  auto b = rd.resolve("batch-worker.local", Type::SRV);
  REQUIRE(b.ok());
  CHECK(b.endpoints.size() == 40);
}

TEST_CASE("failover: closed, silent, SERVFAIL and garbage servers are skipped", "[resolver][failover]") {
  auto t = cloud_map();
  t.s->behaviour[1] = Behaviour::refused;
  t.s->behaviour[2] = Behaviour::timeout;
  t.s->behaviour[3] = Behaviour::servfail;
  t.s->behaviour[4] = Behaviour::garbage;
  R r(conf({"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3", "127.0.0.1:4", "127.0.0.1:5"}), {}, t);
  auto a = r.resolve("user-service.local", Type::SRV);
  REQUIRE(a.ok());
  CHECK(a.packets == 5);
  CHECK(t.s->udp_calls == std::vector<std::uint16_t>{1, 2, 3, 4, 5});
}

TEST_CASE("all servers failing: attempts rounds, then the error", "[resolver][failover]") {
  auto t = cloud_map();
  t.s->behaviour[1] = Behaviour::servfail;
  t.s->behaviour[2] = Behaviour::timeout;
  auto c = conf({"127.0.0.1:1", "127.0.0.1:2"});
  c.attempts = 3;
  R r(c, {}, t);
  auto a = r.resolve("user-service.local", Type::SRV);
  CHECK(a.error == Errc::server_failure);
  CHECK(a.packets == 6);
  // glibc's res_send: server i waits (timeout << i) / nameservers for i > 0, every round (a
  // timeout with a millisecond part is divided in milliseconds).
  using ms = std::chrono::milliseconds;
  CHECK(t.s->udp_timeouts == std::vector<ms>{ms(100), ms(100), ms(100), ms(100), ms(100), ms(100)});
}

TEST_CASE("per-try timeouts follow glibc's res_send: by server index, whole seconds, not by round",
          "[resolver][failover]") {
  using ms = std::chrono::milliseconds;
  auto t = cloud_map();
  for (std::uint16_t p = 1; p <= 3; ++p) t.s->behaviour[p] = Behaviour::timeout;
  auto c = conf({"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"});
  c.timeout = 2000ms;  // options timeout:2 attempts:2: glibc waits 2, 1, 2, 2, 1, 2 s
  c.attempts = 2;
  R r(c, {}, t);
  CHECK(r.resolve("api-service.local", Type::A).error == Errc::timeout);
  CHECK(t.s->udp_timeouts == std::vector<ms>{ms(2000), ms(1000), ms(2000), ms(2000), ms(1000), ms(2000)});
  // timeout:3, attempts:7 set in code: 3 s, 6/3 = 2 s, 12/3 = 4 s in every round.
  t.s->udp_timeouts.clear();
  c.timeout = 3000ms;
  c.attempts = 7;
  R r7(c, {}, t);
  CHECK(r7.resolve("api-service.local", Type::A).error == Errc::timeout);
  const std::vector<ms> per_server = {ms(3000), ms(2000), ms(4000)};
  REQUIRE(t.s->udp_timeouts.size() == 21);
  for (std::size_t i = 0; i < 21; ++i) CHECK(t.s->udp_timeouts[i] == per_server[i % 3]);
  // One server, timeout:1 attempts:3 (glibc: +0/+1/+2 s, 3 s in all) and the Debian defaults.
  auto one = conf({"127.0.0.1:1"});
  one.timeout = 1000ms;
  CHECK(R(one, {}, t).try_timeout(0) == ms(1000));
  one.timeout = 5000ms;
  CHECK(R(one, {}, t).try_timeout(0) == ms(5000));
  // Four servers (code may add more than glibc's 3): 2 s << 1 / 4 = 1 s; 1 s << 1 / 4 rounds up to 1 s.
  auto four = conf({"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3", "127.0.0.1:4"});
  four.timeout = 2000ms;
  CHECK(R(four, {}, t).try_timeout(1) == ms(1000));
  CHECK(R(four, {}, t).try_timeout(3) == ms(4000));
  four.timeout = 1000ms;
  CHECK(R(four, {}, t).try_timeout(1) == ms(1000));
}

TEST_CASE("rotate spreads the first server", "[resolver][failover]") {
  auto t = cloud_map();
  auto c = conf({"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"});
  c.rotate = true;
  svcres::ResolverOptions o;
  o.cache = false;
  R r(c, o, t);
  for (int i = 0; i < 3; ++i) REQUIRE(r.resolve("api-service.local", Type::A).ok());
  std::set<std::uint16_t> firsts(t.s->udp_calls.begin(), t.s->udp_calls.end());
  CHECK(firsts.size() == 3);
}

TEST_CASE("a spoofed reply with a wrong ID is ignored", "[resolver][security]") {
  auto t = cloud_map();
  t.s->behaviour[1] = Behaviour::spoof_then_answer;
  R r(conf({"127.0.0.1:1"}), {}, t);
  auto a = r.resolve("user-service.local", Type::SRV);
  REQUIRE(a.ok());
  CHECK(a.endpoints.size() == 3);
}

TEST_CASE("0x20: the echoed question must keep the random case", "[resolver][security]") {
  auto t = cloud_map();
  svcres::ResolverOptions o;
  o.use_0x20 = true;
  R r(conf({"127.0.0.1:1"}), o, t);
  REQUIRE(r.resolve("user-service.local", Type::SRV).ok());  // MiniZone echoes the case it got
  svcres::detail::ReplyMatch m{0x1234, nullptr, Type::A, true};
  svcres::dns::Name sent = svcres_test::name("AbC.local.");
  m.qname = &sent;
  std::uint8_t q[300];
  auto n = svcres::dns::write_query(q, sizeof q, 0x1234, svcres_test::name("abc.local."), Type::A, {});
  REQUIRE(n.ok());
  q[2] |= 0x80;
  CHECK_FALSE(svcres::detail::reply_matches(&m, q, *n));
  m.exact_case = false;
  CHECK(svcres::detail::reply_matches(&m, q, *n));
}

TEST_CASE("search list and ndots", "[resolver][search]") {
  auto t = cloud_map();
  R r(conf({"127.0.0.1:1"}, "corp.test local"), {}, t);
  // "user-service" has 0 dots < ndots 1: search first; corp.test is outside the zone (no SOA), then local.
  auto a = r.resolve("user-service", Type::SRV);
  REQUIRE(a.ok());
  CHECK(std::string(a.name.to_text().view()) == "user-service.local.");
  CHECK(a.packets == 2);
  // With a dot it is tried as is first.
  auto b = r.resolve("user-service.local", Type::SRV);
  CHECK(std::string(b.name.to_text().view()) == "user-service.local.");
  // Absolute: no search at all.
  auto c = r.resolve("user-service.", Type::SRV);
  CHECK(c.error != Errc::ok);
  auto bad = r.resolve("a..b", Type::A);
  CHECK(bad.error == Errc::bad_name_text);
}

TEST_CASE("serve-stale: every server down returns the last answer flagged stale, for a bounded window",
          "[resolver][stale]") {
  auto t = cloud_map();
  svcres::ResolverOptions o;
  o.stale_window = 60s;
  R r(conf({"127.0.0.1:1"}), o, t);
  REQUIRE(r.resolve("user-service.local", Type::SRV).ok());
  t.s->behaviour[1] = Behaviour::timeout;
  r.clock().advance(61s);  // TTL 60 passed
  auto a = r.resolve("user-service.local", Type::SRV);
  REQUIRE(a.ok());
  CHECK(a.stale);
  CHECK(a.endpoints.size() == 3);
  CHECK(a.ttl == 30);
  CHECK(r.stats().stale_served == 1);
  r.clock().advance(60s);  // past the window
  auto gone = r.resolve("user-service.local", Type::SRV);
  CHECK(gone.error == Errc::timeout);
  svcres::LookupFlags no_stale;
  no_stale.allow_stale = false;
  r.clock().set(r.clock().now() - 59s);
  CHECK(r.resolve("user-service.local", Type::SRV, no_stale).error == Errc::timeout);
}

TEST_CASE("identical concurrent lookups send one query", "[resolver][coalesce]") {
  auto t = cloud_map();
  t.s->on_call = [] { std::this_thread::sleep_for(100ms); };
  R r(conf({"127.0.0.1:1"}), {}, t);
  std::atomic<int> ok{0};
  std::thread th[4];
  for (auto& x : th)
    x = std::thread([&] {
      if (r.resolve("api-service.local", Type::A).endpoints.size() == 2) ++ok;
    });
  for (auto& x : th) x.join();
  CHECK(ok == 4);
  CHECK(t.s->udp_calls.size() == 1);
  CHECK(r.stats().coalesced + r.stats().cache_hits == 3);
}

// ---- EndpointResolver

namespace {
using ER = svcres::EndpointResolver<R>;
}

TEST_CASE("EndpointResolver: SRV service, then cached until the jittered refresh time", "[endpoint_resolver]") {
  auto t = cloud_map();
  R r(conf({"127.0.0.1:1"}), {}, t);
  svcres::EndpointResolverOptions o;
  o.refresh_fraction = 0.75;
  o.refresh_jitter = 0.15;
  ER er(r, o);
  er.seed(7);
  auto s = er.get("user-service.local", 1);
  REQUIRE(s.error == Errc::ok);
  CHECK(s.from_srv);
  CHECK(s.endpoints.size() == 3);
  CHECK(s.endpoints[0].port == 8080);
  CHECK(s.packets == 1);
  const auto delay = s.refresh_at - r.clock().now();
  CHECK(delay >= 45s);  // 0.75 * 60
  CHECK(delay <= 54s);  // 0.90 * 60
  CHECK(s.expires - r.clock().now() == 60s);
  CHECK(er.get("user-service.local", 1).packets == 0);
  r.clock().advance(delay);
  auto again = er.get("user-service.local", 1);
  CHECK(again.packets == 1);  // refreshed ahead of the 60 s expiry
  CHECK(again.generation == s.generation);  // same tasks
  CHECK(er.total_packets() == 2);
}

TEST_CASE("EndpointResolver: jitter spreads refresh times", "[endpoint_resolver]") {
  auto t = cloud_map();
  R r(conf({"127.0.0.1:1"}), {}, t);
  ER er(r);
  std::set<long long> delays;
  for (int i = 0; i < 20; ++i) {
    auto s = er.refresh("user-service.local", 1);
    delays.insert(std::chrono::duration_cast<std::chrono::milliseconds>(s.refresh_at - r.clock().now()).count());
  }
  CHECK(delays.size() > 10);
  CHECK(*delays.begin() >= 45000);
  CHECK(*delays.rbegin() <= 54000);
}

TEST_CASE("EndpointResolver: A-only service takes the caller's port", "[endpoint_resolver]") {
  auto t = cloud_map();
  R r(conf({"127.0.0.1:1"}), {}, t);
  ER er(r);
  auto s = er.get("api-service.local", 8443);
  REQUIRE(s.error == Errc::ok);
  CHECK_FALSE(s.from_srv);
  CHECK(texts(s.endpoints) == std::set<std::string>{"127.0.1.10:8443", "127.0.1.11:8443"});
  CHECK(s.packets == 2);  // SRV (NODATA) then A
  CHECK(s.ttl == 10);
}

TEST_CASE("EndpointResolver: failure keeps the set (stale), only NXDOMAIN empties it", "[endpoint_resolver][stale]") {
  auto t = cloud_map();
  svcres::ResolverOptions ro;
  ro.stale_window = 120s;
  R r(conf({"127.0.0.1:1"}), ro, t);
  ER er(r);
  auto good = er.get("user-service.local", 1);
  REQUIRE(good.endpoints.size() == 3);
  t.s->behaviour[1] = Behaviour::timeout;
  r.clock().advance(55s);  // refresh due, not yet expired
  auto early = er.get("user-service.local", 1);
  CHECK(early.error == Errc::ok);
  CHECK_FALSE(early.stale);
  CHECK(early.endpoints.size() == 3);
  r.clock().advance(10s);  // expired, inside the stale window
  auto stale = er.get("user-service.local", 1);
  CHECK(stale.error == Errc::ok);
  CHECK(stale.stale);
  CHECK(stale.endpoints.size() == 3);
  r.clock().advance(200s);  // past the window: an error, but the set is still not emptied
  auto late = er.get("user-service.local", 1);
  CHECK(late.error == Errc::timeout);
  CHECK(late.endpoints.size() == 3);
  CHECK_FALSE(late.authoritative_empty);
  // The service is deregistered: NXDOMAIN empties the set.
  t.s->behaviour[1] = Behaviour::answer;
  t.s->zone.records.erase(std::remove_if(t.s->zone.records.begin(), t.s->zone.records.end(),
                                         [](const svcres_test::ZoneRecord& z) {
                                           return z.owner.is_subdomain_of(svcres_test::name("user-service.local."));
                                         }),
                          t.s->zone.records.end());
  auto empty = er.refresh("user-service.local", 1);
  CHECK(empty.error == Errc::nxdomain);
  CHECK(empty.authoritative_empty);
  CHECK(empty.endpoints.empty());
  CHECK(empty.generation != late.generation);
}

TEST_CASE("EndpointResolver merge mode learns all 40 tasks from 8-record answers", "[endpoint_resolver][merge]") {
  auto t = cloud_map();
  t.s->zone.max_answers = 8;
  R r(conf({"127.0.0.1:1"}), {}, t);
  svcres::EndpointResolverOptions o;
  o.merge = svcres::MergeMode::union_of_refreshes;
  o.merge_keep_refreshes = 1000;
  ER er(r, o);
  std::size_t n = 0;
  int refreshes = 0;
  for (; refreshes < 200 && n < 40; ++refreshes) n = er.refresh("batch-worker.local", 1).endpoints.size();
  CHECK(n == 40);
  INFO("refreshes " << refreshes);
  // Replace mode never holds more than one answer's worth.
  ER plain(r);
  CHECK(plain.refresh("batch-worker.local", 1).endpoints.size() == 8);
}

TEST_CASE("EndpointResolver merge mode ages out tasks not seen for N refreshes", "[endpoint_resolver][merge]") {
  auto t = cloud_map();
  R r(conf({"127.0.0.1:1"}), {}, t);
  svcres::EndpointResolverOptions o;
  o.merge = svcres::MergeMode::union_of_refreshes;
  o.merge_keep_refreshes = 3;
  ER er(r, o);
  REQUIRE(er.refresh("user-service.local", 1).endpoints.size() == 3);
  // Task 0 goes away.
  auto& recs = t.s->zone.records;
  recs.erase(std::remove_if(recs.begin(), recs.end(),
                            [](const svcres_test::ZoneRecord& z) {
                              return z.type == Type::SRV && z.target == svcres_test::name("task0.user-service.local.");
                            }),
             recs.end());
  CHECK(er.refresh("user-service.local", 1).endpoints.size() == 3);  // missed 1
  CHECK(er.refresh("user-service.local", 1).endpoints.size() == 3);  // missed 2
  CHECK(er.refresh("user-service.local", 1).endpoints.size() == 2);  // missed 3: dropped
  // Ageing by time as well.
  svcres::EndpointResolverOptions by_time = o;
  by_time.merge_keep_refreshes = 1000;
  by_time.merge_keep_for = 30s;
  ER er2(r, by_time);
  t.s->zone.service("user-service.local", 1, 8080, 2);  // task0 back
  REQUIRE(er2.refresh("user-service.local", 1).endpoints.size() == 3);
  recs.erase(std::remove_if(recs.begin(), recs.end(),
                            [](const svcres_test::ZoneRecord& z) {
                              return z.type == Type::SRV && z.target == svcres_test::name("task0.user-service.local.");
                            }),
             recs.end());
  r.clock().advance(31s);
  CHECK(er2.refresh("user-service.local", 1).endpoints.size() == 2);
}

TEST_CASE("cache keys compare names case-insensitively, letters only", "[resolver][cache]") {
  svcres::Cache<4, 8> cache;
  svcres::Answer<4> a;
  a.error = Errc::ok;
  a.ttl = 60;
  REQUIRE(a.endpoints.push_back(svcres::Endpoint{IpAddress::v4(127, 0, 1, 1), 80, 0, 0}));
  const svcres::TimePoint now{};
  auto name = [](const char* text) { return svcres::dns::Name::from_text(text).value(); };
  cache.put(name("user-service.local."), Type::SRV, a, now);
  cache.put(name("a@b.long-enough-name.local."), Type::A, a, now);
  svcres::Answer<4> out;
  CHECK(cache.get(name("user-service.local."), Type::SRV, now, out));
  CHECK(cache.get(name("USER-Service.LOCAL."), Type::SRV, now, out));  // RFC 1035 §2.3.3
  CHECK(out.endpoints.size() == 1);
  CHECK_FALSE(cache.get(name("user-service.local."), Type::A, now, out));
  CHECK_FALSE(cache.get(name("user-servicf.local."), Type::SRV, now, out));
  CHECK_FALSE(cache.get(name("user-service.locals."), Type::SRV, now, out));
  // '@' and '`' differ by 0x20 like a letter pair, so they hash alike, but they are different bytes.
  CHECK(cache.get(name("A@B.LONG-enough-name.local."), Type::A, now, out));
  CHECK_FALSE(cache.get(name("a`b.long-enough-name.local."), Type::A, now, out));
  // Short names (under 8 wire bytes) take the byte-by-byte path.
  cache.put(name("ab."), Type::A, a, now);
  CHECK(cache.get(name("AB."), Type::A, now, out));
  CHECK_FALSE(cache.get(name("a."), Type::A, now, out));
}

// ---- Bounded work: CNAME re-queries, the packet budget, the deadline

TEST_CASE("CNAME to a target the server answers empty without SOA: the target is asked once", "[resolver][cname]") {
  auto t = cloud_map();
  // A forwarder-like server: no SOA in empty answers. alias -> v4only, which has only an A record.
  t.s->zone.with_soa = false;
  t.s->zone.cname("alias.local", "v4only.local");
  t.s->zone.a("v4only.local", "127.0.8.10");
  t.s->max_calls = 1000;  // the unfixed resolver asked v4only.local without end
  svcres::ResolverOptions o;
  o.negative_ttl_no_soa = 4;
  R r(conf({"127.0.0.1:1"}), o, t);
  auto a = r.resolve("alias.local", Type::AAAA);
  CHECK(a.error == Errc::nodata);
  CHECK(a.ttl == 4);
  CHECK(a.packets == 2);
  CHECK(t.s->udp_names == std::vector<std::string>{"alias.local.", "v4only.local."});
  // A chain of two CNAMEs the server stops at each time: each new target once, nothing more.
  t.s->zone.origin = svcres_test::name("elsewhere.");  // MiniZone then stops at every CNAME
  t.s->zone.cname("hop1.local", "hop2.local");
  t.s->zone.cname("hop2.local", "v4only.local");
  t.s->udp_names.clear();
  auto b = r.resolve("hop1.local", Type::AAAA);
  CHECK(b.error == Errc::nodata);
  CHECK(t.s->udp_names == std::vector<std::string>{"hop1.local.", "hop2.local.", "v4only.local."});
}

TEST_CASE("the packet budget of one lookup is the documented bound and is enforced", "[resolver][budget]") {
  auto t = cloud_map();
  t.s->behaviour[1] = Behaviour::timeout;
  t.s->behaviour[2] = Behaviour::timeout;
  auto c = conf({"127.0.0.1:1", "127.0.0.1:2"});
  c.attempts = 3;
  svcres::ResolverOptions o;
  R r(c, o, t);
  // 3 packets a try * 3 attempts * 2 servers * (1 + max_cname 8 + 1 family * N 64)
  CHECK(r.packet_budget() == 3u * 3 * 2 * (1 + 8 + 64));
  o.families = svcres::AddressFamilies::both;
  CHECK(R(c, o, t).packet_budget() == 3u * 3 * 2 * (1 + 8 + 128));
  o.max_packets = 4;
  R capped(c, o, t);
  auto a = capped.resolve("api-service.local", Type::A);
  CHECK(a.error == Errc::capacity_exceeded);
  CHECK(a.packets == 4);
  CHECK(t.s->udp_calls.size() == 4);
  // Search candidates and SRV target lookups draw from the same budget.
  auto s = cloud_map();
  s.s->zone.additional = false;
  svcres::ResolverOptions two;
  two.max_packets = 2;  // the SRV query and one of three target queries
  R srv(conf({"127.0.0.1:1"}), two, s);
  auto b = srv.resolve("user-service.local.", Type::SRV);
  CHECK(b.error == Errc::capacity_exceeded);
  CHECK(s.s->udp_calls.size() == 2);
}

TEST_CASE("deadline: each wait is cut to the time left, nothing is sent at or after it", "[resolver][deadline]") {
  using ms = std::chrono::milliseconds;
  auto t = cloud_map();
  t.s->behaviour[1] = Behaviour::timeout;
  auto c = conf({"127.0.0.1:1"});
  c.timeout = 1000ms;
  c.attempts = 3;
  R r(c, {}, t);
  // A silent server takes the whole wait: the manual clock moves by it.
  t.s->on_exchange = [&r](const svcres::Exchange& x, Behaviour b) {
    if (b == Behaviour::timeout) r.clock().advance(x.timeout);
  };
  svcres::LookupFlags f;
  f.deadline = r.clock().now() + 1500ms;
  auto a = r.resolve("api-service.local", Type::A, f);
  CHECK(a.error == Errc::deadline_exceeded);
  CHECK(a.packets == 2);
  CHECK(t.s->udp_timeouts == std::vector<ms>{ms(1000), ms(500)});
  // Already past: no packet at all.
  t.s->udp_timeouts.clear();
  f.deadline = r.clock().now();
  auto b = r.resolve("api-service.local", Type::A, f);
  CHECK(b.error == Errc::deadline_exceeded);
  CHECK(b.packets == 0);
  CHECK(t.s->udp_timeouts.empty());
}

TEST_CASE("deadline: serve-stale may still answer when it is reached", "[resolver][deadline][stale]") {
  auto t = cloud_map();
  R r(conf({"127.0.0.1:1"}), {}, t);
  REQUIRE(r.resolve("api-service.local", Type::A).ok());
  r.clock().advance(11s);  // TTL 10 passed, inside the stale window
  svcres::LookupFlags f;
  f.deadline = r.clock().now();
  auto a = r.resolve("api-service.local", Type::A, f);
  REQUIRE(a.ok());
  CHECK(a.stale);
  CHECK(a.packets == 0);
  f.allow_stale = false;
  CHECK(r.resolve("api-service.local", Type::A, f).error == Errc::deadline_exceeded);
}

TEST_CASE("deadline: SRV target queries and search candidates share the caller's deadline", "[resolver][deadline]") {
  using ms = std::chrono::milliseconds;
  auto t = cloud_map();
  t.s->zone.additional = false;
  auto c = conf({"127.0.0.1:1"});
  c.timeout = 1000ms;
  R r(c, {}, t);
  // Every reply takes 400 ms.
  t.s->on_exchange = [&r](const svcres::Exchange&, Behaviour) { r.clock().advance(400ms); };
  svcres::LookupFlags f;
  f.deadline = r.clock().now() + 1000ms;
  auto a = r.resolve("user-service.local.", Type::SRV, f);
  // SRV at 0 ms, targets at 400 and 800 ms (that one may wait only 200 ms), none at 1200 ms.
  CHECK(a.error == Errc::deadline_exceeded);
  CHECK(a.packets == 3);
  CHECK(t.s->udp_timeouts == std::vector<ms>{ms(1000), ms(600), ms(200)});

  // Search: "foo" is tried in corp.test (silent: a timeout ends the list), then as is.
  auto s = cloud_map();
  s.s->behaviour[1] = Behaviour::timeout;
  auto sc = conf({"127.0.0.1:1"}, "corp.test local");
  sc.attempts = 1;
  R rs(sc, {}, s);
  s.s->on_exchange = [&rs](const svcres::Exchange& x, Behaviour) { rs.clock().advance(x.timeout); };
  svcres::LookupFlags g;
  g.deadline = rs.clock().now() + 150ms;  // conf() sets timeout 100 ms
  auto b = rs.resolve("foo", Type::A, g);
  CHECK(b.error == Errc::deadline_exceeded);
  CHECK(s.s->udp_names == std::vector<std::string>{"foo.corp.test.", "foo."});
  CHECK(s.s->udp_timeouts == std::vector<ms>{ms(100), ms(50)});
}

TEST_CASE("deadline: a lookup waiting for an identical one in flight gives up at its deadline",
          "[resolver][deadline][coalesce]") {
  auto t = cloud_map();
  std::atomic<bool> release{false};
  std::atomic<bool> sent{false};
  t.s->on_call = [&] {
    sent = true;
    while (!release) std::this_thread::sleep_for(1ms);
  };
  svcres::Resolver<ScriptedTransport, svcres::SteadyClock> r(conf({"127.0.0.1:1"}), {}, t);
  std::thread slow([&] { CHECK(r.resolve("api-service.local", Type::A).ok()); });
  while (!sent) std::this_thread::sleep_for(1ms);
  svcres::LookupFlags f;
  f.deadline = svcres::SteadyClock{}.now() + 50ms;
  auto a = r.resolve("api-service.local", Type::A, f);
  CHECK(a.error == Errc::deadline_exceeded);
  CHECK(a.packets == 0);
  release = true;
  slow.join();
  CHECK(t.s->udp_calls.size() == 1);
}

// ---- Cache, negative TTLs, EDNS fallback, rotate

TEST_CASE("a TTL 0 refresh erases the older entry: serve-stale cannot hand it back", "[resolver][cache][stale]") {
  auto t = cloud_map();
  R r(conf({"127.0.0.1:1"}), {}, t);
  REQUIRE(r.resolve("api-service.local", Type::A).ttl == 10);
  for (auto& z : t.s->zone.records) z.ttl = 0;
  svcres::LookupFlags refresh;
  refresh.bypass_cache = true;
  auto zero = r.resolve("api-service.local", Type::A, refresh);
  REQUIRE(zero.ok());
  CHECK(zero.ttl == 0);
  t.s->behaviour[1] = Behaviour::timeout;
  r.clock().advance(11s);
  auto after = r.resolve("api-service.local", Type::A);
  CHECK(after.error == Errc::timeout);
  CHECK_FALSE(after.stale);

  // NXDOMAIN with SOA MINIMUM 0 does the same.
  auto u = cloud_map();
  u.s->zone.soa_minimum = 0;
  R r2(conf({"127.0.0.1:1"}), {}, u);
  REQUIRE(r2.resolve("short.local", Type::A).ok());
  u.s->zone.records.erase(std::remove_if(u.s->zone.records.begin(), u.s->zone.records.end(),
                                         [](const svcres_test::ZoneRecord& z) { return z.owner == svcres_test::name("short.local."); }),
                          u.s->zone.records.end());
  auto gone = r2.resolve("short.local", Type::A, refresh);
  CHECK(gone.error == Errc::nxdomain);
  CHECK(gone.ttl == 0);
  u.s->behaviour[1] = Behaviour::timeout;
  r2.clock().advance(8s);
  CHECK(r2.resolve("short.local", Type::A).error == Errc::timeout);
}

TEST_CASE("Cache::put with TTL 0 erases the entry, stale window included", "[resolver][cache]") {
  svcres::Cache<4, 8> cache;
  svcres::Answer<4> a;
  a.error = Errc::ok;
  a.ttl = 60;
  REQUIRE(a.endpoints.push_back(svcres::Endpoint{IpAddress::v4(127, 0, 1, 1), 80, 0, 0}));
  const svcres::TimePoint now{};
  const auto n = svcres_test::name("x.local.");
  cache.put(n, Type::A, a, now);
  svcres::Answer<4> out;
  REQUIRE(cache.get(n, Type::A, now, out));
  a.ttl = 0;
  cache.put(n, Type::A, a, now + 1s);
  CHECK_FALSE(cache.get(n, Type::A, now + 1s, out));
  CHECK_FALSE(cache.get_stale(n, Type::A, now + 61s, out));
}

TEST_CASE("FORMERR to an EDNS query: the same server once more without OPT (RFC 6891 §7)", "[resolver][edns]") {
  auto t = cloud_map();
  t.s->behaviour[1] = Behaviour::formerr_on_edns;
  R r(conf({"127.0.0.1:1", "127.0.0.1:2"}), {}, t);
  auto a = r.resolve("api-service.local", Type::A);
  REQUIRE(a.ok());
  CHECK(a.packets == 2);
  CHECK(t.s->udp_calls == std::vector<std::uint16_t>{1, 1});
  CHECK(t.s->udp_edns == std::vector<bool>{true, false});
  CHECK(t.s->udp_ids[0] == t.s->udp_ids[1]);
}

TEST_CASE("a negative TTL comes only from an IN SOA owned by the name or an ancestor (RFC 2308 §5)",
          "[resolver][negative]") {
  auto t = cloud_map();
  // The server's SOA is for "elsewhere.", no ancestor of the name asked.
  t.s->zone.origin = svcres_test::name("elsewhere.");
  svcres::ResolverOptions o;
  o.negative_ttl_no_soa = 4;
  R r(conf({"127.0.0.1:1"}), o, t);
  auto a = r.resolve("api-service.local", Type::SRV);
  CHECK(a.error == Errc::nodata);
  CHECK(a.ttl == 4);
  // The zone's own SOA (local.) counts: min(900, 30).
  auto u = cloud_map();
  R r2(conf({"127.0.0.1:1"}), o, u);
  CHECK(r2.resolve("api-service.local", Type::SRV).ttl == 30);
  // The same SOA in class CH (3) does not.
  auto ch = cloud_map();
  ch.s->zone.soa_class = 3;
  R r3(conf({"127.0.0.1:1"}), o, ch);
  auto c = r3.resolve("api-service.local", Type::SRV);
  CHECK(c.error == Errc::nodata);
  CHECK(c.ttl == 4);
}

TEST_CASE("rotate: each Resolver starts at a random server, as glibc per process", "[resolver][failover]") {
  auto t = cloud_map();
  auto c = conf({"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"});
  c.rotate = true;
  std::size_t first[4] = {};
  constexpr int objects = 300;
  for (int i = 0; i < objects; ++i) {
    t.s->udp_calls.clear();
    auto r = std::make_unique<R>(c, svcres::ResolverOptions{}, t);
    REQUIRE(r->resolve("api-service.local", Type::A).ok());
    ++first[t.s->udp_calls.at(0)];
  }
  // A uniform start misses a server in 300 objects with probability 3 * (2/3)^300 < 1e-50; the
  // unfixed resolver always started at server 1.
  for (int p = 1; p <= 3; ++p) {
    INFO("server " << p << " first " << first[p] << " times of " << objects);
    CHECK(first[p] > 0);
  }
}

TEST_CASE("search goes on where glibc's res_search goes on", "[resolver][search]") {
  auto t = cloud_map();
  t.s->zone.a("x.y.local", "127.0.9.9");
  auto c = conf({"127.0.0.1:1"}, "corp.test local");
  c.attempts = 1;
  R r(c, {}, t);
  // SERVFAIL in the search list: the next domain.
  t.s->by_name["user-service.corp.test."] = Behaviour::servfail;
  auto a = r.resolve("user-service", Type::SRV);
  REQUIRE(a.ok());
  CHECK(t.s->udp_names == std::vector<std::string>{"user-service.corp.test.", "user-service.local."});
  // A timeout on the as-is-first name: the search list.
  t.s->udp_names.clear();
  t.s->by_name["x.y."] = Behaviour::timeout;
  auto b = r.resolve("x.y", Type::A);
  REQUIRE(b.ok());
  CHECK(t.s->udp_names == std::vector<std::string>{"x.y.", "x.y.corp.test.", "x.y.local."});
  // A timeout in the search list ends it; the name as is is still asked.
  t.s->udp_names.clear();
  t.s->by_name["foo.corp.test."] = Behaviour::timeout;
  auto d = r.resolve("foo", Type::A);
  CHECK_FALSE(d.ok());
  CHECK(t.s->udp_names == std::vector<std::string>{"foo.corp.test.", "foo."});
  // Every server unreachable in the search list: the search ends there.
  t.s->udp_names.clear();
  t.s->by_name["bar.corp.test."] = Behaviour::refused;
  auto e = r.resolve("bar", Type::A);
  CHECK(e.error == Errc::connection_refused);
  CHECK(t.s->udp_names == std::vector<std::string>{"bar.corp.test."});
  // Nothing resolves: the as-is-first error is reported (glibc's saved h_errno).
  t.s->udp_names.clear();
  auto f = r.resolve("missing.local", Type::A);  // as is: NXDOMAIN; then two more candidates
  CHECK(f.error == Errc::nxdomain);
  CHECK(t.s->udp_names.size() == 3);
}

TEST_CASE("many threads, few workspaces: SRV lookups with target queries all complete", "[resolver][coalesce][stress]") {
  // Two workspaces for eight threads: most lookups wait for one, target lookups coalesce with
  // each other's, and SRV lookups of the same name coalesce. Nothing may deadlock or mix answers.
  auto t = cloud_map();
  t.s->zone.additional = false;
  t.s->zone.service("order-service.local", 5, 9090, 3);
  t.s->on_call = [] { std::this_thread::sleep_for(std::chrono::microseconds(200)); };
  svcres::Resolver<ScriptedTransport, svcres::SteadyClock, 64, 64, 2> r(conf({"127.0.0.1:1"}), {}, t);
  std::atomic<int> ok{0}, bad{0};
  std::vector<std::thread> threads;
  for (int k = 0; k < 8; ++k)
    threads.emplace_back([&, k] {
      svcres::LookupFlags refresh;
      refresh.bypass_cache = true;
      for (int i = 0; i < 25; ++i) {
        const bool user = (k + i) % 3 != 0;
        auto a = r.resolve(user ? "user-service.local." : "order-service.local.", Type::SRV, (i & 1) ? refresh : svcres::LookupFlags{});
        const std::size_t want = user ? 3 : 5;
        ((a.ok() && a.endpoints.size() == want && a.endpoints[0].port == (user ? 8080 : 9090)) ? ok : bad)++;
        auto b = r.resolve("task1.user-service.local.", Type::A, refresh);
        ((b.ok() && b.endpoints.size() == 1) ? ok : bad)++;
      }
    });
  for (auto& th : threads) th.join();
  CHECK(bad == 0);
  CHECK(ok == 8 * 25 * 2);
}

TEST_CASE("deadline: a lookup waiting for a free workspace gives up at its deadline", "[resolver][deadline]") {
  auto t = cloud_map();
  std::atomic<bool> release{false};
  std::atomic<bool> sent{false};
  t.s->on_call = [&] {
    sent = true;
    while (!release) std::this_thread::sleep_for(1ms);
  };
  // One workspace, held by a slow lookup of another name.
  svcres::Resolver<ScriptedTransport, svcres::SteadyClock, 64, 64, 1> r(conf({"127.0.0.1:1"}), {}, t);
  std::thread slow([&] { CHECK(r.resolve("api-service.local", Type::A).ok()); });
  while (!sent) std::this_thread::sleep_for(1ms);
  svcres::LookupFlags f;
  f.deadline = svcres::SteadyClock{}.now() + 50ms;
  auto a = r.resolve("short.local", Type::A, f);
  CHECK(a.error == Errc::deadline_exceeded);
  CHECK(a.packets == 0);
  release = true;
  slow.join();
  CHECK(t.s->udp_calls.size() == 1);
  // With the workspace free again, the same lookup goes through.
  CHECK(r.resolve("short.local", Type::A).ok());
}

TEST_CASE("adaptive_retransmit is off by default: no copy is ever asked for", "[resolver][rtx]") {
  using ms = std::chrono::milliseconds;
  auto t = cloud_map();
  t.s->behaviour[1] = Behaviour::timeout;
  auto c = conf({"127.0.0.1:1", "127.0.0.1:2"});
  c.timeout = 1000ms;
  R r(c, {}, t);
  t.s->on_exchange = [&r](const svcres::Exchange& x, Behaviour b) {
    r.clock().advance(b == Behaviour::timeout ? x.timeout : std::chrono::milliseconds(5));
  };
  auto a = r.resolve("api-service.local", Type::A);
  REQUIRE(a.ok());
  CHECK(a.packets == 2);
  CHECK(t.s->udp_retransmit_after == std::vector<ms>{ms(0), ms(0)});
  CHECK(t.s->udp_max_retransmits == std::vector<unsigned>{0, 0});
  CHECK(!r.rtt_estimate(1).sampled);
  CHECK(r.packet_budget() == 3u * 2 * 2 * (1 + 8 + 64));
}

TEST_CASE("adaptive_retransmit: RFC 6298 estimate from each round trip, clamped to [min_rto, try)", "[resolver][rtx]") {
  using ms = std::chrono::milliseconds;
  auto t = cloud_map();
  auto c = conf({"127.0.0.1:1"});
  c.timeout = 1000ms;
  svcres::ResolverOptions o;
  o.cache = false;
  o.adaptive_retransmit = true;
  R r(c, o, t);
  ms rtt = 100ms;
  t.s->on_exchange = [&](const svcres::Exchange& x, Behaviour b) {
    r.clock().advance(b == Behaviour::timeout ? x.timeout : rtt);
  };
  using us = std::chrono::microseconds;
  REQUIRE(r.resolve("api-service.local", Type::A).ok());  // initial RTO 1 s: the whole try, no copy
  auto e = r.rtt_estimate(0);
  CHECK(e.sampled);
  CHECK(e.srtt == us(100000));  // RFC 6298 §2.2: SRTT = R, RTTVAR = R / 2, RTO = SRTT + 4 RTTVAR
  CHECK(e.rttvar == us(50000));
  CHECK(e.rto == us(300000));
  rtt = 200ms;
  REQUIRE(r.resolve("api-service.local", Type::A).ok());
  e = r.rtt_estimate(0);
  CHECK(e.rttvar == us(62500));  // §2.3: 3/4 * 50 + 1/4 * |100 - 200|
  CHECK(e.srtt == us(112500));   // 7/8 * 100 + 1/8 * 200
  CHECK(e.rto == us(362500));
  // The try's copy delay is the RTO in whole milliseconds rounded up; before any sample: none.
  CHECK(t.s->udp_retransmit_after == std::vector<ms>{ms(0), ms(300)});
  CHECK(t.s->udp_max_retransmits == std::vector<unsigned>{4, 4});  // 50, 150, 350, 750 ms fit in 1 s

  // Karn (§3): the first datagram lost, the copy at 363 ms answered: no sample, RTO backed off.
  t.s->lose_copies = 1;
  auto a = r.resolve("api-service.local", Type::A);
  REQUIRE(a.ok());
  CHECK(a.packets == 2);
  e = r.rtt_estimate(0);
  CHECK(e.srtt == us(112500));
  CHECK(e.rto == us(725000));
  t.s->lose_copies = 0;
  REQUIRE(r.resolve("api-service.local", Type::A).ok());
  CHECK(t.s->udp_retransmit_after.back() == ms(725));
  CHECK(r.rtt_estimate(0).rto < us(725000));  // a clean sample replaces the backed-off RTO
  // Every first datagram lost: each answered copy backs the RTO off (399 -> 797 -> 1594 ms) until
  // no copy fits the try (the glibc schedule is the ceiling) and the lookup times out as glibc's.
  t.s->lose_copies = 1;
  REQUIRE(r.resolve("api-service.local", Type::A).ok());
  REQUIRE(r.resolve("api-service.local", Type::A).ok());
  CHECK(r.resolve("api-service.local", Type::A).error == Errc::timeout);
  const std::vector<ms> last(t.s->udp_retransmit_after.end() - 4, t.s->udp_retransmit_after.end());
  CHECK(last == std::vector<ms>{ms(399), ms(797), ms(0), ms(0)});
  CHECK(r.rtt_estimate(0).rto == us(1593748));

  // A fast server: RTO of a few ms, raised to min_rto (50 ms, unbound's floor).
  auto f = cloud_map();
  R fast(c, o, f);
  f.s->on_exchange = [&fast](const svcres::Exchange&, Behaviour) { fast.clock().advance(1ms); };
  REQUIRE(fast.resolve("api-service.local", Type::A).ok());
  REQUIRE(fast.resolve("api-service.local", Type::A).ok());
  CHECK(fast.rtt_estimate(0).rto == us(2500));  // SRTT 1 ms, RTTVAR 375 us
  CHECK(f.s->udp_retransmit_after == std::vector<ms>{ms(0), ms(50)});
}

TEST_CASE("adaptive_retransmit: copies count as packets and the budget caps them", "[resolver][rtx]") {
  using ms = std::chrono::milliseconds;
  auto t = cloud_map();
  t.s->behaviour[1] = Behaviour::timeout;
  auto c = conf({"127.0.0.1:1"});
  c.timeout = 1000ms;
  c.attempts = 2;
  svcres::ResolverOptions o;
  o.adaptive_retransmit = true;
  o.initial_rto = 100ms;  // copies at 100, 300, 700 ms
  R r(c, o, t);
  t.s->on_exchange = [&r](const svcres::Exchange& x, Behaviour) { r.clock().advance(x.timeout); };
  // Per try 2 * (1 + 4) + 1 = 11 packets (timeout:1, min_rto 50 ms).
  CHECK(r.packet_budget() == 11u * 2 * 1 * (1 + 8 + 64));
  auto a = r.resolve("api-service.local", Type::A);
  CHECK(a.error == Errc::timeout);
  CHECK(a.packets == 7);  // +0/100/300/700 ms; backed off to 200 ms: +0/200/600 in the second try
  CHECK(r.stats().packets == 7);
  CHECK(t.s->udp_retransmit_after == std::vector<ms>{ms(100), ms(200)});

  svcres::ResolverOptions tight = o;
  tight.max_packets = 3;
  R small(c, tight, t);
  t.s->on_exchange = [&small](const svcres::Exchange& x, Behaviour) { small.clock().advance(x.timeout); };
  auto b = small.resolve("api-service.local", Type::A);
  CHECK(b.error == Errc::capacity_exceeded);  // the second try has nothing left
  CHECK(b.packets == 3);                      // 3 would fit the try; the budget allowed 2 copies
  CHECK(small.stats().packets == 3);
  CHECK(t.s->udp_max_retransmits.back() == 2u);
}
