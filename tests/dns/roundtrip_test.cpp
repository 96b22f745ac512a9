// Random messages written with Writer and parsed back must equal what was written, field by field.
#include <cstdint>
#include <string>
#include <vector>

#include "svcres/core/random.hpp"
#include "svcres/dns/message.hpp"
#include "svcres/dns/writer.hpp"
#include "test.hpp"

using namespace svcres;
using namespace svcres::dns;

namespace {
struct Expected {
  Section section;
  Name owner;
  Type type;
  std::uint16_t klass;
  std::uint32_t ttl;
  IpAddress addr;
  std::uint16_t a = 0, b = 0, c = 0;  // SRV priority, weight, port
  Name n1, n2;                        // SRV target, CNAME/NS/PTR target, SOA mname/rname
  std::uint32_t soa[5] = {};
  std::vector<std::string> txt;
  std::vector<std::uint8_t> raw;
};

Name random_name(Rng& rng, const std::vector<Name>& pool) {
  // Mostly names sharing suffixes (so compression is exercised), sometimes odd bytes and case.
  Name base = pool[rng.below(static_cast<std::uint32_t>(pool.size()))];
  const unsigned extra = rng.below(3);
  for (unsigned i = 0; i < extra; ++i) {
    std::string label;
    const unsigned len = 1 + rng.below(rng.below(4) == 0 ? 63 : 12);
    for (unsigned k = 0; k < len; ++k)
      label += rng.below(8) == 0 ? static_cast<char>(rng.below(256)) : static_cast<char>('a' + rng.below(26));
    std::string esc;
    for (unsigned char ch : label) {
      esc += '\\';
      esc += static_cast<char>('0' + ch / 100);
      esc += static_cast<char>('0' + ch / 10 % 10);
      esc += static_cast<char>('0' + ch % 10);
    }
    auto l = Name::from_text(esc);
    REQUIRE(l.ok());
    auto joined = l->concat(base);
    if (joined.ok()) base = *joined;
  }
  if (rng.below(2)) randomize_case(base, rng);
  return base;
}

bool same(const Name& a, const NameRef& b) {
  auto n = b.to_name();
  return n.ok() && n->equals_exact(a);
}
}  // namespace

TEST_CASE("random messages round trip through Writer and parse", "[dns][roundtrip]") {
  Rng rng(20240601);
  std::vector<Name> pool;
  for (const char* t : {".", "local", "user-service.local", "order-service.local", "a.b.c.d.e.f.g.local", "x"})
    pool.push_back(Name::from_text(t).value());
  std::vector<std::uint8_t> buf(70000);
  int messages = 0;
  std::size_t records = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    Header h;
    h.id = static_cast<std::uint16_t>(rng());
    h.qr = rng.below(2);
    h.aa = rng.below(2);
    h.tc = rng.below(2);
    h.rd = rng.below(2);
    h.ra = rng.below(2);
    h.ad = rng.below(2);
    h.cd = rng.below(2);
    h.opcode = static_cast<std::uint8_t>(rng.below(16));
    h.rcode = static_cast<std::uint8_t>(rng.below(16));
    Writer w(buf.data(), iter % 50 == 0 ? 200 : buf.size());
    w.set_header(h);
    const Name qname = random_name(rng, pool);
    const Type qtype = static_cast<Type>(1 + rng.below(300));
    w.add_question(qname, qtype);
    std::vector<Expected> want;
    const unsigned n = rng.below(40);
    bool opt_written = false;
    for (unsigned i = 0; i < n; ++i) {
      Expected e;
      e.section = static_cast<Section>(1 + rng.below(3));
      if (!want.empty() && e.section < want.back().section) e.section = want.back().section;
      w.begin_section(e.section);
      e.owner = random_name(rng, pool);
      e.klass = class_in;
      e.ttl = static_cast<std::uint32_t>(rng()) & 0x7fffffffu;
      switch (rng.below(10)) {
        case 0:
          e.type = Type::A;
          e.addr = IpAddress::v4(10, static_cast<std::uint8_t>(rng()), static_cast<std::uint8_t>(rng()), 1);
          w.add_a(e.owner, e.ttl, e.addr);
          break;
        case 1: {
          e.type = Type::AAAA;
          std::uint8_t b[16];
          for (auto& x : b) x = static_cast<std::uint8_t>(rng());
          e.addr = IpAddress::from_v6_bytes(b);
          w.add_aaaa(e.owner, e.ttl, e.addr);
          break;
        }
        case 2:
          e.type = Type::SRV;
          e.a = static_cast<std::uint16_t>(rng());
          e.b = static_cast<std::uint16_t>(rng());
          e.c = static_cast<std::uint16_t>(rng());
          e.n1 = random_name(rng, pool);
          w.add_srv(e.owner, e.ttl, e.a, e.b, e.c, e.n1);
          break;
        case 3:
          e.type = Type::CNAME;
          e.n1 = random_name(rng, pool);
          w.add_cname(e.owner, e.ttl, e.n1);
          break;
        case 4:
          e.type = rng.below(2) ? Type::NS : Type::PTR;
          e.n1 = random_name(rng, pool);
          if (e.type == Type::NS) w.add_ns(e.owner, e.ttl, e.n1);
          else w.add_ptr(e.owner, e.ttl, e.n1);
          break;
        case 5:
          e.type = Type::SOA;
          e.n1 = random_name(rng, pool);
          e.n2 = random_name(rng, pool);
          for (auto& v : e.soa) v = static_cast<std::uint32_t>(rng());
          w.add_soa(e.owner, e.ttl, e.n1, e.n2, e.soa[0], e.soa[1], e.soa[2], e.soa[3], e.soa[4]);
          break;
        case 6: {
          e.type = Type::TXT;
          const unsigned parts = 1 + rng.below(3);
          std::vector<std::string_view> views;
          for (unsigned k = 0; k < parts; ++k) e.txt.emplace_back(rng.below(300) % 256, static_cast<char>(rng.below(256)));
          for (auto& s : e.txt) views.emplace_back(s);
          w.add_txt(e.owner, e.ttl, views.data(), views.size());
          break;
        }
        case 7:
          if (!opt_written) {
            opt_written = true;
            e.section = Section::additional;
            e.type = Type::OPT;
            e.owner = Name();
            e.klass = static_cast<std::uint16_t>(512 + rng.below(4000));
            e.a = static_cast<std::uint16_t>(rng.below(256));  // extended rcode high
            e.b = static_cast<std::uint16_t>(rng.below(256));  // version
            e.c = static_cast<std::uint16_t>(rng.below(2));    // DO
            e.raw = {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8};    // a COOKIE-shaped option
            w.add_opt(e.klass, static_cast<std::uint8_t>(e.a), static_cast<std::uint8_t>(e.b), e.c != 0,
                      e.raw.data(), static_cast<std::uint16_t>(e.raw.size()));
            break;
          }
          [[fallthrough]];
        default: {
          e.type = static_cast<Type>(256 + rng.below(1000));
          e.klass = static_cast<std::uint16_t>(rng());
          e.raw.resize(rng.below(40));
          for (auto& x : e.raw) x = static_cast<std::uint8_t>(rng());
          w.add_raw(e.owner, e.type, e.klass, e.ttl, e.raw.data(), e.raw.size());
          break;
        }
      }
      want.push_back(e);
    }
    auto size = w.finish();
    if (!size.ok()) {
      CHECK(size.error() == Errc::buffer_too_small);  // only the 200-byte buffers may overflow
      continue;
    }
    auto m = Message::parse(buf.data(), *size);
    REQUIRE(m.ok());
    ++messages;
    CHECK(m->header().id == h.id);
    CHECK(m->header().qr == h.qr);
    CHECK(m->header().aa == h.aa);
    CHECK(m->header().tc == h.tc);
    CHECK(m->header().rd == h.rd);
    CHECK(m->header().ra == h.ra);
    CHECK(m->header().ad == h.ad);
    CHECK(m->header().cd == h.cd);
    CHECK(m->header().opcode == h.opcode);
    CHECK(m->header().rcode == h.rcode);
    REQUIRE(m->has_question());
    CHECK(same(qname, m->question().name));
    CHECK(m->question().type == qtype);
    std::size_t i = 0;
    for (Section s : {Section::answer, Section::authority, Section::additional}) {
      for (const Record& r : m->records(s)) {
        REQUIRE(i < want.size());
        const Expected& e = want[i++];
        INFO("message " << iter << " record " << i);
        CHECK(r.section == e.section);
        CHECK(same(e.owner, r.owner));
        CHECK(r.type == e.type);
        CHECK(r.klass == e.klass);
        if (e.type != Type::OPT) CHECK(r.ttl == e.ttl);
        switch (e.type) {
          case Type::A: CHECK(*r.as_a() == e.addr); break;
          case Type::AAAA: CHECK(*r.as_aaaa() == e.addr); break;
          case Type::SRV: {
            auto v = *r.as_srv();
            CHECK(v.priority == e.a);
            CHECK(v.weight == e.b);
            CHECK(v.port == e.c);
            CHECK(same(e.n1, v.target));
            // RFC 2782: the target is written in full, never as a pointer.
            CHECK(r.rdlength == 6 + e.n1.wire_size());
            break;
          }
          case Type::CNAME:
          case Type::NS:
          case Type::PTR: CHECK(same(e.n1, *r.as_name())); break;
          case Type::SOA: {
            auto v = *r.as_soa();
            CHECK(same(e.n1, v.mname));
            CHECK(same(e.n2, v.rname));
            CHECK(v.serial == e.soa[0]);
            CHECK(v.refresh == e.soa[1]);
            CHECK(v.retry == e.soa[2]);
            CHECK(v.expire == e.soa[3]);
            CHECK(v.minimum == e.soa[4]);
            break;
          }
          case Type::TXT: {
            std::vector<std::string> got;
            const TxtView txt = *r.as_txt();
            for (std::string_view sv : txt) got.emplace_back(sv);
            CHECK(got == e.txt);
            break;
          }
          case Type::OPT: {
            auto o = *r.as_opt();
            CHECK(o.udp_payload == e.klass);
            CHECK(o.extended_rcode_high == e.a);
            CHECK(o.version == e.b);
            CHECK(o.dnssec_ok == (e.c != 0));
            CHECK(std::vector<std::uint8_t>(o.options, o.options + o.options_size) == e.raw);
            CHECK(static_cast<unsigned>(m->rcode()) == (unsigned{o.extended_rcode_high} << 4 | h.rcode));
            break;
          }
          default: CHECK(std::vector<std::uint8_t>(r.rdata, r.rdata + r.rdlength) == e.raw); break;
        }
        ++records;
      }
    }
    CHECK(i == want.size());
  }
  CHECK(messages > 2500);
  CHECK(records > 40000);
}

TEST_CASE("Writer compresses owners and leaves SRV targets whole", "[dns][writer]") {
  std::uint8_t buf[512];
  Writer w(buf, sizeof buf);
  auto svc = Name::from_text("user-service.local").value();
  auto task = Name::from_text("t1.user-service.local").value();
  w.add_question(svc, Type::SRV);
  w.add_srv(svc, 60, 1, 1, 8080, task);
  w.begin_section(Section::additional);
  w.add_a(task, 60, IpAddress::v4(10, 0, 2, 10));
  auto n = w.finish();
  REQUIRE(n.ok());
  // question 20 + 4; SRV: owner pointer 2 + 10 + 6 + the full target 23; A: its owner is a pointer
  // to that target (pointing at an SRV target is fine, compressing one is not) 2 + 10 + 4.
  CHECK(*n == 12 + 24 + (2 + 10 + 6 + 23) + (2 + 10 + 4));
  auto m = Message::parse(buf, *n);
  REQUIRE(m.ok());
  CHECK(m->additionals().begin()->owner.equals(task));
}

TEST_CASE("Writer errors are sticky", "[dns][writer]") {
  std::uint8_t buf[40];
  Writer w(buf, sizeof buf);
  w.add_question(Name::from_text("a-rather-long-name.example").value(), Type::A);
  w.add_a(Name(), 1, IpAddress::v4(1, 2, 3, 4));
  CHECK(w.error() == Errc::buffer_too_small);
  CHECK(w.finish().error() == Errc::buffer_too_small);
  std::uint8_t big[100];
  Writer order(big, sizeof big);
  order.begin_section(Section::additional);
  order.begin_section(Section::answer);
  CHECK(order.finish().error() == Errc::invalid_argument);
  Writer v6(big, sizeof big);
  v6.add_a(Name(), 1, IpAddress::parse("::1").value());
  CHECK(v6.error() == Errc::invalid_argument);
}
