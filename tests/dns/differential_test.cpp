// Differential test: every corpus message and thousands of mutated and generated ones are parsed by
// svcres, ldns (ldns_wire2pkt) and libknot (knot_pkt_parse). Accept/reject must agree, and every
// record of an accepted message must agree: owner (exact bytes), type, class, TTL and rdata with
// names decompressed.
//
// Deliberate divergences (each is counted, and the test prints how often it was seen):
// | input                                   | svcres            | peer          | why
// | bytes after the last record             | trailing_data     | ldns accepts  | a length mismatch means a
// |                                         |                   |               | framing bug or injection
// | TTL with the top bit set                | reads 0           | raw value     | RFC 2181 §8
// | A/AAAA rdlength other than 4/16, name   | bad_rdlength      | ldns accepts, | RFC 1035 §3.4.1, RFC 3596
// | or SOA rdata with extra/missing bytes   |                   | ignores rest  | §2.2: the length is fixed
// | types outside A,NS,CNAME,SOA,PTR,TXT,   | opaque rdata      | peers check   | svcres only decodes what
// | AAAA,SRV,OPT (e.g. MX, NAPTR, RRSIG)    | (never rejected)  | and decompress| service discovery uses;
// |                                         |                   |               | compared only when peers agree
// | pointer into the header (< 12)          | bad_pointer       | ldns accepts  | no name can live there
// | OPT in answer/authority or non-root     | misplaced_opt     | ldns accepts  | RFC 6891 §6.1.1
// | QDCOUNT > 1                             | accepted          | knot rejects  | RFC 1035 allows it; the
// |                                         |                   |               | resolver checks QDCOUNT
// | names with upper case                  | case kept         | knot lowers   | RFC 4343 §4.1 (compared
// |                                         |                   |               | case-blind with knot only)
// | empty TXT rdata                         | bad_rdlength      | ldns accepts  | RFC 1035 §3.3.14: one or more
// Both peers are consulted; svcres must agree with at least one peer on accept/reject, and with
// both on every record, for every input not in a divergence class above.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

extern "C" {
#include <ldns/ldns.h>
#include <libknot/libknot.h>
}

#include "svcres/core/random.hpp"
#include "svcres/dns/message.hpp"
#include "svcres/dns/writer.hpp"
#include "test.hpp"

using namespace svcres;
using namespace svcres::dns;

namespace {
struct Rec {
  int section;
  std::vector<std::uint8_t> owner;
  std::uint16_t type, klass;
  std::uint32_t ttl;
  std::vector<std::uint8_t> rdata;
  bool operator==(const Rec& o) const {
    return section == o.section && owner == o.owner && type == o.type && klass == o.klass && ttl == o.ttl &&
           rdata == o.rdata;
  }
};
struct Parsed {
  bool ok = false;
  std::string error;
  std::vector<Rec> recs;  // OPT excluded; compared through edns below
  bool edns = false;
  std::uint16_t udp = 0;
  std::uint8_t ext_rcode = 0, version = 0;
  bool do_bit = false;
};

std::string describe(const Rec& r) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "s%d type %u class %u ttl %u owner/rdata ", r.section, r.type, r.klass, r.ttl);
  std::string out = buf;
  for (auto c : r.owner) out += std::to_string(c) + ",";
  out += " / ";
  for (auto c : r.rdata) out += std::to_string(c) + ",";
  return out;
}

std::uint32_t rfc2181_ttl(std::uint32_t t) { return (t & 0x80000000u) ? 0 : t; }

bool known_type(std::uint16_t t) {
  switch (static_cast<Type>(t)) {
    case Type::A: case Type::NS: case Type::CNAME: case Type::SOA: case Type::PTR: case Type::TXT:
    case Type::AAAA: case Type::SRV: case Type::OPT: return true;
    default: return false;
  }
}

bool g_lower = false;  // knot_pkt_parse lowers the case of every name it decompresses

void append_name(std::vector<std::uint8_t>& out, const NameRef& n) {
  auto name = n.to_name();
  REQUIRE(name.ok());
  for (std::size_t i = 0; i < name->wire_size(); ++i)
    out.push_back(g_lower ? svcres::dns::detail::ascii_lower(name->wire()[i]) : name->wire()[i]);
}

Parsed parse_svcres(const std::vector<std::uint8_t>& b, bool lower_names) {
  g_lower = lower_names;
  Parsed p;
  auto m = Message::parse(b.data(), b.size());
  if (!m.ok()) {
    p.error = to_string(m.error());
    return p;
  }
  p.ok = true;
  for (Section s : {Section::answer, Section::authority, Section::additional}) {
    for (const Record& r : m->records(s)) {
      if (r.type == Type::OPT) {
        auto o = *r.as_opt();
        p.edns = true;
        p.udp = o.udp_payload;
        p.ext_rcode = o.extended_rcode_high;
        p.version = o.version;
        p.do_bit = o.dnssec_ok;
        continue;
      }
      Rec x{static_cast<int>(s), {}, static_cast<std::uint16_t>(r.type), r.klass, r.ttl, {}};
      append_name(x.owner, r.owner);
      switch (r.type) {
        case Type::NS: case Type::CNAME: case Type::PTR: append_name(x.rdata, *r.as_name()); break;
        case Type::SRV:
          x.rdata.assign(r.rdata, r.rdata + 6);
          append_name(x.rdata, r.as_srv()->target);
          break;
        case Type::SOA: {
          auto v = *r.as_soa();
          append_name(x.rdata, v.mname);
          append_name(x.rdata, v.rname);
          x.rdata.insert(x.rdata.end(), r.rdata + r.rdlength - 20, r.rdata + r.rdlength);
          break;
        }
        default: x.rdata.assign(r.rdata, r.rdata + r.rdlength); break;
      }
      p.recs.push_back(std::move(x));
    }
  }
  return p;
}

Parsed parse_ldns(const std::vector<std::uint8_t>& b) {
  Parsed p;
  ldns_pkt* pkt = nullptr;
  ldns_status st = ldns_wire2pkt(&pkt, b.data(), b.size());
  if (st != LDNS_STATUS_OK) {
    p.error = ldns_get_errorstr_by_id(st);
    return p;
  }
  p.ok = true;
  ldns_rr_list* lists[3] = {ldns_pkt_answer(pkt), ldns_pkt_authority(pkt), ldns_pkt_additional(pkt)};
  for (int s = 0; s < 3; ++s) {
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(lists[s]); ++i) {
      ldns_rr* rr = ldns_rr_list_rr(lists[s], i);
      Rec x{s + 1, {}, static_cast<std::uint16_t>(ldns_rr_get_type(rr)),
            static_cast<std::uint16_t>(ldns_rr_get_class(rr)), rfc2181_ttl(ldns_rr_ttl(rr)), {}};
      ldns_rdf* o = ldns_rr_owner(rr);
      x.owner.assign(ldns_rdf_data(o), ldns_rdf_data(o) + ldns_rdf_size(o));
      for (std::size_t k = 0; k < ldns_rr_rd_count(rr); ++k) {
        ldns_rdf* f = ldns_rr_rdf(rr, k);
        x.rdata.insert(x.rdata.end(), ldns_rdf_data(f), ldns_rdf_data(f) + ldns_rdf_size(f));
      }
      p.recs.push_back(std::move(x));
    }
  }
  p.edns = ldns_pkt_edns(pkt);
  p.udp = ldns_pkt_edns_udp_size(pkt);
  p.ext_rcode = ldns_pkt_edns_extended_rcode(pkt);
  p.version = ldns_pkt_edns_version(pkt);
  p.do_bit = ldns_pkt_edns_do(pkt);
  ldns_pkt_free(pkt);
  return p;
}

Parsed parse_knot(const std::vector<std::uint8_t>& b) {
  Parsed p;
  if (b.size() > 65535) {
    p.error = "too large for knot_pkt_new";
    return p;
  }
  std::vector<std::uint8_t> copy(b);
  knot_pkt_t* pkt = knot_pkt_new(copy.data(), static_cast<std::uint16_t>(copy.size()), nullptr);
  if (pkt == nullptr) {  // e.g. shorter than a header
    p.error = "knot_pkt_new refused the buffer";
    return p;
  }
  int rc = knot_pkt_parse(pkt, 0);
  if (rc != KNOT_EOK) {
    p.error = knot_strerror(rc);
    knot_pkt_free(pkt);
    return p;
  }
  p.ok = true;
  for (int s = 0; s < 3; ++s) {
    const knot_pktsection_t* sec = knot_pkt_section(pkt, static_cast<knot_section_t>(KNOT_ANSWER + s));
    for (std::uint16_t i = 0; i < sec->count; ++i) {
      const knot_rrset_t* rr = knot_pkt_rr(sec, i);
      if (rr->type == KNOT_RRTYPE_OPT) continue;
      knot_rdata_t* rd = rr->rrs.rdata;
      for (std::uint16_t k = 0; k < rr->rrs.count; ++k) {
        Rec x{s + 1, {}, rr->type, rr->rclass, rfc2181_ttl(rr->ttl), {}};
        x.owner.assign(rr->owner, rr->owner + knot_dname_size(rr->owner));
        x.rdata.assign(rd->data, rd->data + rd->len);
        p.recs.push_back(std::move(x));
        rd = knot_rdataset_next(rd);
      }
    }
  }
  if (pkt->opt_rr) {
    p.edns = true;
    p.udp = knot_edns_get_payload(pkt->opt_rr);
    p.ext_rcode = knot_edns_get_ext_rcode(pkt->opt_rr);
    p.version = knot_edns_get_version(pkt->opt_rr);
    p.do_bit = knot_edns_do(pkt->opt_rr);
  }
  knot_pkt_free(pkt);
  return p;
}

std::vector<std::uint8_t> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<std::uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Why svcres may legitimately disagree with a peer on this input; "" when it must agree.
std::string divergence(const std::vector<std::uint8_t>& b, const Parsed& ours, const Parsed& peer) {
  if (!ours.ok && (ours.error == to_string(Errc::trailing_data))) return "trailing data";
  // Scan the records that svcres got to, or rebuild the walk up to its failure with a lenient
  // reader: simplest is to look at what the peer parsed.
  if (peer.ok) {
    for (const Rec& r : peer.recs)
      if (!known_type(r.type)) return "type outside the typed set";
  }
  if (!ours.ok) {
    const std::string e = ours.error;
    if (e == to_string(Errc::bad_rdlength)) return "fixed-length rdata";
    if (e == to_string(Errc::bad_pointer)) return "pointer into header";
    if (e == to_string(Errc::misplaced_opt) || e == to_string(Errc::duplicate_opt)) return "OPT placement";
  }
  if (ours.ok && !peer.ok) {
    if (b.size() >= 6 && (b[4] << 8 | b[5]) > 1) return "QDCOUNT > 1";
    for (const Rec& r : ours.recs)
      if (!known_type(r.type)) return "type outside the typed set";
  }
  return "";
}
}  // namespace

TEST_CASE("svcres agrees with ldns and libknot", "[dns][differential]") {
  std::vector<std::vector<std::uint8_t>> inputs;
  for (const auto& e : std::filesystem::directory_iterator(svcres_test::data_dir() + "/corpus"))
    if (e.path().extension() == ".bin") inputs.push_back(read_file(e.path()));
  REQUIRE(inputs.size() == 102);
  const std::size_t corpus = inputs.size();
  Rng rng(99);
  // Mutations: byte flips, truncations, count changes, pointer-shaped bytes.
  for (int i = 0; i < 4000; ++i) {
    auto m = inputs[rng.below(static_cast<std::uint32_t>(corpus))];
    switch (rng.below(5)) {
      case 0: m[rng.below(static_cast<std::uint32_t>(m.size()))] = static_cast<std::uint8_t>(rng()); break;
      case 1: m.resize(rng.below(static_cast<std::uint32_t>(m.size()))); break;
      case 2: m[4 + rng.below(8)] ^= static_cast<std::uint8_t>(1u << rng.below(3)); break;
      case 3: {
        const std::size_t at = 12 + rng.below(static_cast<std::uint32_t>(m.size() - 13));
        m[at] = static_cast<std::uint8_t>(0xc0 | rng.below(4));
        m[at + 1] = static_cast<std::uint8_t>(rng());
        break;
      }
      default:
        for (int k = 0; k < 3; ++k) m[12 + rng.below(static_cast<std::uint32_t>(m.size() - 12))] ^= static_cast<std::uint8_t>(rng());
    }
    inputs.push_back(std::move(m));
  }
  // Generated: Writer output with the record mix the resolver cares about.
  for (int i = 0; i < 1000; ++i) {
    std::vector<std::uint8_t> buf(4096);
    Writer w(buf.data(), buf.size());
    Header h;
    h.id = static_cast<std::uint16_t>(i);
    h.qr = true;
    w.set_header(h);
    auto svc = Name::from_text("svc-" + std::to_string(rng.below(5)) + ".local").value();
    w.add_question(svc, Type::SRV);
    const unsigned n = 1 + rng.below(20);
    for (unsigned k = 0; k < n; ++k) {
      auto task = Name::from_text("t" + std::to_string(rng.below(100)) + ".svc-" + std::to_string(rng.below(5)) + ".local").value();
      switch (rng.below(5)) {
        case 0: w.add_srv(svc, 60, 1, 1, static_cast<std::uint16_t>(rng()), task); break;
        case 1: w.add_a(task, static_cast<std::uint32_t>(rng()), IpAddress::v4(10, 0, 0, static_cast<std::uint8_t>(k))); break;
        case 2: w.add_aaaa(task, 60, IpAddress::parse("2001:db8::1").value()); break;
        case 3: w.add_cname(task, 60, svc); break;
        default: w.add_txt(task, 60, "k=v"); break;
      }
    }
    w.begin_section(Section::authority);
    if (rng.below(2)) w.add_soa(Name::from_text("local").value(), 900, svc, svc, 1, 2, 3, 4, 5);
    if (rng.below(2)) w.add_opt(1232, 0, 0, rng.below(2));
    auto size = w.finish();
    REQUIRE(size.ok());
    buf.resize(*size);
    inputs.push_back(std::move(buf));
  }

  std::map<std::string, int> diverged;
  std::size_t agreed = 0, accepted = 0, records = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const auto& b = inputs[i];
    const Parsed ours_exact = parse_svcres(b, false);
    const Parsed ours_lower = parse_svcres(b, true);
    const Parsed ld = parse_ldns(b);
    const Parsed kn = parse_knot(b);
    const Parsed& ours = ours_exact;
    INFO("input " << i << (i < corpus ? " (corpus)" : i < corpus + 4000 ? " (mutated)" : " (generated)") << " svcres="
                  << (ours.ok ? "ok" : ours.error) << " ldns=" << (ld.ok ? "ok" : ld.error)
                  << " knot=" << (kn.ok ? "ok" : kn.error));
    if (i < corpus || i >= corpus + 4000) {
      // Real and generated messages: all three accept and agree completely.
      REQUIRE(ours.ok);
      REQUIRE(ld.ok);
      REQUIRE(kn.ok);
    }
    bool explained = false;
    for (const Parsed* peer : {&ld, &kn}) {
      const Parsed& ours = peer == &kn ? ours_lower : ours_exact;
      const std::string why = divergence(b, ours, *peer);
      if (ours.ok != peer->ok) {
        if (why.empty() && !(ours.ok ? false : (ld.ok != kn.ok))) {
          // Peers disagree with each other too: svcres must side with one of them (checked below).
          FAIL_CHECK("accept/reject differs from " << (peer == &ld ? "ldns" : "knot"));
        }
        if (!why.empty()) explained = true, ++diverged[why];
        continue;
      }
      if (!ours.ok) continue;
      if (!why.empty()) {
        ++diverged[why];
        explained = true;
        continue;
      }
      REQUIRE(ours.recs.size() == peer->recs.size());
      for (std::size_t k = 0; k < ours.recs.size(); ++k) {
        INFO("record " << k << " peer " << (peer == &ld ? "ldns" : "knot") << "\n ours " << describe(ours.recs[k])
                        << "\n peer " << describe(peer->recs[k]));
        CHECK(ours.recs[k] == peer->recs[k]);
      }
      CHECK(ours.edns == peer->edns);
      if (ours.edns && peer->edns) {
        CHECK(ours.udp == peer->udp);
        CHECK(ours.ext_rcode == peer->ext_rcode);
        CHECK(ours.version == peer->version);
        CHECK(ours.do_bit == peer->do_bit);
      }
    }
    if (!explained && ld.ok != kn.ok) CHECK((ours.ok == ld.ok || ours.ok == kn.ok));
    if (!explained) ++agreed;
    if (ours.ok) {
      ++accepted;
      records += ours.recs.size();
    }
  }
  for (const auto& [why, n] : diverged) std::printf("differential: %-28s %d\n", why.c_str(), n);
  std::printf("differential: %zu inputs, %zu fully agreed, %zu accepted by svcres, %zu records compared\n",
              inputs.size(), agreed, accepted, records);
  CHECK(agreed > inputs.size() / 2);
}
