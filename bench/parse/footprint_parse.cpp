// The smallest program that parses with svcres: read a message from stdin, parse it, decompress
// every name. Built -Os and static; scripts/bench/parse.sh sums the size of the svcres code in it.
#include <cstdio>

#include "svcres/dns/message.hpp"

namespace svcres_footprint {
// Everything svcres contributes is inlined here or kept in svcres:: symbols; both are counted.
__attribute__((noinline)) unsigned svcres_parse_entry(const std::uint8_t* data, std::size_t size) {
  using namespace svcres::dns;
  auto m = Message::parse(data, size);
  if (!m.ok()) return 0;
  unsigned sum = 0;
  for (Section s : {Section::answer, Section::authority, Section::additional}) {
    for (const Record& r : m->records(s)) {
      auto owner = r.owner.to_name();
      if (owner.ok()) sum += static_cast<unsigned>(owner->wire_size());
      if (r.type == Type::SRV) sum += r.as_srv()->port;
      if (r.type == Type::A) sum += r.as_a()->bytes()[0];
    }
  }
  return sum;
}
}  // namespace svcres_footprint

int main() {
  static std::uint8_t buf[65535];
  const std::size_t n = std::fread(buf, 1, sizeof buf, stdin);
  return static_cast<int>(svcres_footprint::svcres_parse_entry(buf, n) & 0x7f);
}
