#pragma once
// Message: a zero-copy view of one DNS message (RFC 1035 §4.1) over the caller's bytes.
//
// Message::parse() validates the whole message in one pass: header, every question, every record of
// the answer, authority and additional sections, every name (compression included) and the rdata of
// every type the codec knows. Iteration afterwards cannot fail and allocates nothing; typed views
// return an error only when asked for the wrong type. The caller's buffer must outlive the Message
// and every NameRef, Record and view taken from it.
//
// Rules beyond the bare format, each with its own Errc:
// - section counts are checked against the bytes left before any record is read (each question
//   needs >= 5 bytes, each record >= 11): too_many_records;
// - A rdata is exactly 4 bytes (RFC 1035 §3.4.1), AAAA exactly 16 (RFC 3596 §2.2), SRV at least 7
//   (RFC 2782); names inside rdata (NS, CNAME, PTR, SOA, SRV) end exactly at the rdata end;
//   SOA has exactly 20 bytes after its names; TXT is one or more complete character-strings;
//   OPT options are complete (code, length, value) triples: bad_rdlength;
// - at most one OPT, in the additional section, owned by the root (RFC 6891 §6.1.1):
//   duplicate_opt, misplaced_opt;
// - bytes after the last announced record: trailing_data (the message itself was well formed);
// - a TTL with the top bit set reads as 0 (RFC 2181 §8). OPT's TTL field carries flags and is
//   decoded by as_opt() from the wire instead.
// SRV targets are accepted compressed on read (RFC 2782 forbids it, but systemd-resolved and
// kube-dns send them so); the Writer never compresses them.

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string_view>

#include "svcres/core/ip_address.hpp"
#include "svcres/core/result.hpp"
#include "svcres/dns/limits.hpp"
#include "svcres/dns/name.hpp"
#include "svcres/dns/types.hpp"
#include "svcres/dns/wire.hpp"

namespace svcres::dns {

class Message;

// A name inside a parsed message, possibly compressed; nothing is copied until to_name().
class NameRef {
 public:
  NameRef() noexcept = default;
  // Any offset into any buffer is safe: every method walks the name with full bounds checks.
  NameRef(const std::uint8_t* msg, std::size_t size, std::size_t offset) noexcept
      : msg_(msg), size_(size), offset_(offset) {}

  // Offset of the name's first byte in the message.
  std::size_t offset() const noexcept { return offset_; }
  const std::uint8_t* message() const noexcept { return msg_; }
  std::size_t message_size() const noexcept { return size_; }
  bool valid() const noexcept { return msg_ != nullptr; }

  Result<Name> to_name() const noexcept {
    // One named result on every path, so it is built in the caller's storage (NRVO): a second
    // returned object would force a copy of the name on the hot, validated path.
    Result<Name> r{Name(Name::Blank{})};
    if (validated_) {
      Name::decompress_validated(r.value(), msg_, offset_);
      return r;
    }
    // Unvalidated bytes: the full walk, into the same storage.
    const Errc e = msg_ ? r.value().decompress_into(msg_, size_, offset_) : Errc::invalid_argument;
    if (e != Errc::ok) r = e;
    return r;
  }

  NameText to_text() const noexcept {
    NameText t;
    std::uint8_t buf[max_name_wire];
    detail::NameWalk w;
    if (!msg_ || detail::walk_name(msg_, size_, offset_, size_, Errc::truncated, w, buf) != Errc::ok) buf[0] = 0;
    detail::wire_to_text(buf, t);
    return t;
  }

  // ASCII case-insensitive comparison with `name`, label by label, without decompressing.
  bool equals(const Name& name) const noexcept {
    if (!msg_) return false;
    const std::uint8_t* want = name.wire();
    std::size_t w = 0;
    std::size_t p = offset_;
    unsigned hops = 0;
    for (;;) {
      if (p >= size_) return false;
      std::uint8_t b = msg_[p];
      if (b >= 0xc0) {
        if (p + 1 >= size_ || ++hops > max_pointer_hops) return false;
        p = static_cast<std::size_t>(b & 0x3f) << 8 | msg_[p + 1];
        continue;
      }
      if (b != want[w]) return false;  // lengths differ (or one side ends)
      if (b == 0) return true;
      if (b > max_label || p + 1 + b > size_) return false;
      for (std::size_t i = 1; i <= b; ++i)
        if (detail::ascii_lower(msg_[p + i]) != detail::ascii_lower(want[w + i])) return false;
      p += b + 1u;
      w += b + 1u;
    }
  }

  // Uncompressed wire length (root byte included); 0 if the reference does not name a valid name.
  std::size_t wire_size() const noexcept {
    detail::NameWalk w;
    if (!msg_ || detail::walk_name(msg_, size_, offset_, size_, Errc::truncated, w) != Errc::ok) return 0;
    return w.wire_size;
  }

 private:
  friend struct Record;
  friend class RecordRange;
  friend class QuestionRange;
  // Only references handed out by a parsed Message are marked validated; they skip re-checking.
  NameRef(const std::uint8_t* msg, std::size_t size, std::size_t offset, bool validated) noexcept
      : msg_(msg), size_(size), offset_(offset), validated_(validated) {}
  const std::uint8_t* msg_ = nullptr;
  std::size_t size_ = 0;
  std::size_t offset_ = 0;
  bool validated_ = false;
};

// RFC 1035 §4.1.1, with AD and CD from RFC 4035 §3.2.
struct Header {
  std::uint16_t id = 0;
  bool qr = false, aa = false, tc = false, rd = false, ra = false, ad = false, cd = false;
  std::uint8_t opcode = 0;
  std::uint8_t rcode = 0;  // the low 4 bits; Message::rcode() adds the OPT extension
  std::uint16_t qdcount = 0, ancount = 0, nscount = 0, arcount = 0;
};

struct Question {
  NameRef name;
  Type type = Type::A;
  std::uint16_t klass = class_in;
};

struct SrvView {
  std::uint16_t priority = 0;
  std::uint16_t weight = 0;
  std::uint16_t port = 0;
  NameRef target;
};

struct SoaView {
  NameRef mname;
  NameRef rname;
  std::uint32_t serial = 0, refresh = 0, retry = 0, expire = 0, minimum = 0;
};

// The character-strings of a TXT record (RFC 1035 §3.3.14), each as a view of its bytes.
class TxtView {
 public:
  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = std::string_view;
    using difference_type = std::ptrdiff_t;
    using pointer = const std::string_view*;
    using reference = std::string_view;
    iterator(const std::uint8_t* p) noexcept : p_(p) {}
    std::string_view operator*() const noexcept { return {reinterpret_cast<const char*>(p_ + 1), p_[0]}; }
    iterator& operator++() noexcept {
      p_ += p_[0] + 1u;
      return *this;
    }
    bool operator==(const iterator& o) const noexcept { return p_ == o.p_; }
    bool operator!=(const iterator& o) const noexcept { return p_ != o.p_; }

   private:
    const std::uint8_t* p_;
  };
  TxtView() noexcept = default;
  TxtView(const std::uint8_t* data, std::uint16_t size) noexcept : data_(data), size_(size) {}
  iterator begin() const noexcept { return iterator(data_); }
  iterator end() const noexcept { return iterator(data_ + size_); }

 private:
  const std::uint8_t* data_ = nullptr;
  std::uint16_t size_ = 0;
};

// RFC 6891 §6.1.2-6.1.3: the OPT pseudo-record's reuse of the class and TTL fields.
struct OptView {
  std::uint16_t udp_payload = 0;
  std::uint8_t extended_rcode_high = 0;  // the upper 8 bits of the 12-bit rcode
  std::uint8_t version = 0;
  bool dnssec_ok = false;
  std::uint16_t flags = 0;  // the whole 16-bit flags field, DO included
  const std::uint8_t* options = nullptr;  // (code, length, value) triples, validated by parse()
  std::uint16_t options_size = 0;
};

struct Record {
  NameRef owner;
  Type type = Type::A;
  std::uint16_t klass = class_in;
  std::uint32_t ttl = 0;  // RFC 2181 §8: a value with the top bit set reads as 0
  const std::uint8_t* rdata = nullptr;
  std::uint16_t rdlength = 0;
  Section section = Section::answer;

  Result<IpAddress> as_a() const noexcept {
    if (type != Type::A) return Errc::invalid_argument;
    return IpAddress::from_v4_bytes(rdata);
  }
  Result<IpAddress> as_aaaa() const noexcept {
    if (type != Type::AAAA) return Errc::invalid_argument;
    return IpAddress::from_v6_bytes(rdata);
  }
  Result<SrvView> as_srv() const noexcept {
    if (type != Type::SRV) return Errc::invalid_argument;
    SrvView v;
    v.priority = detail::load_u16(rdata);
    v.weight = detail::load_u16(rdata + 2);
    v.port = detail::load_u16(rdata + 4);
    v.target = NameRef(owner.msg_, owner.size_, rdata_offset() + 6, owner.validated_);
    return v;
  }
  // CNAME, NS and PTR: the one name that is the whole rdata.
  Result<NameRef> as_name() const noexcept {
    if (type != Type::CNAME && type != Type::NS && type != Type::PTR) return Errc::invalid_argument;
    return NameRef(owner.msg_, owner.size_, rdata_offset(), owner.validated_);
  }
  Result<SoaView> as_soa() const noexcept {
    if (type != Type::SOA) return Errc::invalid_argument;
    SoaView v;
    const std::size_t start = rdata_offset();
    v.mname = NameRef(owner.msg_, owner.size_, start, owner.validated_);
    const std::size_t r = detail::skip_validated_name(owner.msg_, start);
    v.rname = NameRef(owner.msg_, owner.size_, r, owner.validated_);
    const std::uint8_t* p = owner.msg_ + detail::skip_validated_name(owner.msg_, r);
    v.serial = detail::load_u32(p);
    v.refresh = detail::load_u32(p + 4);
    v.retry = detail::load_u32(p + 8);
    v.expire = detail::load_u32(p + 12);
    v.minimum = detail::load_u32(p + 16);
    return v;
  }
  Result<TxtView> as_txt() const noexcept {
    if (type != Type::TXT) return Errc::invalid_argument;
    return TxtView(rdata, rdlength);
  }
  Result<OptView> as_opt() const noexcept {
    if (type != Type::OPT) return Errc::invalid_argument;
    OptView v;
    // The raw class and TTL fields sit before rdlength; the TTL rule of RFC 2181 does not apply.
    v.udp_payload = detail::load_u16(rdata - 8);
    const std::uint32_t raw_ttl = detail::load_u32(rdata - 6);
    v.extended_rcode_high = static_cast<std::uint8_t>(raw_ttl >> 24);
    v.version = static_cast<std::uint8_t>(raw_ttl >> 16);
    v.flags = static_cast<std::uint16_t>(raw_ttl);
    v.dnssec_ok = (raw_ttl & 0x8000u) != 0;
    v.options = rdata;
    v.options_size = rdlength;
    return v;
  }

 private:
  std::size_t rdata_offset() const noexcept { return static_cast<std::size_t>(rdata - owner.msg_); }
};

// The records of one section, in wire order.
class RecordRange {
 public:
  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Record;
    using difference_type = std::ptrdiff_t;
    using pointer = const Record*;
    using reference = const Record&;

    const Record& operator*() const noexcept { return rec_; }
    const Record* operator->() const noexcept { return &rec_; }
    iterator& operator++() noexcept {
      --left_;
      load();
      return *this;
    }
    iterator operator++(int) noexcept {
      iterator old = *this;
      ++*this;
      return old;
    }
    bool operator==(const iterator& o) const noexcept { return left_ == o.left_; }
    bool operator!=(const iterator& o) const noexcept { return left_ != o.left_; }

   private:
    friend class RecordRange;
    iterator(const std::uint8_t* msg, std::size_t size, std::size_t pos, std::size_t left, Section s) noexcept
        : msg_(msg), size_(size), next_(pos), left_(left) {
      rec_.section = s;
      load();
    }
    // Decodes the record at next_; the message was validated, so no bound is checked again.
    void load() noexcept {
      if (left_ == 0) return;
      const std::size_t at = next_;
      std::size_t p = detail::skip_validated_name(msg_, at);
      rec_.owner = NameRef(msg_, size_, at, true);
      rec_.type = static_cast<Type>(detail::load_u16(msg_ + p));
      rec_.klass = detail::load_u16(msg_ + p + 2);
      const std::uint32_t ttl = detail::load_u32(msg_ + p + 4);
      rec_.ttl = (ttl & 0x80000000u) ? 0 : ttl;  // RFC 2181 §8
      rec_.rdlength = detail::load_u16(msg_ + p + 8);
      rec_.rdata = msg_ + p + record_fixed_size;
      next_ = p + record_fixed_size + rec_.rdlength;
    }
    const std::uint8_t* msg_;
    std::size_t size_;
    std::size_t next_;
    std::size_t left_;
    Record rec_;
  };

  iterator begin() const noexcept { return iterator(msg_, size_, start_, count_, section_); }
  iterator end() const noexcept { return iterator(msg_, size_, start_, 0, section_); }
  std::size_t size() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }

 private:
  friend class Message;
  RecordRange(const std::uint8_t* msg, std::size_t size, std::size_t start, std::size_t count, Section s) noexcept
      : msg_(msg), size_(size), start_(start), count_(count), section_(s) {}
  const std::uint8_t* msg_;
  std::size_t size_;
  std::size_t start_;
  std::size_t count_;
  Section section_;
};

// The questions of a message (almost always exactly one), in wire order.
class QuestionRange {
 public:
  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Question;
    using difference_type = std::ptrdiff_t;
    using pointer = const Question*;
    using reference = Question;

    Question operator*() const noexcept {
      Question q;
      q.name = NameRef(msg_, size_, pos_, true);
      const std::size_t p = detail::skip_validated_name(msg_, pos_);
      q.type = static_cast<Type>(detail::load_u16(msg_ + p));
      q.klass = detail::load_u16(msg_ + p + 2);
      return q;
    }
    iterator& operator++() noexcept {
      pos_ = detail::skip_validated_name(msg_, pos_) + 4;
      --left_;
      return *this;
    }
    bool operator==(const iterator& o) const noexcept { return left_ == o.left_; }
    bool operator!=(const iterator& o) const noexcept { return left_ != o.left_; }

   private:
    friend class QuestionRange;
    iterator(const std::uint8_t* msg, std::size_t size, std::size_t pos, std::size_t left) noexcept
        : msg_(msg), size_(size), pos_(pos), left_(left) {}
    const std::uint8_t* msg_;
    std::size_t size_;
    std::size_t pos_;
    std::size_t left_;
  };
  iterator begin() const noexcept { return iterator(msg_, size_, header_size, count_); }
  iterator end() const noexcept { return iterator(msg_, size_, header_size, 0); }
  std::size_t size() const noexcept { return count_; }

 private:
  friend class Message;
  QuestionRange(const std::uint8_t* msg, std::size_t size, std::size_t count) noexcept
      : msg_(msg), size_(size), count_(count) {}
  const std::uint8_t* msg_;
  std::size_t size_;
  std::size_t count_;
};

class Message {
 public:
  static Result<Message> parse(const std::uint8_t* data, std::size_t size) noexcept;

  const Header& header() const noexcept { return header_; }
  const std::uint8_t* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }

  bool has_question() const noexcept { return header_.qdcount > 0; }
  // The first question; only meaningful when has_question().
  Question question() const noexcept { return *questions().begin(); }
  QuestionRange questions() const noexcept { return QuestionRange(data_, size_, header_.qdcount); }

  // The full 12-bit rcode: the header's 4 bits plus the OPT extension (RFC 6891 §6.1.3).
  Rcode rcode() const noexcept {
    return static_cast<Rcode>(unsigned{rcode_high_} << 4 | header_.rcode);
  }
  bool has_opt() const noexcept { return opt_offset_ != 0; }
  // The OPT record's fields; Errc::not_found when the message has none.
  Result<OptView> opt() const noexcept {
    if (opt_offset_ == 0) return Errc::not_found;
    RecordRange r(data_, size_, opt_offset_, 1, Section::additional);
    return r.begin()->as_opt();
  }

  RecordRange records(Section s) const noexcept {
    switch (s) {
      case Section::answer: return RecordRange(data_, size_, start_[0], header_.ancount, s);
      case Section::authority: return RecordRange(data_, size_, start_[1], header_.nscount, s);
      case Section::additional: return RecordRange(data_, size_, start_[2], header_.arcount, s);
      case Section::question: break;
    }
    return RecordRange(data_, size_, start_[0], 0, s);  // questions are not records: see questions()
  }
  RecordRange answers() const noexcept { return records(Section::answer); }
  RecordRange authorities() const noexcept { return records(Section::authority); }
  RecordRange additionals() const noexcept { return records(Section::additional); }

 private:
  Message() noexcept = default;
  // The whole of parse() on *this; after an error the fields are half set and parse() drops them.
  Errc parse_into(const std::uint8_t* data, std::size_t size) noexcept;
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  Header header_;
  std::size_t start_[3] = {0, 0, 0};  // first byte of the answer, authority and additional sections
  std::size_t opt_offset_ = 0;        // the OPT record's owner byte; 0 = none (never inside the header)
  std::uint8_t rcode_high_ = 0;       // from the OPT TTL field (RFC 6891 §6.1.3)
};

namespace detail {

// Checks the rdata of the types the codec understands; other types are opaque bytes. `seen` as
// for walk_name.
inline Errc check_rdata(const std::uint8_t* msg, std::size_t size, Type type, std::size_t rd,
                        std::size_t rdend, WalkedNames* seen = nullptr) noexcept {
  const std::size_t len = rdend - rd;
  NameWalk w;
  // The address types first: most records in an answer are one of them.
  if (type == Type::A) return len == 4 ? Errc::ok : Errc::bad_rdlength;       // RFC 1035 §3.4.1
  if (type == Type::AAAA) return len == 16 ? Errc::ok : Errc::bad_rdlength;  // RFC 3596 §2.2
  switch (type) {
    case Type::NS:
    case Type::CNAME:
    case Type::PTR: {
      // RFC 1035 §3.3.1, §3.3.11, §3.3.12: the rdata is one name and nothing else.
      if (len == 0) return Errc::bad_rdlength;
      Errc e = walk_name(msg, size, rd, rdend, Errc::bad_rdlength, w, nullptr, seen);
      if (e != Errc::ok) return e;
      return w.next == rdend ? Errc::ok : Errc::bad_rdlength;
    }
    case Type::SRV: {
      // RFC 2782: priority, weight, port, then the target (at least the root byte).
      if (len < 7) return Errc::bad_rdlength;
      Errc e = walk_name(msg, size, rd + 6, rdend, Errc::bad_rdlength, w, nullptr, seen);
      if (e != Errc::ok) return e;
      return w.next == rdend ? Errc::ok : Errc::bad_rdlength;
    }
    case Type::SOA: {
      // RFC 1035 §3.3.13: MNAME, RNAME, then five 32-bit fields.
      if (len == 0) return Errc::bad_rdlength;
      Errc e = walk_name(msg, size, rd, rdend, Errc::bad_rdlength, w, nullptr, seen);
      if (e != Errc::ok) return e;
      if (w.next >= rdend) return Errc::bad_rdlength;
      e = walk_name(msg, size, w.next, rdend, Errc::bad_rdlength, w, nullptr, seen);
      if (e != Errc::ok) return e;
      return rdend - w.next == 20 ? Errc::ok : Errc::bad_rdlength;
    }
    case Type::TXT: {
      // RFC 1035 §3.3.14: one or more <character-string>s, each a length byte and that many bytes.
      if (len == 0) return Errc::bad_rdlength;
      std::size_t p = rd;
      while (p < rdend) p += msg[p] + 1u;
      return p == rdend ? Errc::ok : Errc::bad_rdlength;
    }
    case Type::OPT: {
      // RFC 6891 §6.1.2: {code, length, value} triples filling the rdata exactly.
      std::size_t p = rd;
      while (p < rdend) {
        if (rdend - p < 4) return Errc::bad_rdlength;
        const std::size_t value = load_u16(msg + p + 2);
        if (rdend - p - 4 < value) return Errc::bad_rdlength;
        p += 4 + value;
      }
      return Errc::ok;
    }
    default:
      return Errc::ok;
  }
}

}  // namespace detail

inline Result<Message> Message::parse(const std::uint8_t* data, std::size_t size) noexcept {
  // The one returned object is filled in place (NRVO): no copy of the Message on the way out.
  Result<Message> r{Message()};
  const Errc e = r.value().parse_into(data, size);
  if (e != Errc::ok) r = e;
  return r;
}

inline Errc Message::parse_into(const std::uint8_t* data, std::size_t size) noexcept {
  if (data == nullptr || size < header_size) return Errc::truncated;
  // No upper bound on `size`: transports cap a message at 65535 bytes (RFC 7766 §8), the codec
  // parses whatever bytes it is given, and only the first 16 KiB can be pointer targets.
  Message& m = *this;
  m.data_ = data;
  m.size_ = size;
  Header& h = m.header_;
  h.id = detail::load_u16(data);
  const std::uint8_t f1 = data[2], f2 = data[3];
  h.qr = f1 & 0x80;
  h.opcode = static_cast<std::uint8_t>((f1 >> 3) & 0x0f);
  h.aa = f1 & 0x04;
  h.tc = f1 & 0x02;
  h.rd = f1 & 0x01;
  h.ra = f2 & 0x80;
  h.ad = f2 & 0x20;
  h.cd = f2 & 0x10;
  h.rcode = static_cast<std::uint8_t>(f2 & 0x0f);
  h.qdcount = detail::load_u16(data + 4);
  h.ancount = detail::load_u16(data + 6);
  h.nscount = detail::load_u16(data + 8);
  h.arcount = detail::load_u16(data + 10);

  // Before any work: counts that cannot fit in the bytes that remain.
  const std::size_t need = std::size_t{h.qdcount} * min_question_size +
                           (std::size_t{h.ancount} + h.nscount + h.arcount) * min_record_size;
  if (need > size - header_size) return Errc::too_many_records;

  std::size_t pos = header_size;
  detail::NameWalk w;
  detail::WalkedNames seen;
  for (unsigned i = 0; i < h.qdcount; ++i) {
    Errc e = detail::walk_name(data, size, pos, size, Errc::truncated, w, nullptr, &seen);
    if (e != Errc::ok) return e;
    if (size - w.next < 4) return Errc::truncated;
    pos = w.next + 4;
  }

  const std::uint16_t counts[3] = {h.ancount, h.nscount, h.arcount};
  for (unsigned s = 0; s < 3; ++s) {
    m.start_[s] = pos;
    for (unsigned i = 0; i < counts[s]; ++i) {
      const std::size_t owner = pos;
      Errc e = detail::walk_name(data, size, pos, size, Errc::truncated, w, nullptr, &seen);
      if (e != Errc::ok) return e;
      pos = w.next;
      if (size - pos < record_fixed_size) return Errc::truncated;
      const Type type = static_cast<Type>(detail::load_u16(data + pos));
      const std::size_t rdlength = detail::load_u16(data + pos + 8);
      pos += record_fixed_size;
      if (size - pos < rdlength) return Errc::truncated;
      if (type == Type::OPT) {
        // RFC 6891 §6.1.1: one OPT at most, in the additional section, owned by the root.
        if (s != 2 || w.wire_size != 1) return Errc::misplaced_opt;
        if (m.opt_offset_ != 0) return Errc::duplicate_opt;
        m.opt_offset_ = owner;
        m.rcode_high_ = data[pos - record_fixed_size + 4];
      }
      e = detail::check_rdata(data, size, type, pos, pos + rdlength, &seen);
      if (e != Errc::ok) return e;
      pos += rdlength;
    }
  }
  if (pos != size) return Errc::trailing_data;
  return Errc::ok;
}

}  // namespace svcres::dns
