// The POSIX transports and the resolver against misbehaving servers on loopback.
#include <chrono>
#include <set>
#include <string>

#include "../resolve/endpoint_texts.hpp"
#include "loopback_server.hpp"
#include "svcres/net/posix_transport.hpp"
#include "svcres/resolve/endpoint_resolver.hpp"
#include "svcres/resolve/resolver.hpp"
#include "test.hpp"

using namespace std::chrono_literals;
using svcres::Errc;
using svcres::dns::Type;
using svcres_test::Fault;
using svcres_test::LoopbackServer;

namespace {
using R = svcres::Resolver<svcres::PosixTransport>;
constexpr const char* closed_server = "127.0.0.1:15399";  // tests/servers/ports.sh: never listened on

void fill(LoopbackServer& s) {
  s.edit_zone([](svcres_test::MiniZone& z) {
    z.service("user-service.local", 3, 8080, 2);
    z.service("batch-worker.local", 40, 9000, 4);
    z.a("api-service.local", "127.0.1.10");
  });
}

svcres::ResolvConf conf(std::initializer_list<std::string> servers, std::chrono::milliseconds timeout = 300ms) {
  svcres::ResolvConf c;
  for (const auto& s : servers) REQUIRE(c.add_nameserver(s).ok());
  c.timeout = timeout;
  c.attempts = 1;
  return c;
}

using svcres_test::texts;
using svcres_test::user_service;
}  // namespace

TEST_CASE("a closed first server: ICMP unreachable moves on without waiting", "[net][fault]") {
  LoopbackServer good;
  fill(good);
  R r(conf({closed_server, good.address()}, 5000ms));
  const auto t0 = std::chrono::steady_clock::now();
  auto a = r.resolve("user-service.local", Type::SRV);
  const auto took = std::chrono::steady_clock::now() - t0;
  REQUIRE(a.ok());
  CHECK(texts(a.endpoints) == user_service);
  CHECK(took < 5000ms);  // did not sit out the 5 s timeout on the closed server
  // The transport itself reports it.
  std::uint8_t q[64], reply[512];
  auto qn = svcres::dns::write_query(q, sizeof q, 7, svcres_test::name("x.local."), Type::A);
  svcres::Exchange x;
  x.server = svcres::NameServer{svcres::IpAddress::v4(127, 0, 0, 1), 15399};
  x.query = q;
  x.query_size = *qn;
  x.reply = reply;
  x.reply_capacity = sizeof reply;
  x.timeout = 5000ms;
  CHECK(svcres::udp_exchange(x).error() == Errc::connection_refused);
  CHECK(svcres::tcp_exchange(x).error() == Errc::connection_refused);
}

TEST_CASE("a server that never answers: timeout, then the next", "[net][fault]") {
  LoopbackServer silent, good;
  silent.fault = Fault::drop;
  fill(good);
  R r(conf({silent.address(), good.address()}));
  auto a = r.resolve("user-service.local", Type::SRV);
  REQUIRE(a.ok());
  CHECK(silent.udp_queries == 1);
  CHECK(a.packets == 2);
}

TEST_CASE("a slow server inside the timeout is waited for", "[net][fault]") {
  LoopbackServer slow;
  slow.fault = Fault::slow;
  slow.delay = 100ms;
  fill(slow);
  R r(conf({slow.address()}, 2000ms));
  auto a = r.resolve("user-service.local", Type::SRV);
  REQUIRE(a.ok());
  CHECK(a.packets == 1);
  // The same server slower than the timeout fails.
  slow.delay = 600ms;
  R impatient(conf({slow.address()}, 200ms));
  CHECK(impatient.resolve("api-service.local", Type::A).error == Errc::timeout);
}

TEST_CASE("SERVFAIL and garbage move to the next server at once", "[net][fault]") {
  LoopbackServer servfail, garbage, good;
  servfail.fault = Fault::servfail;
  garbage.fault = Fault::garbage;
  fill(good);
  R r(conf({servfail.address(), garbage.address(), good.address()}, 5000ms));
  const auto t0 = std::chrono::steady_clock::now();
  auto a = r.resolve("user-service.local", Type::SRV);
  REQUIRE(a.ok());
  CHECK(texts(a.endpoints) == user_service);
  CHECK(std::chrono::steady_clock::now() - t0 < 5000ms);
  CHECK(servfail.udp_queries == 1);
  CHECK(garbage.udp_queries == 1);
  R only_bad(conf({servfail.address()}));
  CHECK(only_bad.resolve("user-service.local", Type::SRV).error == Errc::server_failure);
}

TEST_CASE("spoofed replies (wrong ID, wrong port) arriving first are ignored", "[net][fault][security]") {
  LoopbackServer s;
  s.fault = Fault::spoof_first;
  fill(s);
  R r(conf({s.address()}, 2000ms));
  auto a = r.resolve("user-service.local", Type::SRV);
  REQUIRE(a.ok());
  CHECK(texts(a.endpoints) == user_service);
  auto api = r.resolve("api-service.local", Type::A);
  REQUIRE(api.ok());
  CHECK(texts(api.endpoints) == std::set<std::string>{"127.0.1.10:0"});
}

TEST_CASE("TC -> TCP with a 40-task answer, and TCP framing faults", "[net][fault][tcp]") {
  LoopbackServer s;
  fill(s);
  R r(conf({s.address()}, 2000ms));
  auto a = r.resolve("batch-worker.local", Type::SRV);
  REQUIRE(a.ok());
  CHECK(a.endpoints.size() == 40);
  CHECK(s.tcp_queries == 1);

  std::uint8_t q[64], reply[65535];
  auto qn = svcres::dns::write_query(q, sizeof q, 9, svcres_test::name("batch-worker.local."), Type::SRV);
  svcres::Exchange x;
  x.server = svcres::NameServer{svcres::IpAddress::v4(127, 0, 0, 1), s.port()};
  x.query = q;
  x.query_size = *qn;
  x.reply = reply;
  x.reply_capacity = sizeof reply;
  x.timeout = 2000ms;
  s.fault = Fault::tcp_trickle;
  auto trickled = svcres::tcp_exchange(x);
  REQUIRE(trickled.ok());
  CHECK(svcres::dns::Message::parse(reply, *trickled).ok());
  s.fault = Fault::tcp_zero_length;
  CHECK(svcres::tcp_exchange(x).error() == Errc::truncated);
  s.fault = Fault::tcp_early_eof;
  CHECK(svcres::tcp_exchange(x).error() == Errc::connection_closed);
  x.reply_capacity = 100;
  s.fault = Fault::none;
  CHECK(svcres::tcp_exchange(x).error() == Errc::buffer_too_small);
}

TEST_CASE("a server killed mid-run: serve-stale keeps the endpoints", "[net][fault][stale]") {
  auto server = std::make_unique<LoopbackServer>();
  fill(*server);
  using RM = svcres::Resolver<svcres::PosixTransport, svcres::ManualClock>;
  RM r(conf({server->address()}));
  svcres::EndpointResolver<RM> er(r);
  auto before = er.get("user-service.local", 1);
  REQUIRE(before.error == Errc::ok);
  REQUIRE(texts(before.endpoints) == user_service);
  server->stop();
  r.clock().advance(61s);  // past the 60 s TTL
  auto after = er.get("user-service.local", 1);
  CHECK(after.error == Errc::ok);
  CHECK(after.stale);
  CHECK(texts(after.endpoints) == user_service);
  CHECK(after.packets >= 1);  // it did try
  // The plain resolver serves stale too.
  auto a = r.resolve("user-service.local", Type::SRV);
  CHECK(a.ok());
  CHECK(a.stale);
}

TEST_CASE("Route 53-like 8 random of 40: merge mode learns all 40", "[net][fault][merge]") {
  LoopbackServer s;
  fill(s);
  s.edit_zone([](svcres_test::MiniZone& z) { z.max_answers = 8; });
  svcres::ResolverOptions ro;
  ro.cache = false;
  R r(conf({s.address()}, 2000ms), ro);
  svcres::EndpointResolverOptions o;
  o.merge = svcres::MergeMode::union_of_refreshes;
  o.merge_keep_refreshes = 1000;
  svcres::EndpointResolver<R> er(r, o);
  std::size_t known = 0;
  int refreshes = 0;
  while (known < 40 && refreshes < 300) {
    auto set = er.refresh("batch-worker.local", 1);
    REQUIRE(set.error == Errc::ok);
    CHECK(set.packets == 1);  // 8 records fit in UDP: no TC
    known = set.endpoints.size();
    ++refreshes;
  }
  CHECK(known == 40);
  CHECK(er.total_packets() == static_cast<std::uint64_t>(refreshes));
}
