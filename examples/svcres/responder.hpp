#pragma once
// A small authoritative DNS responder for one zone, built on the svcres codec: what `svcres serve`
// runs and what the demo and the integration tests start in-process. Loopback by default.
//
// Answering (RFC 1034 §4.3.2, simplified for one zone without delegations):
// - The name's records of the asked type (ANY: all of them), AA set. A CNAME at the name is followed
//   inside the zone (at most 8 links), each link in the answer section.
// - Name exists without that type: NODATA; name absent: NXDOMAIN. Both carry the SOA in the
//   authority section with TTL min(SOA TTL, SOA MINIMUM) (RFC 2308 §3). A name that owns nothing
//   but has names below it (an empty non-terminal) is NODATA, not NXDOMAIN (RFC 8020 §2).
// - Outside the zone: REFUSED. Opcode other than QUERY: NOTIMP. Not exactly one question: FORMERR.
// - SRV answers carry the targets' A/AAAA in the additional section (RFC 2782).
// - multivalue N > 0: a name with more than N records of the asked type answers N of them, chosen
//   at random per query, as Route 53 multivalue answers (and Cloud Map) do with 8.
// - EDNS (RFC 6891): a query with OPT gets OPT back (payload 1232); the UDP limit is the client's
//   payload (at least 512), or 512 without OPT (RFC 1035 §4.2.1). A larger answer is sent with TC
//   set and only the question (RFC 2181 §9: the client must not use a partial answer; RFC 7766 §5:
//   it retries over TCP, where the whole answer goes with a two-byte length prefix).
// Threads: one for UDP, one for TCP (connections served one after the other, each with a short
// deadline: this serves tests and demos on loopback, not the Internet). set_zone() swaps the data
// under a mutex, so a demo can remove a task while queries run.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "svcres/core/random.hpp"
#include "svcres/dns/message.hpp"
#include "svcres/dns/writer.hpp"
#include "zone.hpp"

namespace svcres_cli {

struct ResponderOptions {
  svcres::IpAddress address = svcres::IpAddress::v4(127, 0, 0, 1);
  std::uint16_t port = 0;  // 0: pick a free port (see port())
  unsigned multivalue = 0;
};

struct ResponderStats {
  std::atomic<std::uint64_t> udp_queries{0}, tcp_queries{0}, truncated{0};
};

// Builds the response to one query. Returns its size, or 0 when nothing should be sent (a message
// too short to carry an ID, or a response: never answer those).
inline std::size_t answer_query(const Zone& zone, const ResponderOptions& opt, svcres::Rng& rng, const std::uint8_t* q,
                                std::size_t qn, bool over_tcp, std::uint8_t* out, std::size_t cap,
                                bool* truncated = nullptr) {
  using svcres::Errc;
  if (qn < dns::header_size || (q[2] & 0x80) != 0) return 0;
  dns::Header h;
  h.id = static_cast<std::uint16_t>(q[0] << 8 | q[1]);
  h.qr = true;
  h.opcode = static_cast<std::uint8_t>((q[2] >> 3) & 0x0f);
  h.rd = (q[2] & 0x01) != 0;
  auto bare = [&](dns::Rcode rc) -> std::size_t {  // header only (no question we could trust)
    dns::Writer w(out, cap);
    h.rcode = static_cast<std::uint8_t>(rc);
    w.set_header(h);
    auto r = w.finish();
    return r.ok() ? r.value() : 0;
  };
  auto parsed = dns::Message::parse(q, qn);
  if (!parsed.ok()) return bare(dns::Rcode::formerr);
  const dns::Message& m = parsed.value();
  if (h.opcode != 0) return bare(dns::Rcode::notimp);
  if (m.header().qdcount != 1) return bare(dns::Rcode::formerr);
  const dns::Question question = m.question();
  dns::Name qname;
  if (question.name.to_name().get(qname) != Errc::ok) return bare(dns::Rcode::formerr);
  const dns::Type qtype = question.type;
  std::size_t udp_limit = dns::classic_udp_size;
  bool edns = false;
  if (m.has_opt()) {
    edns = true;
    auto o = m.opt();
    if (o.ok() && o->udp_payload > udp_limit) udp_limit = o->udp_payload;
  }
  const std::size_t limit = over_tcp ? cap : (udp_limit < cap ? udp_limit : cap);

  // Collect the answer.
  std::vector<const ZoneRecord*> answers, chain, additional;
  const ZoneRecord* soa = zone.soa();
  dns::Rcode rcode = dns::Rcode::noerror;
  bool negative = false;
  if (question.klass != dns::class_in && question.klass != 255) {
    h.rcode = static_cast<std::uint8_t>(dns::Rcode::refused);
    rcode = dns::Rcode::refused;
  } else if (!qname.is_subdomain_of(zone.origin)) {
    rcode = dns::Rcode::refused;
  } else {
    h.aa = true;
    dns::Name current = qname;
    for (int links = 0; links <= 8; ++links) {
      bool exists = false, below = false;
      const ZoneRecord* cname = nullptr;
      std::vector<const ZoneRecord*> match;
      for (const ZoneRecord& r : zone.records) {
        if (r.owner.equals(current)) {
          exists = true;
          if (r.type == qtype || qtype == dns::Type::ANY) match.push_back(&r);
          if (r.type == dns::Type::CNAME) cname = &r;
        } else if (!below && r.owner.is_subdomain_of(current)) {
          below = true;
        }
      }
      if (!match.empty()) {
        answers = std::move(match);
        break;
      }
      if (cname && qtype != dns::Type::CNAME) {  // RFC 1034 §3.6.2: follow the alias
        chain.push_back(cname);
        current = cname->target;
        if (!current.is_subdomain_of(zone.origin)) break;  // out of zone: the client goes on
        continue;
      }
      negative = true;
      if (!exists && !below && chain.empty()) rcode = dns::Rcode::nxdomain;
      break;
    }
    // Route 53 multivalue: at most N records, a random subset per query.
    if (opt.multivalue > 0 && answers.size() > opt.multivalue) {
      for (std::size_t i = 0; i < opt.multivalue; ++i) {
        std::size_t j = i + rng.below(static_cast<std::uint32_t>(answers.size() - i));
        std::swap(answers[i], answers[j]);
      }
      answers.resize(opt.multivalue);
    }
    for (const ZoneRecord* r : answers) {
      if (r->type != dns::Type::SRV) continue;
      for (const ZoneRecord& t : zone.records)
        if ((t.type == dns::Type::A || t.type == dns::Type::AAAA) && t.owner.equals(r->target)) additional.push_back(&t);
    }
  }

  auto build = [&](bool full) -> std::size_t {
    dns::Writer w(out, cap);
    dns::Header hh = h;
    hh.rcode = static_cast<std::uint8_t>(static_cast<unsigned>(rcode) & 0x0f);
    hh.tc = !full;
    w.set_header(hh);
    w.add_question(qname, qtype, question.klass);
    if (full) {
      w.begin_section(dns::Section::answer);
      auto put = [&](const ZoneRecord& r) {
        switch (r.type) {
          case dns::Type::A: w.add_a(r.owner, r.ttl, r.address); break;
          case dns::Type::AAAA: w.add_aaaa(r.owner, r.ttl, r.address); break;
          case dns::Type::SRV: w.add_srv(r.owner, r.ttl, r.priority, r.weight, r.port, r.target); break;
          case dns::Type::CNAME: w.add_cname(r.owner, r.ttl, r.target); break;
          case dns::Type::NS: w.add_ns(r.owner, r.ttl, r.target); break;
          case dns::Type::SOA:
            w.add_soa(r.owner, r.ttl, r.target, r.rname, r.serial, r.refresh, r.retry, r.expire, r.minimum);
            break;
          case dns::Type::TXT: {
            std::string_view parts[64];
            std::size_t n = 0;
            for (const auto& s : r.texts)
              if (n < 64) parts[n++] = s;
            w.add_txt(r.owner, r.ttl, parts, n);
            break;
          }
          default: break;
        }
      };
      for (const ZoneRecord* r : chain) put(*r);
      for (const ZoneRecord* r : answers) put(*r);
      if (negative && soa && rcode != dns::Rcode::refused) {
        w.begin_section(dns::Section::authority);
        // RFC 2308 §3: the SOA's TTL in a negative answer is min(SOA TTL, MINIMUM).
        const std::uint32_t ttl = soa->ttl < soa->minimum ? soa->ttl : soa->minimum;
        w.add_soa(soa->owner, ttl, soa->target, soa->rname, soa->serial, soa->refresh, soa->retry, soa->expire,
                  soa->minimum);
      }
      w.begin_section(dns::Section::additional);
      for (const ZoneRecord* r : additional) put(*r);
    }
    if (edns) w.add_opt(dns::default_edns_payload);
    auto r = w.finish();
    return r.ok() ? r.value() : 0;
  };
  std::size_t n = build(true);
  if (n == 0 || n > limit) {
    if (truncated) *truncated = true;
    n = build(false);  // RFC 2181 §9: TC with the question only; the client retries over TCP
  }
  return n;
}

class Responder {
 public:
  Responder(Zone zone, ResponderOptions opt) : zone_(std::make_shared<Zone>(std::move(zone))), opt_(opt) {}
  ~Responder() { stop(); }
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;

  // Binds UDP and TCP on the same port. Returns an error sentence, empty on success. With port 0 the
  // kernel picks the UDP port; that number may be taken for TCP (an outgoing connection's local
  // port, often in TIME-WAIT after busy test runs), so a kernel-chosen port is tried afresh.
  std::string start() {
    const bool any_port = opt_.port == 0;
    for (int attempt = 0;; ++attempt) {
      std::string err = bind_both();
      if (err.empty() || !any_port || errno != EADDRINUSE || attempt == 31) return err.empty() ? launch() : err;
      ::close(udp_);
      ::close(tcp_);
      udp_ = tcp_ = -1;
      port_ = 0;
    }
  }

 private:
  std::string bind_both() {
    sockaddr_storage ss{};
    socklen_t len = to_sockaddr(opt_.address, opt_.port, ss);
    udp_ = ::socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (udp_ < 0) return std::string("socket: ") + std::strerror(errno);
    if (::bind(udp_, reinterpret_cast<sockaddr*>(&ss), len) != 0) return bind_error("UDP");
    sockaddr_storage got{};
    socklen_t gl = sizeof got;
    ::getsockname(udp_, reinterpret_cast<sockaddr*>(&got), &gl);
    port_ = ntohs(got.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&got)->sin_port
                                           : reinterpret_cast<sockaddr_in6*>(&got)->sin6_port);
    len = to_sockaddr(opt_.address, port_, ss);
    tcp_ = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (tcp_ < 0) return std::string("socket: ") + std::strerror(errno);
    int one = 1;
    ::setsockopt(tcp_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(tcp_, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
      const int e = errno;
      std::string msg = bind_error("TCP");
      errno = e;  // start() retries on EADDRINUSE
      return msg;
    }
    if (::listen(tcp_, 16) != 0) return std::string("listen: ") + std::strerror(errno);
    return {};
  }
  std::string launch() {
    stop_.store(false);
    udp_thread_ = std::thread([this] { udp_loop(); });
    tcp_thread_ = std::thread([this] { tcp_loop(); });
    return {};
  }

 public:
  void stop() {
    stop_.store(true);
    if (udp_thread_.joinable()) udp_thread_.join();
    if (tcp_thread_.joinable()) tcp_thread_.join();
    if (udp_ >= 0) ::close(udp_);
    if (tcp_ >= 0) ::close(tcp_);
    udp_ = tcp_ = -1;
  }

  std::uint16_t port() const noexcept { return port_; }
  const ResponderStats& stats() const noexcept { return stats_; }

  void set_zone(Zone z) {
    auto p = std::make_shared<Zone>(std::move(z));
    std::lock_guard<std::mutex> lock(mu_);
    zone_ = std::move(p);
  }
  std::shared_ptr<const Zone> zone() const {
    std::lock_guard<std::mutex> lock(mu_);
    return zone_;
  }

 private:
  static socklen_t to_sockaddr(const svcres::IpAddress& a, std::uint16_t port, sockaddr_storage& ss) {
    std::memset(&ss, 0, sizeof ss);
    if (a.is_v4()) {
      auto* s = reinterpret_cast<sockaddr_in*>(&ss);
      s->sin_family = AF_INET;
      s->sin_port = htons(port);
      std::memcpy(&s->sin_addr, a.bytes(), 4);
      return sizeof(sockaddr_in);
    }
    auto* s = reinterpret_cast<sockaddr_in6*>(&ss);
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(port);
    std::memcpy(&s->sin6_addr, a.bytes(), 16);
    return sizeof(sockaddr_in6);
  }
  std::string bind_error(const char* what) const {
    return std::string("bind ") + what + " " + std::string(opt_.address.to_text().view()) + ":" +
           std::to_string(opt_.port) + ": " + std::strerror(errno);
  }

  void udp_loop() {
    svcres::Rng rng = svcres::Rng::from_entropy();
    std::vector<std::uint8_t> in(65535), out(65535);
    while (!stop_.load()) {
      pollfd p{udp_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      sockaddr_storage from{};
      socklen_t fl = sizeof from;
      ssize_t n = ::recvfrom(udp_, in.data(), in.size(), 0, reinterpret_cast<sockaddr*>(&from), &fl);
      if (n <= 0) continue;
      stats_.udp_queries.fetch_add(1);
      auto z = zone();
      bool tc = false;
      std::size_t m = answer_query(*z, opt_, rng, in.data(), static_cast<std::size_t>(n), false, out.data(), out.size(), &tc);
      if (tc) stats_.truncated.fetch_add(1);
      if (m) (void)::sendto(udp_, out.data(), m, 0, reinterpret_cast<sockaddr*>(&from), fl);
    }
  }

  // RFC 7766 §8: each message is preceded by its length in two bytes. Several queries may come on
  // one connection; it ends at EOF, on error, or after 2 s idle.
  void tcp_loop() {
    svcres::Rng rng = svcres::Rng::from_entropy();
    std::vector<std::uint8_t> in(65535), out(65537);
    while (!stop_.load()) {
      pollfd p{tcp_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept4(tcp_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      for (;;) {
        std::uint8_t lenb[2];
        if (!read_full(c, lenb, 2)) break;
        const std::size_t len = static_cast<std::size_t>(lenb[0] << 8 | lenb[1]);
        if (len == 0 || !read_full(c, in.data(), len)) break;
        stats_.tcp_queries.fetch_add(1);
        auto z = zone();
        std::size_t m = answer_query(*z, opt_, rng, in.data(), len, true, out.data() + 2, out.size() - 2);
        if (m == 0) break;
        out[0] = static_cast<std::uint8_t>(m >> 8);
        out[1] = static_cast<std::uint8_t>(m);
        if (!write_full(c, out.data(), m + 2)) break;
      }
      ::close(c);
    }
  }

  bool read_full(int fd, std::uint8_t* p, std::size_t n) {
    std::size_t got = 0;
    while (got < n) {
      if (stop_.load()) return false;
      pollfd pf{fd, POLLIN, 0};
      int r = ::poll(&pf, 1, 2000);
      if (r <= 0) return false;
      ssize_t k = ::recv(fd, p + got, n - got, 0);
      if (k <= 0) return false;
      got += static_cast<std::size_t>(k);
    }
    return true;
  }
  static bool write_full(int fd, const std::uint8_t* p, std::size_t n) {
    std::size_t sent = 0;
    while (sent < n) {
      ssize_t k = ::send(fd, p + sent, n - sent, MSG_NOSIGNAL);
      if (k <= 0) return false;
      sent += static_cast<std::size_t>(k);
    }
    return true;
  }

  mutable std::mutex mu_;
  std::shared_ptr<Zone> zone_;
  ResponderOptions opt_;
  ResponderStats stats_;
  int udp_ = -1, tcp_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread udp_thread_, tcp_thread_;
};

}  // namespace svcres_cli
