// Message::parse remembers the names it has walked (dns::detail::WalkedNames) and stops at a pointer to
// one of them; NameRef::to_name copies validated names a run of labels at a time. These tests hold
// both shortcuts to the full walk: same Errc on every input, same decompressed bytes on every name.
#include <cstdint>
#include <fstream>
#include <filesystem>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "svcres/dns/message.hpp"
#include "test.hpp"
#include "wire_builder.hpp"

using namespace svcres;
using namespace svcres::dns;
using svcres_test::WireBuilder;

namespace {

// Message::parse's acceptance rules with every name walked in full (no WalkedNames): the reference
// the cached parse must agree with, error for error.
Errc reference_parse(const std::uint8_t* data, std::size_t size) {
  if (data == nullptr || size < header_size) return Errc::truncated;
  const std::size_t qd = dns::detail::load_u16(data + 4);
  const std::size_t counts[3] = {dns::detail::load_u16(data + 6), dns::detail::load_u16(data + 8),
                                 dns::detail::load_u16(data + 10)};
  if (qd * min_question_size + (counts[0] + counts[1] + counts[2]) * min_record_size > size - header_size)
    return Errc::too_many_records;
  std::size_t pos = header_size;
  dns::detail::NameWalk w;
  for (std::size_t i = 0; i < qd; ++i) {
    if (Errc e = dns::detail::walk_name(data, size, pos, size, Errc::truncated, w); e != Errc::ok) return e;
    if (size - w.next < 4) return Errc::truncated;
    pos = w.next + 4;
  }
  bool opt = false;
  for (unsigned s = 0; s < 3; ++s) {
    for (std::size_t i = 0; i < counts[s]; ++i) {
      if (Errc e = dns::detail::walk_name(data, size, pos, size, Errc::truncated, w); e != Errc::ok) return e;
      pos = w.next;
      if (size - pos < record_fixed_size) return Errc::truncated;
      const Type type = static_cast<Type>(dns::detail::load_u16(data + pos));
      const std::size_t rdlength = dns::detail::load_u16(data + pos + 8);
      pos += record_fixed_size;
      if (size - pos < rdlength) return Errc::truncated;
      if (type == Type::OPT) {
        if (s != 2 || w.wire_size != 1) return Errc::misplaced_opt;
        if (opt) return Errc::duplicate_opt;
        opt = true;
      }
      if (Errc e = dns::detail::check_rdata(data, size, type, pos, pos + rdlength); e != Errc::ok) return e;
      pos += rdlength;
    }
  }
  return pos == size ? Errc::ok : Errc::trailing_data;
}

Errc parse_error(const std::uint8_t* data, std::size_t size) {
  auto m = Message::parse(data, size);
  return m.ok() ? Errc::ok : m.error();
}

// Every name an accepted message hands out, copied the validated way, equals the fully checked
// decompression of the same offset.
void check_names(const Message& m) {
  auto same = [&](const NameRef& ref) {
    auto fast = ref.to_name();
    auto full = Name::decompress(m.data(), m.size(), ref.offset());
    REQUIRE(fast.ok());
    REQUIRE(full.ok());
    CHECK(fast->equals_exact(*full));
    CHECK(fast->label_count() == full->label_count());
    CHECK(ref.wire_size() == full->wire_size());
  };
  for (const Question& q : m.questions()) same(q.name);
  for (Section s : {Section::answer, Section::authority, Section::additional}) {
    for (const Record& r : m.records(s)) {
      same(r.owner);
      if (auto srv = r.as_srv(); srv.ok()) same(srv->target);
      if (auto n = r.as_name(); n.ok()) same(*n);
      if (auto soa = r.as_soa(); soa.ok()) {
        same(soa->mname);
        same(soa->rname);
      }
    }
  }
}

std::vector<std::vector<std::uint8_t>> corpus() {
  std::vector<std::vector<std::uint8_t>> out;
  for (const auto& e : std::filesystem::directory_iterator(svcres_test::data_dir() + "/corpus")) {
    if (e.path().extension() != ".bin") continue;
    std::ifstream in(e.path(), std::ios::binary);
    out.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
}

// A CNAME chain of `n` names, each one label "a" and a pointer to the previous one, the first
// pointing at the root question name: name k has k hops and 2k + 1 wire bytes. Returns the
// builder and the rdata offset of the last name.
WireBuilder label_chain(unsigned n, unsigned extra_records, std::size_t& last) {
  WireBuilder w;
  w.header(1, static_cast<std::uint16_t>(n + extra_records), 0, 0).question("");  // "." at offset 12
  std::size_t prev = 12;
  for (unsigned k = 0; k < n; ++k) {
    w.ptr(12).fixed(5, 60, 4);
    const std::size_t here = w.size();
    w.label("a").ptr(prev);
    prev = here;
  }
  last = prev;
  return w;
}

}  // namespace

TEST_CASE("walk cache: corpus and every mutation agree with the full walk", "[dns][walk_cache]") {
  const auto messages = corpus();
  REQUIRE(messages.size() > 50);
  std::mt19937 rng(20240607);
  std::size_t accepted = 0, rejected = 0;
  for (const auto& original : messages) {
    {
      auto m = Message::parse(original.data(), original.size());
      REQUIRE(m.ok());
      CHECK(reference_parse(original.data(), original.size()) == Errc::ok);
      check_names(*m);
    }
    for (int round = 0; round < 300; ++round) {
      auto bytes = original;
      const int edits = 1 + static_cast<int>(rng() % 3);
      for (int k = 0; k < edits; ++k) {
        const std::size_t at = header_size + rng() % (bytes.size() - header_size);
        switch (rng() % 4) {
          case 0: bytes[at] = static_cast<std::uint8_t>(rng()); break;
          case 1:  // a pointer to some earlier (or later) offset: exercises hits, misses and loops
            if (at + 1 < bytes.size()) {
              const std::size_t target = rng() % bytes.size();
              bytes[at] = static_cast<std::uint8_t>(0xc0 | (target >> 8 & 0x3f));
              bytes[at + 1] = static_cast<std::uint8_t>(target);
            }
            break;
          case 2: bytes[at] = static_cast<std::uint8_t>(rng() % 64); break;  // a label length
          default: bytes.resize(at); break;
        }
        if (bytes.size() <= header_size) break;
      }
      INFO("round " << round << " size " << bytes.size());
      const Errc want = reference_parse(bytes.data(), bytes.size());
      auto m = Message::parse(bytes.data(), bytes.size());
      CHECK((m.ok() ? Errc::ok : m.error()) == want);
      if (m.ok()) {
        ++accepted;
        check_names(*m);
      } else {
        ++rejected;
      }
    }
  }
  // Both outcomes must be exercised, or the comparison proves little.
  CHECK(accepted > 1000);
  CHECK(rejected > 1000);
}

TEST_CASE("walk cache: hops of a remembered name count toward the cap", "[dns][walk_cache]") {
  // 126 chained names: the last has 126 hops and 253 bytes and is remembered by parse.
  std::size_t last = 0;
  {
    auto w = label_chain(126, 1, last);
    w.ptr(12).fixed(5, 60, 2).ptr(last);  // 127 hops: the cap itself
    REQUIRE(parse_error(w.data(), w.size()) == Errc::ok);
    auto m = Message::parse(w.data(), w.size());
    check_names(*m);
  }
  {
    // 127 chained names: the last one is valid (127 hops, 255 bytes), a lone pointer to it is not.
    auto w = label_chain(127, 1, last);
    w.ptr(12).fixed(5, 60, 2).ptr(last);
    CHECK(parse_error(w.data(), w.size()) == Errc::too_many_hops);
    CHECK(reference_parse(w.data(), w.size()) == Errc::too_many_hops);
    auto fits = label_chain(127, 0, last);
    CHECK(parse_error(fits.data(), fits.size()) == Errc::ok);
  }
  {
    // Through one more lone pointer (inside opaque rdata): 128 hops.
    auto w = label_chain(126, 2, last);
    w.ptr(12).fixed(99, 60, 2);
    const std::size_t hop = w.size();
    w.ptr(last);
    w.ptr(12).fixed(5, 60, 2).ptr(hop);
    CHECK(parse_error(w.data(), w.size()) == Errc::too_many_hops);
    CHECK(reference_parse(w.data(), w.size()) == Errc::too_many_hops);
  }
}

TEST_CASE("walk cache: length of a remembered name counts toward 255", "[dns][walk_cache]") {
  std::size_t last = 0;
  for (unsigned extra : {1u, 2u}) {
    // One label of `extra` bytes before a pointer to the 253-byte name: 255 fits, 256 does not.
    auto w = label_chain(126, 1, last);
    w.ptr(12).fixed(5, 60, static_cast<unsigned>(extra + 1 + 2)).label(std::string(extra, 'b')).ptr(last);
    const Errc want = extra == 1 ? Errc::ok : Errc::name_too_long;
    CHECK(parse_error(w.data(), w.size()) == want);
    CHECK(reference_parse(w.data(), w.size()) == want);
    if (want == Errc::ok) check_names(*Message::parse(w.data(), w.size()));
  }
}

TEST_CASE("walk cache: a name first seen inside rdata is reused from outside", "[dns][walk_cache]") {
  // A CNAME target "x.y" in the answer, then a record owned by a pointer to it, then a pointer to
  // its suffix "y" (not remembered: walked in full).
  WireBuilder w;
  w.header(1, 3, 0, 0).question("svc.local");
  w.ptr(12).fixed(5, 60, 5);
  const std::size_t target = w.size();
  w.name("x.y");
  w.ptr(target).fixed(1, 60, 4).u32(0x7f000001);
  w.ptr(target + 2).fixed(1, 60, 4).u32(0x7f000002);
  auto m = Message::parse(w.data(), w.size());
  REQUIRE(m.ok());
  check_names(*m);
  auto it = m->answers().begin();
  ++it;
  CHECK(it->owner.to_name()->equals(Name::from_text("x.y").value()));
  ++it;
  CHECK(it->owner.to_name()->equals(Name::from_text("y").value()));
}
