#pragma once
// Writer: builds a DNS message into a caller-supplied buffer (no heap), in wire order: header,
// questions, then answer, authority and additional records. Names of owners and of CNAME, NS, PTR
// and SOA rdata are compressed (RFC 1035 §4.1.4) against names already written; SRV targets never
// are (RFC 2782: "name compression is not to be used for this field"). Compression matches bytes
// exactly, case included, so a name's case survives a round trip (RFC 4343 §4.1).
//
// Errors are sticky: the first one (buffer_too_small, invalid_argument, capacity_exceeded) stops
// all further writing and is what finish() returns.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "svcres/core/ip_address.hpp"
#include "svcres/core/random.hpp"
#include "svcres/core/result.hpp"
#include "svcres/dns/limits.hpp"
#include "svcres/dns/message.hpp"
#include "svcres/dns/name.hpp"
#include "svcres/dns/types.hpp"
#include "svcres/dns/wire.hpp"

namespace svcres::dns {

class Writer {
 public:
  // Label offsets remembered for compression; past this many, names are written uncompressed.
  static constexpr std::size_t compression_slots = 96;

  Writer(std::uint8_t* buf, std::size_t cap) noexcept : buf_(buf), cap_(cap) {
    if (buf_ == nullptr || cap_ < header_size) {
      err_ = Errc::buffer_too_small;
      return;
    }
    std::memset(buf_, 0, header_size);
    pos_ = header_size;
  }

  // Copies ID, flags, opcode and the low 4 bits of rcode; counts come from what is written.
  void set_header(const Header& h) noexcept {
    if (!ok()) return;
    detail::store_u16(buf_, h.id);
    buf_[2] = static_cast<std::uint8_t>((h.qr ? 0x80 : 0) | (h.opcode & 0x0f) << 3 | (h.aa ? 0x04 : 0) |
                                        (h.tc ? 0x02 : 0) | (h.rd ? 0x01 : 0));
    buf_[3] = static_cast<std::uint8_t>((h.ra ? 0x80 : 0) | (h.ad ? 0x20 : 0) | (h.cd ? 0x10 : 0) |
                                        (h.rcode & 0x0f));
  }

  void add_question(const Name& name, Type type, std::uint16_t klass = class_in) noexcept {
    if (!ok()) return;
    if (section_ != Section::question) return fail(Errc::invalid_argument);  // questions come first
    put_name(name, true);
    put_u16(static_cast<std::uint16_t>(type));
    put_u16(klass);
    bump(0);
  }

  // Records that follow go into `s`; sections only move forward (answer, authority, additional).
  void begin_section(Section s) noexcept {
    if (!ok()) return;
    if (s == Section::question || s < section_) return fail(Errc::invalid_argument);
    section_ = s;
  }

  void add_a(const Name& owner, std::uint32_t ttl, const IpAddress& addr) noexcept {
    if (!addr.is_v4()) return fail(Errc::invalid_argument);
    add_raw(owner, Type::A, class_in, ttl, addr.bytes(), 4);
  }
  void add_aaaa(const Name& owner, std::uint32_t ttl, const IpAddress& addr) noexcept {
    if (!addr.is_v6()) return fail(Errc::invalid_argument);
    add_raw(owner, Type::AAAA, class_in, ttl, addr.bytes(), 16);
  }
  void add_srv(const Name& owner, std::uint32_t ttl, std::uint16_t priority, std::uint16_t weight,
               std::uint16_t port, const Name& target) noexcept {
    const std::size_t rd = begin_record(owner, Type::SRV, class_in, ttl);
    put_u16(priority);
    put_u16(weight);
    put_u16(port);
    put_name(target, false);  // RFC 2782: never compressed
    end_record(rd);
  }
  void add_cname(const Name& owner, std::uint32_t ttl, const Name& target) noexcept {
    add_name_record(owner, Type::CNAME, ttl, target);
  }
  void add_ns(const Name& owner, std::uint32_t ttl, const Name& host) noexcept {
    add_name_record(owner, Type::NS, ttl, host);
  }
  void add_ptr(const Name& owner, std::uint32_t ttl, const Name& target) noexcept {
    add_name_record(owner, Type::PTR, ttl, target);
  }
  void add_soa(const Name& owner, std::uint32_t ttl, const Name& mname, const Name& rname, std::uint32_t serial,
               std::uint32_t refresh, std::uint32_t retry, std::uint32_t expire, std::uint32_t minimum) noexcept {
    const std::size_t rd = begin_record(owner, Type::SOA, class_in, ttl);
    put_name(mname, true);
    put_name(rname, true);
    for (std::uint32_t v : {serial, refresh, retry, expire, minimum}) put_u32(v);
    end_record(rd);
  }
  // One TXT record holding `count` character-strings, each at most 255 bytes (RFC 1035 §3.3).
  void add_txt(const Name& owner, std::uint32_t ttl, const std::string_view* strings, std::size_t count) noexcept {
    if (count == 0) return fail(Errc::invalid_argument);  // RFC 1035 §3.3.14: one or more
    const std::size_t rd = begin_record(owner, Type::TXT, class_in, ttl);
    for (std::size_t i = 0; i < count; ++i) {
      if (strings[i].size() > 255) return fail(Errc::invalid_argument);
      put_u8(static_cast<std::uint8_t>(strings[i].size()));
      put_bytes(reinterpret_cast<const std::uint8_t*>(strings[i].data()), strings[i].size());
    }
    end_record(rd);
  }
  void add_txt(const Name& owner, std::uint32_t ttl, std::string_view text) noexcept { add_txt(owner, ttl, &text, 1); }

  // RFC 6891 §6.1.2: the OPT pseudo-record, always in the additional section with the root owner.
  // `options` holds complete (code, length, value) triples.
  void add_opt(std::uint16_t udp_payload, std::uint8_t extended_rcode_high = 0, std::uint8_t version = 0,
               bool dnssec_ok = false, const std::uint8_t* options = nullptr, std::uint16_t options_size = 0) noexcept {
    begin_section(Section::additional);
    const std::uint32_t ttl = std::uint32_t{extended_rcode_high} << 24 | std::uint32_t{version} << 16 |
                              (dnssec_ok ? 0x8000u : 0u);
    // Written field by field: the TTL here is flags, not subject to any TTL rule.
    const std::size_t rd = begin_record(Name(), Type::OPT, udp_payload, ttl);
    put_bytes(options, options_size);
    end_record(rd);
  }

  // Any type with the rdata given as bytes (names inside are written as given, uncompressed).
  void add_raw(const Name& owner, Type type, std::uint16_t klass, std::uint32_t ttl, const std::uint8_t* rdata,
               std::size_t rdlength) noexcept {
    const std::size_t rd = begin_record(owner, type, klass, ttl);
    put_bytes(rdata, rdlength);
    end_record(rd);
  }

  Errc error() const noexcept { return err_; }
  bool ok() const noexcept { return err_ == Errc::ok; }
  std::size_t size() const noexcept { return pos_; }

  // Patches the four counts and returns the message size.
  Result<std::size_t> finish() noexcept {
    if (!ok()) return err_;
    for (int i = 0; i < 4; ++i) detail::store_u16(buf_ + 4 + 2 * i, counts_[i]);
    return pos_;
  }

 private:
  void fail(Errc e) noexcept {
    if (err_ == Errc::ok) err_ = e;
  }
  bool room(std::size_t n) noexcept {
    if (!ok()) return false;
    if (cap_ - pos_ < n) {
      fail(Errc::buffer_too_small);
      return false;
    }
    return true;
  }
  void put_u8(std::uint8_t v) noexcept {
    if (room(1)) buf_[pos_++] = v;
  }
  void put_u16(std::uint16_t v) noexcept {
    if (!room(2)) return;
    detail::store_u16(buf_ + pos_, v);
    pos_ += 2;
  }
  void put_u32(std::uint32_t v) noexcept {
    if (!room(4)) return;
    detail::store_u32(buf_ + pos_, v);
    pos_ += 4;
  }
  void put_bytes(const std::uint8_t* p, std::size_t n) noexcept {
    if (n == 0 || !room(n)) return;
    std::memcpy(buf_ + pos_, p, n);
    pos_ += n;
  }
  void bump(int index) noexcept {
    if (counts_[index] == 0xffff) return fail(Errc::capacity_exceeded);
    ++counts_[index];
  }

  std::size_t begin_record(const Name& owner, Type type, std::uint16_t klass, std::uint32_t ttl) noexcept {
    if (!ok()) return 0;
    if (section_ == Section::question) section_ = Section::answer;
    put_name(owner, true);
    put_u16(static_cast<std::uint16_t>(type));
    put_u16(klass);
    put_u32(ttl);
    put_u16(0);  // rdlength, patched by end_record
    return pos_;
  }
  void end_record(std::size_t rdata_start) noexcept {
    if (!ok()) return;
    const std::size_t len = pos_ - rdata_start;
    if (len > 0xffff) return fail(Errc::capacity_exceeded);
    detail::store_u16(buf_ + rdata_start - 2, static_cast<std::uint16_t>(len));
    bump(static_cast<int>(section_));
  }
  void add_name_record(const Name& owner, Type type, std::uint32_t ttl, const Name& target) noexcept {
    const std::size_t rd = begin_record(owner, type, class_in, ttl);
    put_name(target, true);
    end_record(rd);
  }

  // True when the name written at `at` (following our own pointers) is byte-for-byte `wire`.
  bool written_equals(std::size_t at, const std::uint8_t* wire) const noexcept {
    std::size_t w = 0;
    for (;;) {
      std::uint8_t b = buf_[at];
      if (b >= 0xc0) {
        at = static_cast<std::size_t>(b & 0x3f) << 8 | buf_[at + 1];
        continue;
      }
      if (b != wire[w]) return false;
      if (b == 0) return true;
      if (std::memcmp(buf_ + at + 1, wire + w + 1, b) != 0) return false;
      at += b + 1u;
      w += b + 1u;
    }
  }

  void put_name(const Name& name, bool compress) noexcept {
    if (!ok()) return;
    const std::uint8_t* wire = name.wire();
    std::size_t starts[max_name_wire / 2 + 1];
    std::size_t labels = 0;
    for (std::size_t p = 0; wire[p] != 0; p += wire[p] + 1u) starts[labels++] = p;
    // The longest suffix already in the message: try the whole name first, then shorter ones.
    std::size_t keep = labels;  // labels written in place
    std::size_t target = 0;
    if (compress) {
      for (std::size_t i = 0; i < labels && keep == labels; ++i) {
        for (std::size_t k = 0; k < slots_used_; ++k) {
          if (written_equals(slots_[k], wire + starts[i])) {
            keep = i;
            target = slots_[k];
            break;
          }
        }
      }
    }
    const std::size_t in_place = keep == labels ? name.wire_size() : starts[keep];
    const std::size_t at = pos_;
    if (!room(in_place + (keep == labels ? 0 : 2))) return;
    std::memcpy(buf_ + pos_, wire, in_place);
    pos_ += in_place;
    if (keep != labels) put_u16(static_cast<std::uint16_t>(0xc000 | target));
    for (std::size_t i = 0; i < keep; ++i) {
      const std::size_t off = at + starts[i];
      if (off > max_pointer_offset || slots_used_ == compression_slots) break;
      slots_[slots_used_++] = static_cast<std::uint16_t>(off);
    }
  }

  std::uint8_t* buf_;
  std::size_t cap_;
  std::size_t pos_ = 0;
  Errc err_ = Errc::ok;
  Section section_ = Section::question;
  std::uint16_t counts_[4] = {0, 0, 0, 0};
  std::uint16_t slots_[compression_slots] = {};
  std::size_t slots_used_ = 0;
};

struct QueryOptions {
  bool recursion_desired = true;
  std::uint16_t edns_payload = default_edns_payload;  // 0 = no OPT record
  bool dnssec_ok = false;
};

// A standard query (opcode 0) for one name and type, EDNS(0) per RFC 6891 §6.1 unless disabled.
// The caller supplies the ID (random, RFC 5452 §9.2) and any 0x20 case pattern already applied to
// `qname` (see randomize_case).
// Written directly rather than through a Writer: a one-name message has nothing to compress, and
// every resolver links this, so it is kept to a few stores. The bytes are the ones a Writer produces
// (header, question, then OPT with the root owner, the payload as class and the DO bit in the TTL).
inline Result<std::size_t> write_query(std::uint8_t* buf, std::size_t cap, std::uint16_t id, const Name& qname,
                                       Type type, const QueryOptions& opts = {}) noexcept {
  const std::size_t name_size = qname.wire_size();
  const bool edns = opts.edns_payload != 0;
  const std::size_t size = header_size + name_size + 4 + (edns ? 11 : 0);
  if (buf == nullptr || cap < size) return Errc::buffer_too_small;
  std::memset(buf, 0, size);
  detail::store_u16(buf, id);
  buf[2] = opts.recursion_desired ? 0x01 : 0;  // RD; QR, opcode, AA, TC zero
  buf[5] = 1;                                  // QDCOUNT
  std::uint8_t* p = buf + header_size;
  std::memcpy(p, qname.wire(), name_size);
  p += name_size;
  detail::store_u16(p, static_cast<std::uint16_t>(type));
  detail::store_u16(p + 2, class_in);
  if (edns) {
    buf[11] = 1;  // ARCOUNT
    // p[4]: root owner; then TYPE, CLASS = UDP payload size, TTL = extended RCODE, version, DO and
    // zero flags (RFC 6891 §6.1.3), RDLENGTH 0.
    detail::store_u16(p + 5, static_cast<std::uint16_t>(Type::OPT));
    detail::store_u16(p + 7, opts.edns_payload);
    p[11] = opts.dnssec_ok ? 0x80 : 0;
  }
  return size;
}

}  // namespace svcres::dns
