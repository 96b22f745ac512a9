// Hostile and edge-case messages, one TEST_CASE per attack, each asserting the specific Errc.
#include <cstdint>
#include <string>
#include <vector>

#include "svcres/dns/message.hpp"
#include "test.hpp"
#include "wire_builder.hpp"

using namespace svcres;
using namespace svcres::dns;
using svcres_test::WireBuilder;

namespace {
Errc parse_error(const WireBuilder& w) {
  auto m = Message::parse(w.data(), w.size());
  return m.ok() ? Errc::ok : m.error();
}
// Header with the counts, then the question "svc.local. A IN" at offset 12; the next byte is at 27.
WireBuilder with_question(unsigned an, unsigned ns = 0, unsigned ar = 0) {
  WireBuilder w;
  w.header(1, an, ns, ar).question("svc.local");
  return w;
}
constexpr std::size_t qname_at = 12;
constexpr std::size_t after_question = 27;

// A type-99 record (opaque to the parser) holding `n` pointers, each pointing at the previous one and
// the first at the question name; then a CNAME whose rdata points at the last: n + 1 hops in all.
WireBuilder pointer_chain(unsigned n) {
  auto w = with_question(2);
  w.ptr(qname_at).fixed(99, 60, 2 * n);
  const std::size_t start = w.size();
  for (unsigned k = 0; k < n; ++k) w.ptr(k == 0 ? qname_at : start + 2 * (k - 1));
  w.ptr(qname_at).fixed(5, 60, 2).ptr(start + 2 * (n - 1));
  return w;
}
}  // namespace

TEST_CASE("attack: pointer to itself", "[dns][attack]") {
  WireBuilder w;
  w.header(1, 0, 0, 0).ptr(12).u16(1).u16(1);
  CHECK(parse_error(w) == Errc::bad_pointer);
}

TEST_CASE("attack: forward pointer", "[dns][attack]") {
  WireBuilder w;
  w.header(1, 0, 0, 0).ptr(18).u16(1).u16(1).name("a");
  CHECK(parse_error(w) == Errc::bad_pointer);
}

TEST_CASE("attack: two-pointer loop", "[dns][attack]") {
  // Record 1 (opaque type 99) holds at R a pointer to R+2 and at R+2 a pointer to R; the CNAME in
  // record 2 enters the loop at R+2, whose backward jump lands on R, whose jump goes forward again.
  auto w = with_question(2);
  w.ptr(qname_at).fixed(99, 60, 4);
  const std::size_t r = w.size();
  w.ptr(r + 2).ptr(r);
  w.ptr(qname_at).fixed(5, 60, 2).ptr(r + 2);
  CHECK(parse_error(w) == Errc::bad_pointer);
}

TEST_CASE("attack: 130-hop backward chain", "[dns][attack]") {
  CHECK(parse_error(pointer_chain(130)) == Errc::too_many_hops);
  // The cap, not anything else, is what rejects it: just under the cap the same shape parses.
  CHECK(parse_error(pointer_chain(max_pointer_hops)) == Errc::too_many_hops);
  auto ok = pointer_chain(max_pointer_hops - 1);
  auto m = Message::parse(ok.data(), ok.size());
  REQUIRE(m.ok());
  int seen = 0;
  for (const Record& r : m->answers()) {
    if (r.type != Type::CNAME) continue;
    CHECK(r.as_name()->equals(Name::from_text("svc.local").value()));
    ++seen;
  }
  CHECK(seen == 1);
}

TEST_CASE("attack: pointer into the header", "[dns][attack]") {
  auto w = with_question(1);
  w.ptr(4).fixed(1, 60, 4).u32(0x0a000001);
  CHECK(parse_error(w) == Errc::bad_pointer);
}

TEST_CASE("attack: pointer cut off at the end", "[dns][attack]") {
  WireBuilder w;
  w.header(1, 1, 0, 0).question("aaaaaaaaaa").u8(0xc0);  // counts need 16 bytes, 17 are there
  CHECK(parse_error(w) == Errc::truncated);
  // The same half pointer as the last byte of an rdata name is an rdata error, not truncation.
  auto r = with_question(2);
  r.ptr(qname_at).fixed(5, 60, 1).u8(0xc0);
  r.ptr(qname_at).fixed(1, 60, 4).u32(1);
  CHECK(parse_error(r) == Errc::bad_rdlength);
}

TEST_CASE("attack: label of 64", "[dns][attack]") {
  // On the wire a length byte of 64 has the top bits 01: it is the retired extended label type
  // (RFC 6891 §5), not a long label, so it is reported as such. In text it is a label too long.
  WireBuilder w;
  w.header(1, 0, 0, 0).label(std::string(64, 'x')).u8(0).u16(1).u16(1);
  CHECK(parse_error(w) == Errc::bad_label_type);
  CHECK(Name::from_text(std::string(64, 'x')).error() == Errc::label_too_long);
  WireBuilder w63;
  w63.header(1, 0, 0, 0).label(std::string(63, 'x')).u8(0).u16(1).u16(1);
  CHECK(parse_error(w63) == Errc::ok);
}

TEST_CASE("attack: reserved label type 0x80", "[dns][attack]") {
  WireBuilder w;
  w.header(1, 0, 0, 0).bytes({0x80, 0x01, 'x', 0}).u16(1).u16(1);
  CHECK(parse_error(w) == Errc::bad_label_type);
}

TEST_CASE("attack: name of 256 reached through pointers", "[dns][attack]") {
  const std::string l63(63, 'a');
  auto build = [&](std::size_t first_label) {
    WireBuilder w;
    w.header(1, 1, 0, 0).question(l63 + "." + l63 + "." + l63);  // 193 wire bytes at offset 12
    w.label(std::string(first_label, 'b')).ptr(qname_at).fixed(1, 60, 4).u32(0x0a000001);
    return w;
  };
  CHECK(parse_error(build(62)) == Errc::name_too_long);  // 63 + 192 + 1 = 256
  auto w = build(61);                                      // 62 + 192 + 1 = 255: the limit itself
  auto m = Message::parse(w.data(), w.size());
  REQUIRE(m.ok());
  auto owner = m->answers().begin()->owner.to_name();
  REQUIRE(owner.ok());
  CHECK(owner->wire_size() == 255);
}

TEST_CASE("attack: counts larger than the body", "[dns][attack]") {
  auto w = with_question(100);
  w.ptr(qname_at).fixed(1, 60, 4).u32(0x0a000001);
  CHECK(parse_error(w) == Errc::too_many_records);
  WireBuilder q;
  q.header(0xffff, 0, 0, 0).question("a");
  CHECK(parse_error(q) == Errc::too_many_records);
}

TEST_CASE("attack: zero-length and short messages", "[dns][attack]") {
  const std::uint8_t none[1] = {0};
  CHECK(Message::parse(none, 0).error() == Errc::truncated);
  CHECK(Message::parse(nullptr, 0).error() == Errc::truncated);
  WireBuilder w;
  w.header(0, 0, 0, 0);
  CHECK(Message::parse(w.data(), 11).error() == Errc::truncated);
  CHECK(Message::parse(w.data(), 12).ok());
}

TEST_CASE("attack: A with rdlength 3 and 5", "[dns][attack]") {
  for (unsigned len : {3u, 5u}) {
    auto w = with_question(1);
    w.ptr(qname_at).fixed(1, 60, len);
    for (unsigned i = 0; i < len; ++i) w.u8(10);
    CHECK(parse_error(w) == Errc::bad_rdlength);
  }
  auto aaaa = with_question(1);
  aaaa.ptr(qname_at).fixed(28, 60, 15);
  for (int i = 0; i < 15; ++i) aaaa.u8(0);
  CHECK(parse_error(aaaa) == Errc::bad_rdlength);
}

TEST_CASE("attack: SRV with rdlength 6", "[dns][attack]") {
  auto w = with_question(1);
  w.ptr(qname_at).fixed(33, 60, 6).u16(1).u16(1).u16(8080);
  CHECK(parse_error(w) == Errc::bad_rdlength);
  auto root_target = with_question(1);
  root_target.ptr(qname_at).fixed(33, 60, 7).u16(1).u16(1).u16(8080).u8(0);
  CHECK(parse_error(root_target) == Errc::ok);
  auto extra = with_question(1);  // a byte after the target
  extra.ptr(qname_at).fixed(33, 60, 8).u16(1).u16(1).u16(8080).u8(0).u8(0);
  CHECK(parse_error(extra) == Errc::bad_rdlength);
}

TEST_CASE("attack: rdata name running past rdlength", "[dns][attack]") {
  auto w = with_question(2);
  w.ptr(qname_at).fixed(5, 60, 3).name("abc");  // the name needs 5 bytes; the message goes on
  w.ptr(qname_at).fixed(1, 60, 4).u32(1);
  CHECK(parse_error(w) == Errc::bad_rdlength);
  auto soa = with_question(0, 1);  // SOA with 19 bytes after its names
  soa.ptr(qname_at).fixed(6, 60, 2 + 2 + 19).ptr(qname_at).ptr(qname_at);
  for (int i = 0; i < 19; ++i) soa.u8(0);
  CHECK(parse_error(soa) == Errc::bad_rdlength);
}

TEST_CASE("attack: two OPT records", "[dns][attack]") {
  auto w = with_question(0, 0, 2);
  w.u8(0).fixed(41, 0, 0, 1232).u8(0).fixed(41, 0, 0, 1232);
  CHECK(parse_error(w) == Errc::duplicate_opt);
}

TEST_CASE("attack: OPT out of place", "[dns][attack]") {
  auto in_answer = with_question(1);
  in_answer.u8(0).fixed(41, 0, 0, 1232);
  CHECK(parse_error(in_answer) == Errc::misplaced_opt);
  auto named = with_question(0, 0, 1);
  named.ptr(qname_at).fixed(41, 0, 0, 1232);
  CHECK(parse_error(named) == Errc::misplaced_opt);
  auto bad_options = with_question(0, 0, 1);  // an option header announcing 4 bytes, 2 present
  bad_options.u8(0).fixed(41, 0, 6, 1232).u16(10).u16(4).u16(0);
  CHECK(parse_error(bad_options) == Errc::bad_rdlength);
}

namespace {
WireBuilder many_a(unsigned announced, unsigned present) {
  auto w = with_question(announced);
  for (unsigned i = 0; i < present; ++i) w.ptr(qname_at).fixed(1, 60, 4).u32(0x0a000000u + i);
  return w;
}
}  // namespace

TEST_CASE("attack: 6000 A records", "[dns][attack]") {
  // All bytes there: 6000 records of 16 bytes. This is more than the 65535 bytes a TCP length
  // prefix can carry, so it also shows the codec itself imposes no size limit; 4000 records
  // (64027 bytes) is the TCP-legal version.
  for (unsigned n : {4000u, 6000u}) {
    auto w = many_a(n, n);
    auto m = Message::parse(w.data(), w.size());
    REQUIRE(m.ok());
    unsigned i = 0;
    bool all_match = true;
    for (const Record& r : m->answers()) {
      all_match = all_match && r.as_a().ok() &&
                  *r.as_a() == IpAddress::v4(10, static_cast<std::uint8_t>(i >> 16),
                                             static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i));
      ++i;
    }
    CHECK(all_match);
    CHECK(i == n);
  }
  // Counts that exceed the bytes: rejected before any record is read.
  CHECK(parse_error(many_a(6000, 1000)) == Errc::too_many_records);
}

TEST_CASE("attack: valid pointer beyond offset 512 is accepted", "[dns][attack]") {
  auto w = with_question(3);
  w.ptr(qname_at).fixed(99, 60, 600);
  for (int i = 0; i < 600; ++i) w.u8(0xee);
  const std::size_t far = w.size();
  REQUIRE(far > 512);
  w.name("task-1.svc.local").fixed(1, 60, 4).u32(0x0a000001);
  w.ptr(far).fixed(1, 60, 4).u32(0x0a000002);
  auto m = Message::parse(w.data(), w.size());
  REQUIRE(m.ok());
  auto it = m->answers().begin();
  ++it;
  ++it;
  CHECK(it->owner.offset() == far + 18 + 10 + 4);  // right after record 2
  CHECK(it->owner.equals(Name::from_text("task-1.svc.local").value()));
  CHECK(std::string(it->owner.to_text().view()) == "task-1.svc.local.");
}

TEST_CASE("attack: non-printable bytes in names are escaped", "[dns][attack]") {
  WireBuilder w;
  w.header(1, 0, 0, 0).bytes({8, 0x00, 0x07, 'A', ' ', '.', 0xff, '\\', '"'}).label("local").u8(0).u16(1).u16(1);
  auto m = Message::parse(w.data(), w.size());
  REQUIRE(m.ok());
  const std::string text(m->question().name.to_text().view());
  CHECK(text == "\\000\\007A\\032\\046\\255\\092\\034.local.");
  auto back = Name::from_text(text);
  REQUIRE(back.ok());
  CHECK(back->equals_exact(m->question().name.to_name().value()));
}

TEST_CASE("trailing bytes are their own error", "[dns][rules]") {
  auto w = with_question(1);
  w.ptr(qname_at).fixed(1, 60, 4).u32(0x0a000001);
  CHECK(parse_error(w) == Errc::ok);
  w.u8(0);
  CHECK(parse_error(w) == Errc::trailing_data);
}

TEST_CASE("truncation inside a record", "[dns][rules]") {
  auto fixed_cut = with_question(1);
  fixed_cut.ptr(qname_at).u16(1).u16(1).u32(60).u8(0).u16(0).u16(0).u16(0);  // pad so counts pass
  fixed_cut.b.resize(after_question + 2 + 7);
  CHECK(parse_error(fixed_cut) == Errc::truncated);
  auto rd_cut = with_question(1);
  rd_cut.ptr(qname_at).fixed(1, 60, 4).u16(0);
  CHECK(parse_error(rd_cut) == Errc::truncated);
}

TEST_CASE("TTL with the top bit set reads as 0", "[dns][rules]") {
  auto w = with_question(2);
  w.ptr(qname_at).fixed(1, 0x80000001u, 4).u32(1);
  w.ptr(qname_at).fixed(1, 0x7fffffffu, 4).u32(2);
  auto m = Message::parse(w.data(), w.size());
  REQUIRE(m.ok());
  auto it = m->answers().begin();
  CHECK(it->ttl == 0);  // RFC 2181 §8
  ++it;
  CHECK(it->ttl == 0x7fffffffu);
}

TEST_CASE("compressed SRV target accepted on read", "[dns][rules]") {
  auto w = with_question(1);
  w.ptr(qname_at).fixed(33, 60, 6 + 3 + 2).u16(1).u16(2).u16(8080).labels("t1").ptr(qname_at);
  auto m = Message::parse(w.data(), w.size());
  REQUIRE(m.ok());
  auto srv = m->answers().begin()->as_srv();
  REQUIRE(srv.ok());
  CHECK(srv->priority == 1);
  CHECK(srv->weight == 2);
  CHECK(srv->port == 8080);
  CHECK(std::string(srv->target.to_text().view()) == "t1.svc.local.");
}

TEST_CASE("extended rcode and OPT fields", "[dns][rules]") {
  auto w = with_question(0, 0, 1);
  // RFC 6891 §6.1.3: TTL = ext-rcode(8) version(8) DO(1) Z(15); BADVERS is 16 = high 1, low 0.
  w.u8(0).fixed(41, 0x01008000u, 8, 4096).u16(10).u16(4).u32(0xdeadbeef);
  auto m = Message::parse(w.data(), w.size());
  REQUIRE(m.ok());
  CHECK(m->rcode() == Rcode::badvers);
  auto opt = m->opt();
  REQUIRE(opt.ok());
  CHECK(opt->udp_payload == 4096);
  CHECK(opt->extended_rcode_high == 1);
  CHECK(opt->version == 0);
  CHECK(opt->dnssec_ok);
  CHECK(opt->options_size == 8);
}

TEST_CASE("unknown types are raw rdata and TXT is split into strings", "[dns][rules]") {
  auto w = with_question(2);
  w.ptr(qname_at).fixed(65280, 60, 3).bytes({0xc0, 0xff, 0x01});  // looks like names: never read as one
  w.ptr(qname_at).fixed(16, 60, 7).label("ab").label("cde");
  auto m = Message::parse(w.data(), w.size());
  REQUIRE(m.ok());
  auto it = m->answers().begin();
  CHECK(static_cast<unsigned>(it->type) == 65280);
  CHECK(it->rdlength == 3);
  CHECK(it->rdata[0] == 0xc0);
  CHECK(it->as_a().error() == Errc::invalid_argument);
  ++it;
  std::vector<std::string> parts;
  const TxtView txt = *it->as_txt();
  for (std::string_view s : txt) parts.emplace_back(s);
  CHECK(parts == std::vector<std::string>{"ab", "cde"});
  auto bad = with_question(1);
  bad.ptr(qname_at).fixed(16, 60, 3).label("abc");
  CHECK(parse_error(bad) == Errc::bad_rdlength);
}
