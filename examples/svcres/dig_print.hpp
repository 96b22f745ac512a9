#pragma once
// dig-style presentation of a DNS message for `svcres resolve`. Names come from Name/NameRef
// to_text(), which writes bytes that are not printable as \DDD (RFC 1035 §5.1); TXT data likewise.

#include <cstdio>
#include <string>

#include "svcres/dns/message.hpp"
#include "svcres/dns/types.hpp"

namespace svcres_cli {

inline const char* rcode_word(svcres::dns::Rcode r) {
  switch (static_cast<unsigned>(r)) {
    case 0: return "NOERROR";
    case 1: return "FORMERR";
    case 2: return "SERVFAIL";
    case 3: return "NXDOMAIN";
    case 4: return "NOTIMP";
    case 5: return "REFUSED";
    default: return "OTHER";
  }
}

inline std::string rdata_text(const svcres::dns::Record& r) {
  namespace dns = svcres::dns;
  std::string s;
  switch (r.type) {
    case dns::Type::A:
    case dns::Type::AAAA: {
      auto a = r.type == dns::Type::A ? r.as_a() : r.as_aaaa();
      if (a.ok()) s = std::string(a->to_text().view());
      break;
    }
    case dns::Type::SRV: {
      auto v = r.as_srv();
      if (v.ok())
        s = std::to_string(v->priority) + " " + std::to_string(v->weight) + " " + std::to_string(v->port) + " " +
            std::string(v->target.to_text().view());
      break;
    }
    case dns::Type::CNAME:
    case dns::Type::NS:
    case dns::Type::PTR: {
      auto n = r.as_name();
      if (n.ok()) s = std::string(n->to_text().view());
      break;
    }
    case dns::Type::SOA: {
      auto v = r.as_soa();
      if (v.ok())
        s = std::string(v->mname.to_text().view()) + " " + std::string(v->rname.to_text().view()) + " " +
            std::to_string(v->serial) + " " + std::to_string(v->refresh) + " " + std::to_string(v->retry) + " " +
            std::to_string(v->expire) + " " + std::to_string(v->minimum);
      break;
    }
    case dns::Type::TXT: {
      auto t = r.as_txt();
      if (t.ok()) {
        for (auto part : *t) {
          if (!s.empty()) s += ' ';
          s += '"';
          // RFC 1035 §5.1: \X for the quote and backslash, \DDD for bytes that are not printable.
          for (char c : part) {
            const auto b = static_cast<unsigned char>(c);
            if (b < 0x20 || b >= 0x7f) {
              const char d[] = {'\\', static_cast<char>('0' + b / 100), static_cast<char>('0' + b / 10 % 10),
                                static_cast<char>('0' + b % 10)};
              s.append(d, sizeof d);
              continue;
            }
            if (c == '"' || c == '\\') s += '\\';
            s += c;
          }
          s += '"';
        }
      }
      break;
    }
    default:
      s = "\\# " + std::to_string(r.rdlength);  // RFC 3597 §5 generic form (length only)
      break;
  }
  return s;
}

inline void print_message(std::FILE* out, const svcres::dns::Message& m) {
  namespace dns = svcres::dns;
  const dns::Header& h = m.header();
  std::fprintf(out, ";; ->>HEADER<<- opcode: %s, status: %s, id: %u\n", h.opcode == 0 ? "QUERY" : "OTHER",
               rcode_word(m.rcode()), static_cast<unsigned>(h.id));
  std::string flags;
  if (h.qr) flags += " qr";
  if (h.aa) flags += " aa";
  if (h.tc) flags += " tc";
  if (h.rd) flags += " rd";
  if (h.ra) flags += " ra";
  if (h.ad) flags += " ad";
  if (h.cd) flags += " cd";
  std::fprintf(out, ";; flags:%s; QUERY: %u, ANSWER: %u, AUTHORITY: %u, ADDITIONAL: %u\n", flags.c_str(), h.qdcount,
               h.ancount, h.nscount, h.arcount);
  if (m.has_opt()) {
    auto o = m.opt();
    if (o.ok()) std::fprintf(out, ";; OPT PSEUDOSECTION: EDNS version %u, udp: %u\n", o->version, o->udp_payload);
  }
  std::fprintf(out, "\n;; QUESTION SECTION:\n");
  for (const auto& q : m.questions())
    std::fprintf(out, ";%s\t\tIN\t%s\n", q.name.to_text().c_str(), dns::type_text(q.type).c_str());
  const dns::Section sections[] = {dns::Section::answer, dns::Section::authority, dns::Section::additional};
  const char* titles[] = {"ANSWER", "AUTHORITY", "ADDITIONAL"};
  for (int s = 0; s < 3; ++s) {
    bool any = false;
    for (const auto& r : m.records(sections[s])) {
      if (r.type == dns::Type::OPT) continue;
      if (!any) std::fprintf(out, "\n;; %s SECTION:\n", titles[s]);
      any = true;
      std::fprintf(out, "%s\t%u\tIN\t%s\t%s\n", r.owner.to_text().c_str(), r.ttl, dns::type_text(r.type).c_str(),
                   rdata_text(r).c_str());
    }
  }
}

}  // namespace svcres_cli
