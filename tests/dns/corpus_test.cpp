// Every captured response in tests/data/corpus parses and matches its MANIFEST.csv row.
#include <cstdint>
#include <fstream>
#include <cctype>
#include <iterator>
#include <map>
#include <set>
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

namespace {
std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// The A, AAAA and SRV data of a master file (RFC 1035 §5.1), enough of the format for local.zone:
// $ORIGIN, $TTL, relative and absolute owners, "@", optional TTL and class, comments, one record
// per line. Keyed by "owner|TYPE", each value a set of normalised rdata strings.
std::map<std::string, std::multiset<std::string>> load_zone(const std::string& path) {
  std::map<std::string, std::multiset<std::string>> zone;
  std::ifstream in(path);
  REQUIRE(in.good());
  std::string origin = ".", line, owner;
  auto absolute = [&](const std::string& n) {
    if (n == "@") return origin;
    if (!n.empty() && n.back() == '.') return lower(n);
    return lower(n + "." + (origin == "." ? "" : origin));
  };
  while (std::getline(in, line)) {
    if (auto semi = line.find(';'); semi != std::string::npos) line.erase(semi);
    std::istringstream ss(line);
    std::vector<std::string> tok;
    for (std::string t; ss >> t;) tok.push_back(t);
    if (tok.empty()) continue;
    if (tok[0] == "$ORIGIN") {
      origin = lower(tok.at(1));
      continue;
    }
    if (tok[0] == "$TTL") continue;
    std::size_t i = 0;
    if (line[0] != ' ' && line[0] != '\t') owner = absolute(tok[i++]);
    if (i < tok.size() && std::isdigit(static_cast<unsigned char>(tok[i][0]))) ++i;
    if (i < tok.size() && tok[i] == "IN") ++i;
    REQUIRE(i < tok.size());
    const std::string type = tok[i++];
    if (type == "A" || type == "AAAA") {
      auto ip = IpAddress::parse(tok.at(i));
      REQUIRE(ip.ok());
      zone[owner + "|" + type].insert(std::string(ip->to_text().view()));
    } else if (type == "SRV") {
      REQUIRE(tok.size() == i + 4);
      zone[owner + "|SRV"].insert(tok[i] + " " + tok[i + 1] + " " + tok[i + 2] + " " + absolute(tok[i + 3]));
    } else if (type == "CNAME") {
      zone[owner + "|CNAME"].insert(absolute(tok.at(i)));
    }
  }
  return zone;
}

// Normalised rdata of a parsed record in the same form as load_zone(); "" for other types.
std::string rdata_text(const Record& r) {
  switch (r.type) {
    case Type::A: return std::string(r.as_a()->to_text().view());
    case Type::AAAA: return std::string(r.as_aaaa()->to_text().view());
    case Type::CNAME: return lower(std::string(r.as_name()->to_text().view()));
    case Type::SRV: {
      auto s = *r.as_srv();
      return std::to_string(s.priority) + " " + std::to_string(s.weight) + " " + std::to_string(s.port) + " " +
             lower(std::string(s.target.to_text().view()));
    }
    default: return "";
  }
}
}  // namespace

TEST_CASE("corpus records agree with local.zone", "[dns][corpus]") {
  const auto zone = load_zone(svcres_test::data_dir() + "/local.zone");
  REQUIRE(zone.at("user-service.local.|SRV").size() == 3);
  REQUIRE(zone.at("batch-worker.local.|A").size() == 40);
  const std::string dir = svcres_test::data_dir() + "/corpus/";
  std::ifstream manifest(dir + "MANIFEST.csv");
  std::string line;
  std::getline(manifest, line);
  std::size_t checked = 0, complete_sets = 0;
  while (std::getline(manifest, line)) {
    auto f = split(line, ',');
    INFO(f[0]);
    auto bytes = read_file(dir + f[0]);
    auto m = Message::parse(bytes.data(), bytes.size());
    REQUIRE(m.ok());
    // Every A, AAAA, SRV and CNAME record in any section is one of the zone's.
    for (Section s : {Section::answer, Section::authority, Section::additional}) {
      for (const Record& r : m->records(s)) {
        if (r.type != Type::A && r.type != Type::AAAA && r.type != Type::SRV && r.type != Type::CNAME) continue;
        const std::string key = lower(std::string(r.owner.to_text().view())) + "|" + to_string(r.type);
        const std::string rd = rdata_text(r);
        INFO(key << " " << rd);
        auto it = zone.find(key);
        REQUIRE(it != zone.end());
        CHECK(it->second.count(rd) == 1);
        ++checked;
      }
    }
    // A complete answer (not truncated, NOERROR) to an A, AAAA or SRV question holds exactly the
    // zone's set for the name, after following CNAMEs in the answer.
    if (f[6] == "1" || f[4] != "NOERROR" || (f[3] != "A" && f[3] != "AAAA" && f[3] != "SRV")) continue;
    std::string name = lower(f[2]);
    for (int hop = 0; hop < 8; ++hop) {
      bool moved = false;
      for (const Record& r : m->answers())
        if (r.type == Type::CNAME && lower(std::string(r.owner.to_text().view())) == name) {
          name = rdata_text(r);
          moved = true;
        }
      if (!moved) break;
    }
    std::multiset<std::string> got;
    for (const Record& r : m->answers())
      if (to_string(r.type) == f[3] && lower(std::string(r.owner.to_text().view())) == name) got.insert(rdata_text(r));
    auto it = zone.find(name + "|" + f[3]);
    const std::multiset<std::string> want = it == zone.end() ? std::multiset<std::string>{} : it->second;
    CHECK(got == want);
    ++complete_sets;
  }
  CHECK(checked > 1000);
  CHECK(complete_sets > 40);
}
