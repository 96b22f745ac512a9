#pragma once
// MiniZone: a tiny authoritative answer builder for tests, on the codec's Writer. It answers A, AAAA,
// SRV and CNAME from a list of records, follows in-zone CNAMEs, puts SRV targets' addresses in the
// additional section (switchable), answers NXDOMAIN/NODATA with or without SOA, truncates (TC=1) when
// the answer does not fit the client's UDP size, and can answer only `max_answers` random records
// per query the way Route 53 answers a multivalue name (at most 8).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "svcres/dns/message.hpp"
#include "svcres/dns/name.hpp"
#include "svcres/dns/writer.hpp"

namespace svcres_test {

using svcres::IpAddress;
using svcres::dns::Name;
using svcres::dns::Type;

inline Name name(const char* text) { return Name::from_text(text).value(); }

struct ZoneRecord {
  Name owner;
  Type type;
  std::uint32_t ttl;
  IpAddress address;  // A, AAAA
  Name target;        // CNAME, SRV
  std::uint16_t priority = 1, weight = 1, port = 0;
};

class MiniZone {
 public:
  Name origin = name("local.");
  bool with_soa = true;            // SOA in negative answers (dnsmasq sends none)
  bool additional = true;          // SRV targets' addresses in the additional section
  std::uint32_t soa_ttl = 900, soa_minimum = 30;
  std::uint16_t soa_class = svcres::dns::class_in;  // another class: an SOA the resolver must ignore
  std::size_t max_answers = 0;     // >0: answer that many random records (Route 53: 8)
  bool truncate_partial = false;   // TC with a partial answer (dnsmasq) instead of an empty one
  std::mt19937 rng{12345};

  void a(const char* owner, const char* ip, std::uint32_t ttl = 60) {
    records.push_back({name(owner), Type::A, ttl, IpAddress::parse(ip).value(), Name(), 1, 1, 0});
  }
  void aaaa(const char* owner, const char* ip, std::uint32_t ttl = 60) {
    records.push_back({name(owner), Type::AAAA, ttl, IpAddress::parse(ip).value(), Name(), 1, 1, 0});
  }
  void srv(const char* owner, const char* target, std::uint16_t port, std::uint32_t ttl = 60, std::uint16_t prio = 1,
           std::uint16_t weight = 1) {
    records.push_back({name(owner), Type::SRV, ttl, IpAddress(), name(target), prio, weight, port});
  }
  void cname(const char* owner, const char* target, std::uint32_t ttl = 300) {
    records.push_back({name(owner), Type::CNAME, ttl, IpAddress(), name(target), 1, 1, 0});
  }
  // A Cloud Map-like service: n tasks "task<i>.<svc>" with SRV + A at 127.0.<net>.<10+i>.
  void service(const std::string& svc, int n, std::uint16_t port, int net, std::uint32_t ttl = 60) {
    for (int i = 0; i < n; ++i) {
      std::string t = "task" + std::to_string(i) + "." + svc;
      std::string ip = "127.0." + std::to_string(net) + "." + std::to_string(10 + i);
      srv(svc.c_str(), t.c_str(), port, ttl);
      a(t.c_str(), ip.c_str(), ttl);
      a(svc.c_str(), ip.c_str(), ttl);
    }
  }

  // Builds the reply to `query` into out; returns its size (0 when the query does not parse).
  std::size_t answer(const std::uint8_t* query, std::size_t qlen, std::uint8_t* out, std::size_t cap, bool tcp) {
    auto pm = svcres::dns::Message::parse(query, qlen);
    if (!pm.ok() || !pm->has_question()) return 0;
    const auto& q = *pm;
    Name qname = q.question().name.to_name().value();  // keeps the query's case (0x20)
    const Type qtype = q.question().type;
    std::size_t limit = tcp ? 65535 : 512;
    if (!tcp && q.has_opt()) limit = q.opt().value().udp_payload;
    if (limit > cap) limit = cap;

    std::vector<const ZoneRecord*> ans, add;
    Name cur = qname;
    bool exists = false;
    for (int hops = 0; hops < 16; ++hops) {
      const ZoneRecord* cn = nullptr;
      for (const auto& r : records)
        if (r.owner == cur) {
          exists = true;
          if (r.type == Type::CNAME && qtype != Type::CNAME) cn = &r;
        }
      if (!cn) break;
      ans.push_back(cn);
      cur = cn->target;
      if (!cur.is_subdomain_of(origin)) break;
    }
    std::vector<const ZoneRecord*> data;
    for (const auto& r : records)
      if (r.owner == cur && r.type == qtype) data.push_back(&r);
    if (max_answers && data.size() > max_answers) {
      std::shuffle(data.begin(), data.end(), rng);
      data.resize(max_answers);
    }
    for (auto* r : data) ans.push_back(r);
    if (qtype == Type::SRV && additional)
      for (auto* r : data)
        for (const auto& t : records)
          if (t.owner == r->target && (t.type == Type::A || t.type == Type::AAAA)) add.push_back(&t);

    svcres::dns::Header h;
    h.id = q.header().id;
    h.qr = true;
    h.aa = true;
    h.rd = q.header().rd;
    const bool nx = !exists && cur.is_subdomain_of(origin);
    h.rcode = nx ? 3 : 0;
    for (int pass = 0; pass < 2; ++pass) {
      svcres::dns::Writer w(out, limit);
      w.set_header(h);
      w.add_question(qname, qtype);
      w.begin_section(svcres::dns::Section::answer);
      std::size_t written = 0;
      for (auto* r : ans) {
        if (pass == 1 && !truncate_partial) break;
        put(w, *r);
        if (!w.ok()) break;
        ++written;
      }
      if (w.ok() && (data.empty()) && with_soa) {
        w.begin_section(svcres::dns::Section::authority);
        if (soa_class == svcres::dns::class_in) {
          w.add_soa(origin, soa_ttl, name("ns1.local."), name("hostmaster.local."), 1, 7200, 900, 1209600, soa_minimum);
        } else {
          std::vector<std::uint8_t> rd;
          for (const Name& n : {name("ns1.local."), name("hostmaster.local.")}) rd.insert(rd.end(), n.wire(), n.wire() + n.wire_size());
          for (std::uint32_t v : {1u, 7200u, 900u, 1209600u, soa_minimum})
            for (int shift = 24; shift >= 0; shift -= 8) rd.push_back(static_cast<std::uint8_t>(v >> shift));
          w.add_raw(origin, Type::SOA, soa_class, soa_ttl, rd.data(), rd.size());
        }
      }
      if (w.ok() && !add.empty()) {
        w.begin_section(svcres::dns::Section::additional);
        for (auto* r : add) put(w, *r);
      }
      if (w.ok()) {
        auto n = w.finish();
        if (n.ok()) return *n;
      }
      if (pass == 1) break;
      // Too big: TC=1 with an empty answer (NSD, Knot) or as many answers as fit (dnsmasq).
      h.tc = true;
      if (truncate_partial) {
        svcres::dns::Writer t(out, limit);
        t.set_header(h);
        t.add_question(qname, qtype);
        t.begin_section(svcres::dns::Section::answer);
        std::size_t last_ok = 0;
        std::uint16_t count = 0;
        for (auto* r : ans) {
          put(t, *r);
          if (!t.ok()) break;
          last_ok = t.size();
          ++count;
        }
        if (last_ok == 0) {
          svcres::dns::Writer e(out, limit);
          e.set_header(h);
          e.add_question(qname, qtype);
          return e.finish().value();
        }
        // Re-write exactly `count` records so the counts are right.
        svcres::dns::Writer f(out, limit);
        f.set_header(h);
        f.add_question(qname, qtype);
        f.begin_section(svcres::dns::Section::answer);
        for (std::uint16_t i = 0; i < count; ++i) put(f, *ans[i]);
        return f.finish().value();
      }
      svcres::dns::Writer e(out, limit);
      e.set_header(h);
      e.add_question(qname, qtype);
      return e.finish().value();
    }
    return 0;
  }

  std::vector<ZoneRecord> records;

 private:
  static void put(svcres::dns::Writer& w, const ZoneRecord& r) {
    switch (r.type) {
      case Type::A: w.add_a(r.owner, r.ttl, r.address); break;
      case Type::AAAA: w.add_aaaa(r.owner, r.ttl, r.address); break;
      case Type::CNAME: w.add_cname(r.owner, r.ttl, r.target); break;
      case Type::SRV: w.add_srv(r.owner, r.ttl, r.priority, r.weight, r.port, r.target); break;
      default: break;
    }
  }
};

}  // namespace svcres_test
