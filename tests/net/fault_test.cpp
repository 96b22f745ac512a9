// The POSIX transports and the resolver against misbehaving servers on loopback.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

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

// One exchange with 127.0.0.1:port: the query in q[0, size), the reply into `reply`.
template <std::size_t N>
svcres::Exchange exchange_to(std::uint16_t port, const std::uint8_t* q, std::size_t size, std::uint8_t (&reply)[N],
                             std::chrono::milliseconds timeout) {
  svcres::Exchange x;
  x.server = svcres::NameServer{svcres::IpAddress::v4(127, 0, 0, 1), port};
  x.query = q;
  x.query_size = size;
  x.reply = reply;
  x.reply_capacity = N;
  x.timeout = timeout;
  return x;
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
  svcres::Exchange x = exchange_to(15399, q, *qn, reply, 5000ms);
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
  svcres::Exchange x = exchange_to(s.port(), q, *qn, reply, 2000ms);
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

TEST_CASE("every UDP query leaves from its own kernel-chosen port", "[net][fault][security]") {
  LoopbackServer s;
  fill(s);
  svcres::ResolverOptions ro;
  ro.cache = false;
  R r(conf({s.address()}, 2000ms), ro);
  for (int i = 0; i < 100; ++i) REQUIRE(r.resolve("api-service.local", Type::A).ok());
  const auto ports = s.client_ports();
  REQUIRE(ports.size() == 100);
  // Random ports may repeat by chance (about 0.2 pairs expected among 100 of ~28000); a reused
  // socket or a sequential allocator would give far fewer distinct values.
  CHECK(std::set<std::uint16_t>(ports.begin(), ports.end()).size() >= 95);
}

TEST_CASE("a datagram queued for a finished query's port never answers a later query", "[net][fault][security]") {
  LoopbackServer s;
  fill(s);
  std::uint8_t q[64], reply[512];
  auto qn = svcres::dns::write_query(q, sizeof q, 7, svcres_test::name("api-service.local."), Type::A);
  svcres::Exchange x = exchange_to(s.port(), q, *qn, reply, 200ms);
  x.accept = nullptr;  // anything from the server's address and port would do
  svcres::PosixTransport t;
  auto first = t.udp(x);
  REQUIRE(first.ok());
  // A forgery for the port the first query used, from the server's own address and port, queued
  // after that query ended. The transport may recycle that socket for a later query on a new port,
  // but what was queued for the old one must be gone by then.
  s.fault = Fault::drop;
  s.send_from_server(reply, *first, s.client_ports().back());
  for (int i = 0; i < 3; ++i) CHECK(t.udp(x).error() == Errc::timeout);
  CHECK(s.udp_queries == 4);
}

TEST_CASE("one resolver on several threads, and rotation across servers, over the socket pool", "[net][fault][concurrency]") {
  LoopbackServer a, b;
  fill(a);
  fill(b);
  svcres::ResolverOptions ro;
  ro.cache = false;
  auto c = conf({a.address(), b.address()}, 2000ms);
  c.rotate = true;
  R r(c, ro);
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto ans = r.resolve("user-service.local", Type::SRV);
        if (ans.ok() && texts(ans.endpoints) == user_service) ++good;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(good == 200);
  // Identical lookups in flight are coalesced, so fewer than 200 queries may go out; rotate shares
  // them between the servers, so the pooled socket is often recycled from the other one.
  CHECK(a.udp_queries + b.udp_queries == static_cast<int>(r.stats().packets));
  CHECK(a.udp_queries > 0);
  CHECK(b.udp_queries > 0);
  // Alone, strictly alternating: every query recycles the socket last connected to the other server.
  const int before = a.udp_queries;
  for (int i = 0; i < 20; ++i) REQUIRE(r.resolve("api-service.local", Type::A).ok());
  CHECK(a.udp_queries - before == 10);
}

TEST_CASE("a server on [::1]: UDP, TC -> TCP and the pooled socket over IPv6", "[net][fault][v6]") {
  LoopbackServer s(true);
  if (!s.ok()) {
    WARN("skipped: this machine has no ::1 (IPv6 loopback)");
    return;
  }
  fill(s);
  svcres::ResolverOptions ro;
  ro.cache = false;
  R r(conf({s.address()}, 2000ms), ro);
  REQUIRE(r.conf().nameservers[0].address.is_v6());
  for (int i = 0; i < 3; ++i) {  // the second and third recycle the first one's socket
    auto a = r.resolve("user-service.local", Type::SRV);
    REQUIRE(a.ok());
    CHECK(texts(a.endpoints) == user_service);
  }
  auto big = r.resolve("batch-worker.local", Type::SRV);
  REQUIRE(big.ok());
  CHECK(big.endpoints.size() == 40);
  CHECK(s.tcp_queries == 1);
  const auto ports = s.client_ports();
  CHECK(std::set<std::uint16_t>(ports.begin(), ports.end()).size() >= 3);
}

TEST_CASE("the UDP socket pool hands a socket only to the process that left it (fork)", "[net][fault]") {
  svcres::UdpSocketPool pool;
  const pid_t self = ::getpid();
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int fd2 = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  REQUIRE(fd2 >= 0);
  using Pool = svcres::UdpSocketPool;
  pool.put(self, fd, fd2);
  const std::uint64_t held = pool.take(self);
  CHECK(Pool::ready_of(held) == fd);
  CHECK(Pool::used_of(held) == fd2);
  const std::uint64_t none = pool.take(self);  // taken: empty now
  CHECK(Pool::ready_of(none) == -1);
  CHECK(Pool::used_of(none) == -1);
  pool.put(self + 1, fd, fd2);  // as a parent would have left them before fork()
  const std::uint64_t inherited = pool.take(self);
  CHECK(Pool::ready_of(inherited) == -1);
  CHECK(Pool::used_of(inherited) == -1);
  CHECK(::fcntl(fd, F_GETFD) == -1);  // this process's copies were closed, not handed out
  CHECK(errno == EBADF);
  CHECK(::fcntl(fd2, F_GETFD) == -1);

  // A real fork: the child resolves through the resolver its parent used, on sockets of its own.
  LoopbackServer s;
  fill(s);
  svcres::ResolverOptions ro;
  ro.cache = false;
  R r(conf({s.address()}, 2000ms), ro);
  REQUIRE(r.resolve("api-service.local", Type::A).ok());
  const pid_t child = ::fork();
  if (child == 0) ::_exit(r.resolve("api-service.local", Type::A).ok() && r.resolve("api-service.local", Type::A).ok() ? 0 : 1);
  REQUIRE(child > 0);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(r.resolve("api-service.local", Type::A).ok());
  CHECK(s.udp_queries == 4);
}

TEST_CASE("UDP retransmission: copies leave the same port with the same bytes, at most max_retransmits",
          "[net][fault][rtx]") {
  LoopbackServer s;
  fill(s);
  s.fault = Fault::drop_first_copies;  // the first 2 datagrams of each query are lost
  std::uint8_t q[512], reply[1232];
  auto qn = svcres::dns::write_query(q, sizeof q, 11, svcres_test::name("api-service.local."), Type::A);
  svcres::Exchange x = exchange_to(s.port(), q, *qn, reply, 2000ms);
  unsigned copies = 0;
  x.retransmit_after = 20ms;
  x.max_retransmits = 2;
  x.retransmitted = &copies;
  svcres::PosixTransport t;
  REQUIRE(t.udp(x).ok());  // the second copy is answered
  CHECK(copies == 2);
  CHECK(s.udp_queries == 3);
  auto ports = s.client_ports();
  REQUIRE(ports.size() == 3);
  CHECK(ports[0] == ports[1]);
  CHECK(ports[1] == ports[2]);
  // One copy allowed: the server sees two datagrams of a new query, and the call times out.
  auto qn2 = svcres::dns::write_query(q, sizeof q, 12, svcres_test::name("api-service.local."), Type::A);
  x.query_size = *qn2;
  x.timeout = 300ms;
  x.max_retransmits = 1;
  copies = 0;
  CHECK(t.udp(x).error() == Errc::timeout);
  CHECK(copies == 1);
  CHECK(s.udp_queries == 5);
  // retransmit_after 0 (the default): one datagram.
  auto qn3 = svcres::dns::write_query(q, sizeof q, 13, svcres_test::name("api-service.local."), Type::A);
  x.query_size = *qn3;
  x.retransmit_after = 0ms;
  x.max_retransmits = 5;
  copies = 0;
  CHECK(t.udp(x).error() == Errc::timeout);
  CHECK(copies == 0);
  CHECK(s.udp_queries == 6);
}

TEST_CASE("adaptive_retransmit: a query losing 2 datagrams is answered within the first try", "[net][fault][rtx]") {
  LoopbackServer s;
  fill(s);
  s.fault = Fault::drop_first_copies;
  auto c = conf({s.address()}, 300ms);
  c.attempts = 3;
  svcres::ResolverOptions o;
  o.cache = false;
  o.adaptive_retransmit = true;
  o.initial_rto = 50ms;  // copies at +50 and +150 ms, inside the 300 ms try
  R on(c, o);
  auto a = on.resolve("api-service.local", Type::A);
  REQUIRE(a.ok());
  CHECK(a.packets == 3);
  CHECK(on.stats().packets == 3);
  CHECK(s.udp_queries == 3);
  auto ports = s.client_ports();
  REQUIRE(ports.size() == 3);
  CHECK(std::set<std::uint16_t>(ports.begin(), ports.end()).size() == 1);  // one try, one port
  CHECK(!on.rtt_estimate(0).sampled);  // Karn: an answer after copies is no sample

  // Off (the default): one datagram per try, so the third try (its own port) is answered.
  o.adaptive_retransmit = false;
  R off(c, o);
  auto b = off.resolve("user-service.local", Type::SRV);
  REQUIRE(b.ok());
  CHECK(b.packets >= 3);  // the SRV query's 3 tries, then its targets' (also losing 2 each) if any
  auto all = s.client_ports();
  REQUIRE(all.size() >= 6);
  CHECK(std::set<std::uint16_t>(all.begin() + 3, all.begin() + 6).size() == 3);  // three tries, three ports
}

TEST_CASE("adaptive_retransmit: every datagram is counted and the budget holds copies", "[net][fault][rtx]") {
  LoopbackServer silent;
  silent.fault = Fault::drop;
  auto c = conf({silent.address()}, 300ms);
  svcres::ResolverOptions o;
  o.adaptive_retransmit = true;
  o.initial_rto = 50ms;
  R r(c, o);
  auto a = r.resolve("api-service.local", Type::A);
  CHECK(a.error == Errc::timeout);
  CHECK(a.packets == 3);  // +0, +50, +150 ms; +350 is past the try
  CHECK(r.stats().packets == 3);
  // The server may still be reading the last one: wait for it, event-driven with a generous cap.
  for (int i = 0; i < 200 && silent.udp_queries < 3; ++i) std::this_thread::sleep_for(10ms);
  CHECK(silent.udp_queries == 3);
  o.max_packets = 2;
  R tight(c, o);
  auto b = tight.resolve("batch-worker.local", Type::A);
  CHECK(b.error == Errc::timeout);  // one try, out of budget for the third datagram only
  CHECK(b.packets == 2);
  for (int i = 0; i < 200 && silent.udp_queries < 5; ++i) std::this_thread::sleep_for(10ms);
  CHECK(silent.udp_queries == 5);
}

TEST_CASE("adaptive_retransmit on several threads: the shared RTT estimates stay consistent",
          "[net][fault][rtx][concurrency]") {
  LoopbackServer a, b;
  fill(a);
  fill(b);
  b.fault = Fault::drop_first_copies;
  b.copies_to_drop = 1;
  svcres::ResolverOptions ro;
  ro.cache = false;
  ro.adaptive_retransmit = true;
  ro.initial_rto = 100ms;
  auto c = conf({a.address(), b.address()}, 1000ms);
  c.rotate = true;
  R r(c, ro);
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i)
        if (r.resolve("user-service.local", Type::SRV).ok()) ++good;
    });
  }
  for (auto& th : threads) th.join();
  CHECK(good == 100);
  // Every datagram either server received was counted, copies included (b loses each query's first).
  for (int i = 0; i < 200 && a.udp_queries + b.udp_queries < static_cast<int>(r.stats().packets); ++i)
    std::this_thread::sleep_for(10ms);
  CHECK(a.udp_queries + b.udp_queries == static_cast<int>(r.stats().packets));
  CHECK(r.rtt_estimate(0).sampled);
  CHECK(r.rtt_estimate(0).rto.count() > 0);
}
