#include <cstdint>
#include <string>
#include <vector>

#include "svcres/dns/message.hpp"
#include "svcres/dns/writer.hpp"
#include "test.hpp"

using namespace svcres;
using namespace svcres::dns;

TEST_CASE("write_query produces a parseable EDNS query", "[dns][writer]") {
  std::uint8_t buf[512];
  auto qname = Name::from_text("user-service.local").value();
  auto n = write_query(buf, sizeof buf, 0x1234, qname, Type::SRV);
  REQUIRE(n.ok());
  auto m = Message::parse(buf, *n);
  REQUIRE(m.ok());
  CHECK(m->header().id == 0x1234);
  CHECK(m->header().rd);
  CHECK_FALSE(m->header().qr);
  REQUIRE(m->has_question());
  CHECK(m->question().name.equals(qname));
  CHECK(m->question().type == Type::SRV);
  auto opt = m->opt();
  REQUIRE(opt.ok());
  CHECK(opt->udp_payload == 1232);
  CHECK_FALSE(opt->dnssec_ok);
  CHECK(*n == 12 + qname.wire_size() + 4 + 11);
}
