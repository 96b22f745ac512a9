#include <cstdio>
#include <stdlib.h>
#include <string>

#include "svcres/resolve/resolv_conf.hpp"
#include "test.hpp"

using svcres::ConfProblem;
using svcres::Errc;
using svcres::IpAddress;
using svcres::ResolvConf;

namespace {
bool has_issue(const ResolvConf& c, std::uint32_t line, ConfProblem p) {
  for (const auto& i : c.issues())
    if (i.line == line && i.problem == p) return true;
  return false;
}
}  // namespace

TEST_CASE("a typical Lambda resolv.conf", "[resolv_conf]") {
  auto c = ResolvConf::parse(
      "; generated\n"
      "# comment\n"
      "nameserver 169.254.78.1\n"
      "nameserver fd00:ec2::253\n"
      "search us-east-1.compute.internal local.\n"
      "options ndots:2 timeout:1 attempts:3 rotate edns0\n");
  CHECK(c.issues().empty());
  REQUIRE(c.nameservers.size() == 2);
  CHECK(c.nameservers[0].address == IpAddress::v4(169, 254, 78, 1));
  CHECK(c.nameservers[0].port == 53);
  CHECK(c.nameservers[1].address.is_v6());
  REQUIRE(c.search.size() == 2);
  CHECK(c.search[0].view() == "us-east-1.compute.internal");
  CHECK(c.search[1].view() == "local");
  CHECK(c.ndots == 2);
  CHECK(c.timeout == std::chrono::seconds(1));
  CHECK(c.attempts == 3);
  CHECK(c.rotate);
  CHECK(c.edns0);
  CHECK_FALSE(c.use_vc);
  CHECK_FALSE(c.defaulted_nameserver());
}

TEST_CASE("defaults match glibc", "[resolv_conf]") {
  auto c = ResolvConf::parse("");
  CHECK(c.ndots == 1);
  CHECK(c.timeout == std::chrono::seconds(5));
  CHECK(c.attempts == 2);
  REQUIRE(c.nameservers.size() == 1);
  CHECK(c.nameservers[0].address == IpAddress::v4(127, 0, 0, 1));
  CHECK(c.defaulted_nameserver());
}

TEST_CASE("glibc clamps and numeric overflow", "[resolv_conf]") {
  auto c = ResolvConf::parse("options ndots:16 timeout:31 attempts:6\n");
  CHECK(c.ndots == 15);
  CHECK(c.timeout == std::chrono::seconds(30));
  CHECK(c.attempts == 5);
  auto big = ResolvConf::parse("options ndots:99999999999999999999999 timeout:4294967297 attempts:18446744073709551617\n");
  CHECK(big.issues().empty());
  CHECK(big.ndots == 15);
  CHECK(big.timeout == std::chrono::seconds(30));
  CHECK(big.attempts == 5);
  auto zero = ResolvConf::parse("options timeout:0 attempts:0 ndots:0\n");
  CHECK(zero.timeout == std::chrono::seconds(1));
  CHECK(zero.attempts == 1);
  CHECK(zero.ndots == 0);
}

TEST_CASE("bad numbers and unknown options are skipped and reported", "[resolv_conf]") {
  auto c = ResolvConf::parse("options ndots:-1 timeout:x attempts: inet6 use-vc\n");
  CHECK(c.ndots == 1);
  CHECK(c.timeout == std::chrono::seconds(5));
  CHECK(c.attempts == 2);
  CHECK(c.use_vc);
  CHECK(c.issues().size() == 4);
  CHECK(has_issue(c, 1, ConfProblem::bad_number));
  CHECK(has_issue(c, 1, ConfProblem::unknown_option));
}

TEST_CASE("at most three nameservers from text, like glibc MAXNS", "[resolv_conf]") {
  auto c = ResolvConf::parse(
      "nameserver 127.0.0.1\nnameserver 127.0.0.2\nnameserver 127.0.0.3\nnameserver 127.0.0.4\n");
  CHECK(c.nameservers.size() == 3);
  CHECK(has_issue(c, 4, ConfProblem::too_many_nameservers));
}

TEST_CASE("bad lines are skipped with their line number", "[resolv_conf]") {
  std::string text = "nameserver 10.0.0.1\n";
  text += std::string("nameserver 127.0.0.9\0junk\n", 26);          // line 2: NUL byte
  text += "nameserver " + std::string(2000, '1') + "\n";              // line 3: overlong
  text += "nameserver 256.1.1.1\n";                                   // line 4
  text += "nameserver fe80::1%eth0\n";                                // line 5: scoped
  text += "frobnicate yes\n";                                         // line 6
  text += "search\n";                                                 // line 7
  text += "search ok.example bad..example " + std::string(64, 'a') + ".x\n";  // line 8
  auto c = ResolvConf::parse(text);
  REQUIRE(c.nameservers.size() == 1);
  CHECK(c.nameservers[0].address == IpAddress::v4(10, 0, 0, 1));
  CHECK(has_issue(c, 2, ConfProblem::nul_byte));
  CHECK(has_issue(c, 3, ConfProblem::line_too_long));
  CHECK(has_issue(c, 4, ConfProblem::bad_address));
  CHECK(has_issue(c, 5, ConfProblem::bad_address));
  CHECK(has_issue(c, 6, ConfProblem::unknown_keyword));
  CHECK(has_issue(c, 7, ConfProblem::missing_value));
  CHECK(has_issue(c, 8, ConfProblem::bad_domain));
  REQUIRE(c.search.size() == 1);
  CHECK(c.search[0].view() == "ok.example");
}

TEST_CASE("the last search or domain line wins", "[resolv_conf]") {
  auto c = ResolvConf::parse("search a.example b.example\ndomain c.example d.example\n");
  REQUIRE(c.search.size() == 1);
  CHECK(c.search[0].view() == "c.example");
  auto many = ResolvConf::parse("search a b c d e f g h\n");
  CHECK(many.search.size() == ResolvConf::max_search);
  CHECK(has_issue(many, 1, ConfProblem::too_many_domains));
}

TEST_CASE("CRLF line ends and tabs are blanks", "[resolv_conf]") {
  auto c = ResolvConf::parse("nameserver\t127.0.0.7\r\noptions\tndots:3\r\n");
  CHECK(c.issues().empty());
  CHECK(c.nameservers[0].address == IpAddress::v4(127, 0, 0, 7));
  CHECK(c.ndots == 3);
}

TEST_CASE("programmatic servers take a port", "[resolv_conf]") {
  ResolvConf c;
  CHECK(c.add_nameserver("127.0.0.1:15301").ok());
  CHECK(c.add_nameserver("[::1]:15302").ok());
  CHECK(c.add_nameserver("::1").ok());
  CHECK(c.add_nameserver("127.0.0.2").ok());
  CHECK(c.add_nameserver("127.0.0.1:99999").error() == Errc::bad_port);
  CHECK(c.add_nameserver("nope:53").error() == Errc::bad_ipv4);
  REQUIRE(c.nameservers.size() == 4);
  CHECK(c.nameservers[0].port == 15301);
  CHECK(c.nameservers[1].port == 15302);
  CHECK(c.nameservers[1].address.is_v6());
  CHECK(c.nameservers[2].port == 53);
  CHECK(c.nameservers[3].port == 53);
  for (int i = 0; i < 4; ++i) CHECK(c.add_nameserver("127.0.0.3:53").ok());
  CHECK(c.add_nameserver("127.0.0.3:53").error() == Errc::capacity_exceeded);
  auto parsed = ResolvConf::parse("");
  CHECK(parsed.add_nameserver("127.0.0.1:5353").ok());
  CHECK(parsed.nameservers.size() == 1);  // replaces the glibc default
}

TEST_CASE("load reads a file and reports a missing one", "[resolv_conf]") {
  CHECK(ResolvConf::load("/nonexistent/resolv.conf").error() == Errc::not_found);
  char path_buf[] = "/tmp/svcres_resolv_XXXXXX";
  int fd = mkstemp(path_buf);
  REQUIRE(fd >= 0);
  std::string path = path_buf;
  std::FILE* f = fdopen(fd, "wb");
  REQUIRE(f);
  std::string text = "nameserver 127.0.0.5\n" + std::string(5000, 'x') + "\noptions ndots:4";  // no final newline
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
  auto c = ResolvConf::load(path.c_str());
  std::remove(path.c_str());
  REQUIRE(c.ok());
  CHECK(c->nameservers[0].address == IpAddress::v4(127, 0, 0, 5));
  CHECK(c->ndots == 4);
  REQUIRE(c->issues().size() == 1);
  CHECK(c->issues()[0].line == 2);
  CHECK(c->issues()[0].problem == ConfProblem::line_too_long);
}
