// The resolver against real DNS servers from Debian on loopback (started by the tests/servers
// fixtures), serving tests/servers/zones/local.zone. Compiled once per server: SVCRES_SERVER names it
// and SVCRES_SERVER_PORT is where it listens.
#include <set>
#include <string>

#include "endpoint_texts.hpp"
#include "svcres/net/posix_transport.hpp"
#include "svcres/resolve/endpoint_resolver.hpp"
#include "svcres/resolve/resolver.hpp"
#include "test.hpp"

using namespace std::chrono_literals;
using svcres::Errc;
using svcres::dns::Type;

namespace {
using R = svcres::Resolver<svcres::PosixTransport>;
const std::string server = SVCRES_SERVER;
const bool authoritative_server = server == "nsd" || server == "knot";

svcres::ResolvConf conf(const char* search = nullptr) {
  svcres::ResolvConf c;
  REQUIRE(c.add_nameserver("127.0.0.1:" + std::to_string(SVCRES_SERVER_PORT)).ok());
  if (search) REQUIRE(c.add_search(search).ok());
  c.timeout = 2s;
  return c;
}

using svcres_test::texts;
using svcres_test::user_service;
}  // namespace

TEST_CASE("SRV for a 3-task service", "[integration]") {
  R r(conf());
  auto a = r.resolve("user-service.local", Type::SRV);
  REQUIRE(a.error == Errc::ok);
  CHECK(texts(a.endpoints) == user_service);
  CHECK(a.ttl > 0);
  CHECK(a.ttl <= 60);
  if (server == "unbound") {
    CHECK(a.packets == 4);  // unbound sends no additional records for SRV targets: one A query each
  } else if (authoritative_server) {
    CHECK(a.packets == 1);  // addresses taken from the additional section
  }
  auto cached = r.resolve("user-service.local", Type::SRV);
  CHECK(cached.from_cache);
  CHECK(cached.packets == 0);
}

TEST_CASE("TC -> TCP for the 40-task service", "[integration]") {
  R r(conf());
  auto a = r.resolve("batch-worker.local", Type::SRV);
  REQUIRE(a.error == Errc::ok);
  CHECK(a.endpoints.size() == 40);
  for (const auto& e : a.endpoints) {
    CHECK(e.port == 9000);
    CHECK(e.address.is_loopback());
  }
  if (server != "unbound") CHECK(r.stats().tcp_fallbacks >= 1);  // unbound's answer may fit 1232 bytes without additionals
}

TEST_CASE("NXDOMAIN, with SOA from authoritative servers and without from dnsmasq", "[integration]") {
  svcres::ResolverOptions o;
  o.negative_ttl_no_soa = 3;
  R r(conf(), o);
  auto a = r.resolve("no-such-service.local", Type::SRV);
  CHECK(a.error == Errc::nxdomain);
  CHECK(a.authoritative_empty());
  if (server == "dnsmasq") {
    CHECK(a.ttl == 3);  // RFC 2308 §5: no SOA, no long negative caching
  } else {
    CHECK(a.ttl == 30);  // min(SOA TTL 900, MINIMUM 30)
  }
}

TEST_CASE("CNAME to a service", "[integration]") {
  R r(conf());
  auto a = r.resolve("users.local", Type::SRV);
  REQUIRE(a.error == Errc::ok);
  CHECK(texts(a.endpoints) == user_service);
}

TEST_CASE("EndpointResolver: SRV service, A-only service with default port", "[integration]") {
  R r(conf());
  svcres::EndpointResolver<R> er(r);
  auto s = er.get("user-service.local", 1);
  REQUIRE(s.error == Errc::ok);
  CHECK(texts(s.endpoints) == user_service);
  CHECK(s.from_srv);
  auto api = er.get("api-service.local", 8443);
  REQUIRE(api.error == Errc::ok);
  const auto got = texts(api.endpoints);
  // dnsmasq's records hold one address for api-service, the zone two.
  const bool ok = got == std::set<std::string>{"127.0.1.10:8443"} ||
                  got == std::set<std::string>{"127.0.1.10:8443", "127.0.1.11:8443"};
  CHECK(ok);
  CHECK_FALSE(api.from_srv);
}

#if SVCRES_SERVER_FULL_ZONE
TEST_CASE("AAAA records", "[integration]") {
  R r(conf());
  auto a = r.resolve("v6-only.local", Type::AAAA);
  REQUIRE(a.error == Errc::ok);
  CHECK(texts(a.endpoints) == std::set<std::string>{"[::1]:0", "[::ffff:127.0.5.10]:0"});
  svcres::ResolverOptions both;
  both.families = svcres::AddressFamilies::both;
  R r2(conf(), both);
  auto o = r2.resolve("order-service.local", Type::SRV);
  REQUIRE(o.error == Errc::ok);
  CHECK(o.endpoints.size() == 15);  // 10 tasks, 5 of them with an AAAA as well
}

TEST_CASE("NODATA: an A-only name has no SRV", "[integration]") {
  R r(conf());
  auto a = r.resolve("api-service.local", Type::SRV);
  CHECK(a.error == Errc::nodata);
  CHECK(a.ttl == 30);
}

TEST_CASE("search-list expansion: corp.test first (NXDOMAIN there), then local", "[integration]") {
  auto c = conf("corp.test");
  REQUIRE(c.add_search("local").ok());
  R r(c);
  auto a = r.resolve("user-service", Type::SRV);
  REQUIRE(a.error == Errc::ok);
  CHECK(std::string(a.name.to_text().view()) == "user-service.local.");
  CHECK(texts(a.endpoints) == user_service);
  auto corp = r.resolve("only-corp", Type::A);
  REQUIRE(corp.error == Errc::ok);
  CHECK(std::string(corp.name.to_text().view()) == "only-corp.corp.test.");
  // nowhere.corp.test and nowhere.local do not exist; "nowhere." itself is then asked, which these
  // servers (not authoritative for the root) refuse or fail: a failure, never an answer.
  auto none = r.resolve("nowhere", Type::A);
  CHECK_FALSE(none.ok());
  CHECK(none.endpoints.empty());
}

TEST_CASE("CNAME chain and loop", "[integration]") {
  R r(conf());
  auto a = r.resolve("chain-1.local", Type::SRV);
  REQUIRE(a.error == Errc::ok);
  CHECK(texts(a.endpoints) == user_service);
  auto loop = r.resolve("loop-a.local", Type::A);
  CHECK(loop.error != Errc::ok);
}
#endif

TEST_CASE("CNAME to a target known only with another type: the target is asked once", "[integration]") {
  // dnsmasq answers cname-nodata.local AAAA with the CNAME alone (NOERROR, no SOA), and
  // v4only.local AAAA with an empty NOERROR without SOA. The resolver used to ask v4only.local
  // again and again (37,000 packets a second on this machine); now: the name, the target once.
  if (server != "dnsmasq") return;  // the other servers serve the zone file, which has no such name
  R r(conf());
  auto a = r.resolve("cname-nodata.local", Type::AAAA);
  CHECK(a.error == Errc::nodata);
  CHECK(a.packets == 2);
  CHECK(r.stats().packets == 2);
  auto v4 = r.resolve("cname-nodata.local", Type::A);  // the same chain with data at its end
  REQUIRE(v4.error == Errc::ok);
  CHECK(v4.endpoints.size() == 1);
}
