#include <string>

#include "svcres/core/endpoint.hpp"
#include "test.hpp"

using svcres::Endpoint;
using svcres::Errc;
using svcres::IpAddress;

TEST_CASE("endpoint identity is address and port only", "[endpoint]") {
  Endpoint a{IpAddress::v4(10, 0, 2, 10), 8080, 1, 1};
  Endpoint b{IpAddress::v4(10, 0, 2, 10), 8080, 5, 9};
  Endpoint c{IpAddress::v4(10, 0, 2, 10), 8081, 1, 1};
  CHECK(a.same_identity(b));
  CHECK(a.identity_hash() == b.identity_hash());
  CHECK_FALSE(a.same_identity(c));
  CHECK(a.identity_hash() != c.identity_hash());
  CHECK(a != b);  // full equality includes priority and weight
}

TEST_CASE("endpoint text round trips", "[endpoint]") {
  auto e = Endpoint::parse("127.0.0.2:8080");
  REQUIRE(e.ok());
  CHECK(e->address == IpAddress::v4(127, 0, 0, 2));
  CHECK(e->port == 8080);
  CHECK(std::string(to_text(*e).view()) == "127.0.0.2:8080");
  auto v6 = Endpoint::parse("[::1]:53");
  REQUIRE(v6.ok());
  CHECK(v6->address.is_v6());
  CHECK(std::string(to_text(*v6).view()) == "[::1]:53");
  auto big = Endpoint::parse("[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535");
  REQUIRE(big.ok());
  CHECK(to_text(*big).size < sizeof(svcres::EndpointText::chars));
}

TEST_CASE("bad endpoint text gets an error", "[endpoint]") {
  CHECK(Endpoint::parse("").error() == Errc::bad_port);
  CHECK(Endpoint::parse("127.0.0.1").error() == Errc::bad_port);
  CHECK(Endpoint::parse("127.0.0.1:").error() == Errc::bad_port);
  CHECK(Endpoint::parse("127.0.0.1:65536").error() == Errc::bad_port);
  CHECK(Endpoint::parse("127.0.0.1:-1").error() == Errc::bad_port);
  CHECK(Endpoint::parse("127.0.0.1:99999999999999999999").error() == Errc::bad_port);
  CHECK(Endpoint::parse(":53").error() == Errc::empty_address);
  CHECK(Endpoint::parse("::1:53").error() == Errc::bad_ipv6);
  CHECK(Endpoint::parse("[::1]53").error() == Errc::bad_port);
  CHECK(Endpoint::parse("[::1").error() == Errc::bad_ipv6);
  CHECK(Endpoint::parse("[fe80::1%eth0]:53").error() == Errc::scoped_address);
  CHECK(Endpoint::parse("300.1.1.1:53").error() == Errc::bad_ipv4);
}
