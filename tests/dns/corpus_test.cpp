// Every captured response in tests/data/corpus parses and matches its MANIFEST.csv row.
#include <cstdint>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "svcres/dns/message.hpp"
#include "test.hpp"

using namespace svcres;
using namespace svcres::dns;

namespace {
std::vector<std::uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<std::uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string f;
  while (std::getline(ss, f, sep)) out.push_back(f);
  return out;
}
}  // namespace

TEST_CASE("corpus matches MANIFEST", "[dns][corpus]") {
  const std::string dir = svcres_test::data_dir() + "/corpus/";
  std::ifstream manifest(dir + "MANIFEST.csv");
  REQUIRE(manifest.good());
  std::string line;
  std::getline(manifest, line);
  int rows = 0;
  while (std::getline(manifest, line)) {
    auto f = split(line, ',');
    REQUIRE(f.size() == 13);
    INFO(f[0]);
    auto bytes = read_file(dir + f[0]);
    REQUIRE(bytes.size() == std::stoul(f[12]));
    auto m = Message::parse(bytes.data(), bytes.size());
    REQUIRE(m.ok());
    CHECK(std::string(to_string(m->rcode())) == f[4]);
    CHECK(m->header().ancount == std::stoul(f[5]));
    CHECK(m->header().tc == (f[6] == "1"));
    CHECK(m->header().nscount == std::stoul(f[7]));
    CHECK(m->header().arcount == std::stoul(f[8]));
    CHECK(m->header().aa == (f[9] == "1"));
    // edns_bufsize is what the query advertised (0: no OPT in the query).
    const unsigned bufsize = std::stoul(f[11]);
    if (bufsize == 0) {
      CHECK_FALSE(m->has_opt());  // RFC 6891 §7: no OPT in a reply to a query without one
      if (f[10] == "udp") CHECK(bytes.size() <= 512);
    } else {
      CHECK(bytes.size() <= bufsize);
      // dnsmasq leaves the OPT out when it would not fit: only then may it be missing.
      if (!m->has_opt()) CHECK(bytes.size() + 11 > bufsize);
      if (m->has_opt()) CHECK(m->opt()->udp_payload >= 512);
    }
    REQUIRE(m->has_question());
    CHECK(std::string(m->question().name.to_text().view()) == f[2]);
    Type qt;
    REQUIRE(type_from_text(f[3], qt));
    CHECK(m->question().type == qt);
    ++rows;
  }
  CHECK(rows == 102);
}
