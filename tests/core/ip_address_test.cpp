#include <arpa/inet.h>

#include <cstring>
#include <string>

#include "svcres/core/ip_address.hpp"
#include "svcres/core/random.hpp"
#include "test.hpp"

using svcres::Errc;
using svcres::IpAddress;

namespace {
std::string round_trip(const char* text) {
  auto r = IpAddress::parse(text);
  REQUIRE(r.ok());
  return std::string(r->to_text().view());
}
Errc error_of(std::string_view text) { return IpAddress::parse(text).error(); }
}  // namespace

TEST_CASE("IPv4 text parses and formats", "[ip]") {
  CHECK(round_trip("0.0.0.0") == "0.0.0.0");
  CHECK(round_trip("127.0.0.1") == "127.0.0.1");
  CHECK(round_trip("255.255.255.255") == "255.255.255.255");
  CHECK(round_trip("10.0.2.12") == "10.0.2.12");
  auto a = IpAddress::parse("192.168.1.2");
  REQUIRE(a.ok());
  CHECK(a->is_v4());
  CHECK(a->size() == 4);
  CHECK(*a == IpAddress::v4(192, 168, 1, 2));
  CHECK(IpAddress::parse("127.9.8.7")->is_loopback());
  CHECK_FALSE(IpAddress::parse("128.0.0.1")->is_loopback());
}

TEST_CASE("IPv6 text follows RFC 5952 when formatted", "[ip]") {
  CHECK(round_trip("::") == "::");
  CHECK(round_trip("::1") == "::1");
  CHECK(round_trip("2001:db8:0:3::a") == "2001:db8:0:3::a");
  CHECK(round_trip("2001:DB8:0:0:0:0:0:1") == "2001:db8::1");
  CHECK(round_trip("2001:db8:0:0:1:0:0:1") == "2001:db8::1:0:0:1");  // first of equal runs
  CHECK(round_trip("2001:db8:0:1:1:1:1:1") == "2001:db8:0:1:1:1:1:1");  // one zero group stays
  CHECK(round_trip("2001:0db8:0000:0000:0000:ff00:0042:8329") == "2001:db8::ff00:42:8329");
  CHECK(round_trip("1::") == "1::");
  CHECK(round_trip("1:2:3:4:5:6:7::") == "1:2:3:4:5:6:7:0");
  CHECK(round_trip("::2:3:4:5:6:7:8") == "0:2:3:4:5:6:7:8");
  CHECK(round_trip("fe80::1:2") == "fe80::1:2");
  CHECK(round_trip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") == "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  CHECK(IpAddress::parse("::1")->is_loopback());
}

TEST_CASE("IPv4-mapped and embedded IPv4 forms are handled explicitly", "[ip]") {
  auto m = IpAddress::parse("::ffff:10.0.0.1");
  REQUIRE(m.ok());
  CHECK(m->is_v6());
  CHECK(m->is_v4_mapped());
  CHECK(m->unmapped() == IpAddress::v4(10, 0, 0, 1));
  CHECK(std::string(m->to_text().view()) == "::ffff:10.0.0.1");
  CHECK(round_trip("::FFFF:127.0.0.1") == "::ffff:127.0.0.1");
  CHECK(IpAddress::parse("::ffff:127.0.0.1")->is_loopback());
  // A mapped address is not equal to the IPv4 one: conversion is the caller's explicit choice.
  CHECK(*m != IpAddress::v4(10, 0, 0, 1));
  // Embedded IPv4 elsewhere than ::ffff: parses, is not "mapped".
  auto e = IpAddress::parse("64:ff9b::192.0.2.33");
  REQUIRE(e.ok());
  CHECK_FALSE(e->is_v4_mapped());
  CHECK(e->unmapped() == *e);
  CHECK(round_trip("1:2:3:4:5:6:1.2.3.4") == "1:2:3:4:5:6:102:304");
}

TEST_CASE("every malformed address text gets its own error", "[ip]") {
  CHECK(error_of("") == Errc::empty_address);
  for (const char* bad : {"1", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1.2.3.-4", "01.2.3.4", "1.2.3.00", "1..2.3",
                          ".1.2.3", "1.2.3.4.", " 1.2.3.4", "1.2.3.4 ", "a.b.c.d", "1.2.3.4x", "999999999999.1.1.1",
                          "0x7f.0.0.1", "1.2.3.4/24"}) {
    INFO(bad);
    CHECK(error_of(bad) == Errc::bad_ipv4);
  }
  for (const char* bad : {":", ":::", "1:::2", "1::2::3", ":1::2", "1::2:", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7",
                          "12345::", "g::1", "1:2:3:4:5:6:7:8::", "::1.2.3", "::1.2.3.4.5", "1.2.3.4::",
                          "::ffff:1.2.3.256", "::ffff:01.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "[::1]", "::1 ",
                          "1:2:3:4:5:6:7:8:"}) {
    INFO(bad);
    CHECK(error_of(bad) == Errc::bad_ipv6);
  }
  CHECK(error_of("fe80::1%eth0") == Errc::scoped_address);
  CHECK(error_of("fe80::1%1") == Errc::scoped_address);
  std::string huge(5000, '1');
  CHECK(error_of(huge) == Errc::bad_ipv4);
  std::string huge6(5000, ':');
  CHECK(error_of(huge6) == Errc::bad_ipv6);
  std::string with_nul("1.2.3.4\0", 8);
  CHECK(error_of(with_nul) == Errc::bad_ipv4);
}

TEST_CASE("parsing agrees with inet_pton on generated inputs", "[ip]") {
  // Random strings over the address alphabet: whatever the OS accepts must parse to the same bytes,
  // and whatever it refuses must be refused (zone indices aside, which inet_pton also refuses).
  svcres::Rng rng(12345);
  const char alphabet[] = "0123456789abcdefABCDEF:.";
  int accepted = 0;
  for (int i = 0; i < 200000; ++i) {
    char buf[48];
    std::size_t len = 1 + rng.below(20);
    for (std::size_t k = 0; k < len; ++k) buf[k] = alphabet[rng.below(sizeof(alphabet) - 1)];
    buf[len] = '\0';
    std::string_view text(buf, len);
    auto mine = IpAddress::parse(text);
    unsigned char os[16];
    bool is6 = text.find(':') != std::string_view::npos;
    int rc = inet_pton(is6 ? AF_INET6 : AF_INET, buf, os);
    INFO(buf);
    REQUIRE(mine.ok() == (rc == 1));
    if (rc == 1) {
      ++accepted;
      REQUIRE(std::memcmp(mine->bytes(), os, is6 ? 16 : 4) == 0);
      // Our text form must be accepted back by the OS and mean the same bytes.
      unsigned char again[16];
      REQUIRE(inet_pton(is6 ? AF_INET6 : AF_INET, mine->to_text().c_str(), again) == 1);
      REQUIRE(std::memcmp(again, os, is6 ? 16 : 4) == 0);
    }
  }
  CHECK(accepted > 100);
}

TEST_CASE("formatting agrees with inet_ntop for random addresses", "[ip]") {
  svcres::Rng rng(7);
  for (int i = 0; i < 20000; ++i) {
    std::uint8_t b[16];
    for (auto& x : b) x = rng.below(4) == 0 ? 0 : static_cast<std::uint8_t>(rng.below(256));
    if (i % 3 == 0) std::memset(b, 0, 4 + rng.below(8));
    IpAddress ip = IpAddress::from_v6_bytes(b);
    char os[64];
    REQUIRE(inet_ntop(AF_INET6, b, os, sizeof os) != nullptr);
    INFO(os);
    auto back = IpAddress::parse(ip.to_text().view());
    REQUIRE(back.ok());
    CHECK(*back == ip);
    // glibc prints ::a.b.c.d for IPv4-compatible addresses (deprecated by RFC 4291 §2.5.5.1);
    // RFC 5952 does not, so only compare where glibc follows RFC 5952.
    if (!(b[0] == 0 && std::memcmp(b, b + 1, 11) == 0 && !(b[12] == 0 && b[13] == 0)))
      CHECK(std::string(ip.to_text().view()) == os);
  }
}
