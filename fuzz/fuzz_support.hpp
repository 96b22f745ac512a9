#pragma once
// Shared helpers for the DNS codec fuzz targets: touch every field of a parsed message, rewrite a
// parsed message with Writer, and compare two parsed messages field by field. A broken invariant
// calls std::abort(), which libFuzzer and the replay main both report as a crash.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "svcres/dns/message.hpp"
#include "svcres/dns/writer.hpp"

namespace svcres_fuzz {

using namespace svcres;
using namespace svcres::dns;

inline void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
    std::abort();
  }
}

// Every name of a valid message decompresses and prints; the sum keeps the work observable.
inline std::size_t touch(const NameRef& n) {
  auto name = n.to_name();
  require(name.ok(), "a validated name decompresses");
  require(n.equals(*name), "NameRef equals its own decompression");
  const NameText t = n.to_text();
  require(t.size > 0 && t.size < max_name_text, "name text fits");
  return name->wire_size() + t.size;
}

inline std::size_t walk(const Message& m) {
  std::size_t sum = m.header().id + static_cast<std::size_t>(m.rcode());
  for (const Question& q : m.questions()) sum += touch(q.name) + static_cast<std::size_t>(q.type);
  for (Section s : {Section::answer, Section::authority, Section::additional}) {
    for (const Record& r : m.records(s)) {
      sum += touch(r.owner) + r.ttl + r.rdlength;
      require((r.ttl & 0x80000000u) == 0, "RFC 2181 TTL rule");
      switch (r.type) {
        case Type::A: sum += r.as_a()->bytes()[0]; break;
        case Type::AAAA: sum += r.as_aaaa()->bytes()[15]; break;
        case Type::SRV: sum += touch(r.as_srv()->target) + r.as_srv()->port; break;
        case Type::CNAME: case Type::NS: case Type::PTR: sum += touch(*r.as_name()); break;
        case Type::SOA: sum += touch(r.as_soa()->mname) + touch(r.as_soa()->rname) + r.as_soa()->serial; break;
        case Type::TXT: {
          const TxtView txt = *r.as_txt();
          for (auto part : txt) sum += part.size();
          break;
        }
        case Type::OPT: sum += r.as_opt()->udp_payload; break;
        default:
          for (std::size_t i = 0; i < r.rdlength; ++i) sum += r.rdata[i];
      }
    }
  }
  return sum;
}

// Writes the uncompressed rdata of a name-bearing record into `out`; returns its size.
inline std::size_t flat_rdata(const Record& r, std::uint8_t* out) {
  std::size_t n = 0;
  auto put = [&](const NameRef& ref) {
    auto name = ref.to_name();
    require(name.ok(), "rdata name decompresses");
    std::memcpy(out + n, name->wire(), name->wire_size());
    n += name->wire_size();
  };
  switch (r.type) {
    case Type::SRV:
      std::memcpy(out, r.rdata, 6);
      n = 6;
      put(r.as_srv()->target);
      break;
    case Type::SOA:
      put(r.as_soa()->mname);
      put(r.as_soa()->rname);
      std::memcpy(out + n, r.rdata + r.rdlength - 20, 20);
      n += 20;
      break;
    default: put(*r.as_name()); break;
  }
  return n;
}

// Writes `m` again with Writer: typed adds for class IN (so compression is exercised), flattened
// rdata otherwise.
inline Result<std::size_t> rewrite(const Message& m, std::uint8_t* buf, std::size_t cap) {
  Writer w(buf, cap);
  w.set_header(m.header());
  for (const Question& q : m.questions()) w.add_question(*q.name.to_name(), q.type, q.klass);
  for (Section s : {Section::answer, Section::authority, Section::additional}) {
    w.begin_section(s);
    for (const Record& r : m.records(s)) {
      const Name owner = *r.owner.to_name();
      const bool in = r.klass == class_in;
      switch (r.type) {
        case Type::A:
          if (in) w.add_a(owner, r.ttl, *r.as_a());
          else w.add_raw(owner, r.type, r.klass, r.ttl, r.rdata, r.rdlength);
          break;
        case Type::AAAA:
          if (in) w.add_aaaa(owner, r.ttl, *r.as_aaaa());
          else w.add_raw(owner, r.type, r.klass, r.ttl, r.rdata, r.rdlength);
          break;
        case Type::SRV:
        case Type::SOA:
        case Type::CNAME:
        case Type::NS:
        case Type::PTR: {
          if (in && r.type == Type::SRV) {
            auto v = *r.as_srv();
            w.add_srv(owner, r.ttl, v.priority, v.weight, v.port, *v.target.to_name());
          } else if (in && r.type == Type::SOA) {
            auto v = *r.as_soa();
            w.add_soa(owner, r.ttl, *v.mname.to_name(), *v.rname.to_name(), v.serial, v.refresh, v.retry, v.expire,
                      v.minimum);
          } else if (in && r.type == Type::CNAME) {
            w.add_cname(owner, r.ttl, *r.as_name()->to_name());
          } else if (in && r.type == Type::NS) {
            w.add_ns(owner, r.ttl, *r.as_name()->to_name());
          } else if (in && r.type == Type::PTR) {
            w.add_ptr(owner, r.ttl, *r.as_name()->to_name());
          } else {
            std::uint8_t flat[2 * max_name_wire + 20];
            w.add_raw(owner, r.type, r.klass, r.ttl, flat, flat_rdata(r, flat));
          }
          break;
        }
        case Type::OPT: {
          auto o = *r.as_opt();
          // add_opt() sets DO only; the raw form keeps every flag bit (RFC 6891 §6.1.4 Z bits).
          const std::uint32_t ttl = std::uint32_t{o.extended_rcode_high} << 24 | std::uint32_t{o.version} << 16 | o.flags;
          w.add_raw(Name(), Type::OPT, o.udp_payload, ttl, o.options, o.options_size);
          break;
        }
        default: w.add_raw(owner, r.type, r.klass, r.ttl, r.rdata, r.rdlength); break;
      }
    }
  }
  return w.finish();
}

inline bool same_name(const NameRef& a, const NameRef& b) { return a.to_name()->equals_exact(*b.to_name()); }

// Field-by-field equality of two parsed messages (names exact, rdata decoded).
inline void require_same(const Message& a, const Message& b) {
  const Header &x = a.header(), &y = b.header();
  require(x.id == y.id && x.qr == y.qr && x.aa == y.aa && x.tc == y.tc && x.rd == y.rd && x.ra == y.ra &&
              x.ad == y.ad && x.cd == y.cd && x.opcode == y.opcode && x.rcode == y.rcode && x.qdcount == y.qdcount &&
              x.ancount == y.ancount && x.nscount == y.nscount && x.arcount == y.arcount,
          "header");
  require(a.rcode() == b.rcode(), "extended rcode");
  auto qa = a.questions().begin(), qb = b.questions().begin();
  for (std::size_t i = 0; i < x.qdcount; ++i, ++qa, ++qb) {
    require(same_name((*qa).name, (*qb).name) && (*qa).type == (*qb).type && (*qa).klass == (*qb).klass, "question");
  }
  for (Section s : {Section::answer, Section::authority, Section::additional}) {
    auto rb = b.records(s).begin();
    for (const Record& r : a.records(s)) {
      const Record& o = *rb;
      require(same_name(r.owner, o.owner) && r.type == o.type && r.klass == o.klass && r.ttl == o.ttl, "record fields");
      if (r.type == Type::OPT) {
        auto p = *r.as_opt(), q = *o.as_opt();
        require(p.udp_payload == q.udp_payload && p.extended_rcode_high == q.extended_rcode_high &&
                    p.version == q.version && p.flags == q.flags && p.options_size == q.options_size &&
                    std::memcmp(p.options, q.options, p.options_size) == 0,
                "OPT");
      } else if (r.type == Type::SRV || r.type == Type::SOA || r.type == Type::CNAME || r.type == Type::NS ||
                 r.type == Type::PTR) {
        std::uint8_t f1[2 * max_name_wire + 20], f2[2 * max_name_wire + 20];
        const std::size_t n1 = flat_rdata(r, f1), n2 = flat_rdata(o, f2);
        require(n1 == n2 && std::memcmp(f1, f2, n1) == 0, "rdata with names");
      } else {
        require(r.rdlength == o.rdlength && std::memcmp(r.rdata, o.rdata, r.rdlength) == 0, "raw rdata");
      }
      ++rb;
    }
  }
}

}  // namespace svcres_fuzz
