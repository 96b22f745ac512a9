// Zone-file text (examples/svcres/zone.hpp), the input `svcres serve` reads. Any input must give a
// zone or an error (printable, with a line inside the text or marked as about the whole zone), never
// a crash; and every record of a zone that parses must be servable: the responder's answer to a
// query for it must parse back as DNS.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "responder.hpp"
#include "svcres/dns/message.hpp"
#include "svcres/dns/writer.hpp"
#include "zone.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  svcres_cli::Zone zone;
  svcres_cli::ZoneError err;
  if (!svcres_cli::parse_zone(text, "fuzz.zone", "", zone, err)) {
    std::size_t lines = 1;
    for (char c : text) lines += c == '\n';
    // A line inside the text, or none for an error about the zone as a whole.
    if (err.whole_file ? err.line != 0 : (err.line < 1 || err.line > lines)) std::abort();
    if (err.message.empty()) std::abort();
    // Messages quote input escaped (\DDD): nothing in them can split or cut a log line.
    for (char c : err.text())
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) std::abort();
    return 0;
  }
  if (zone.records.empty()) std::abort();
  svcres::Rng rng(size);
  svcres_cli::ResponderOptions opt;
  opt.multivalue = 2;
  static std::uint8_t query[600], reply[65535];
  std::size_t asked = 0;
  for (const auto& r : zone.records) {
    if (r.ttl > 0x7fffffffu) std::abort();  // RFC 2181 §8
    if (++asked > 16) break;
    for (bool tcp : {false, true}) {
      auto q = svcres::dns::write_query(query, sizeof query, 0x1234, r.owner, r.type);
      if (!q.ok()) std::abort();
      std::size_t n = svcres_cli::answer_query(zone, opt, rng, query, q.value(), tcp, reply, sizeof reply);
      if (n == 0) std::abort();
      auto m = svcres::dns::Message::parse(reply, n);
      if (!m.ok() || m->header().id != 0x1234 || !m->header().qr) std::abort();
      if (!tcp && n > 1232) std::abort();  // the query offered EDNS 1232: never more over UDP
    }
  }
  return 0;
}
