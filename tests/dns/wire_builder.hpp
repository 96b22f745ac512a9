#pragma once
// Hand-built DNS messages for tests: bytes exactly as written, so malformed input can be expressed.
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace svcres_test {

struct WireBuilder {
  std::vector<std::uint8_t> b;

  // Header with the given counts; flags QR|AA|RD (0x8500).
  WireBuilder& header(std::uint16_t qd, std::uint16_t an, std::uint16_t ns, std::uint16_t ar, std::uint16_t id = 0x4242) {
    u16(id);
    u16(0x8500);
    u16(qd);
    u16(an);
    u16(ns);
    u16(ar);
    return *this;
  }
  WireBuilder& u8(unsigned v) {
    b.push_back(static_cast<std::uint8_t>(v));
    return *this;
  }
  WireBuilder& u16(unsigned v) {
    u8(v >> 8);
    return u8(v & 0xff);
  }
  WireBuilder& u32(std::uint32_t v) {
    u16(v >> 16);
    return u16(v & 0xffff);
  }
  WireBuilder& bytes(std::initializer_list<unsigned> l) {
    for (unsigned v : l) u8(v);
    return *this;
  }
  WireBuilder& label(const std::string& s) {
    u8(static_cast<unsigned>(s.size()));
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  // Dotted labels followed by the root byte ("a.b" -> 1 a 1 b 0); "" is the root alone.
  WireBuilder& name(const std::string& dotted) {
    labels(dotted);
    return u8(0);
  }
  // Dotted labels without the root byte, to be followed by ptr().
  WireBuilder& labels(const std::string& dotted) {
    std::size_t start = 0;
    while (start < dotted.size()) {
      std::size_t dot = dotted.find('.', start);
      if (dot == std::string::npos) dot = dotted.size();
      label(dotted.substr(start, dot - start));
      start = dot + 1;
    }
    return *this;
  }
  WireBuilder& ptr(std::size_t offset) { return u16(0xc000 | static_cast<unsigned>(offset)); }
  // Type, class, TTL and rdlength after an owner written by the caller.
  WireBuilder& fixed(unsigned type, std::uint32_t ttl, unsigned rdlength, unsigned klass = 1) {
    u16(type);
    u16(klass);
    u32(ttl);
    return u16(rdlength);
  }
  WireBuilder& question(const std::string& dotted, unsigned type = 1) {
    name(dotted);
    u16(type);
    return u16(1);
  }
  std::size_t size() const { return b.size(); }
  const std::uint8_t* data() const { return b.data(); }
};

}  // namespace svcres_test
