// The JSON string writer the examples use for error documents: whatever bytes come in (a backend's
// error body, a request id), the output parses as JSON.
#include "common/json.hpp"
#include "mini_json.hpp"
#include "test.hpp"

using svcres_examples::json::quote;
using svcres_examples::json::truncate;

TEST_CASE("quote escapes what JSON requires and keeps valid UTF-8", "[json]") {
  struct Case {
    std::string in, out;
  } cases[] = {
      {"plain", "\"plain\""},
      {"a\"b\\c", "\"a\\\"b\\\\c\""},
      {"line\nnext\ttab\r", "\"line\\nnext\\ttab\\r\""},
      {std::string("nul\0x", 5), "\"nul\\u0000x\""},
      {"\x7f", "\"\\u007f\""},
      {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
      // Broken UTF-8: lone continuation, truncated sequence, overlong lead, 0xff.
      {"\x80", "\"\\ufffd\""},
      {"\xe2\x82", "\"\\ufffd\\ufffd\""},
      {"\xc0\xaf", "\"\\ufffd\\ufffd\""},
      {"\xff", "\"\\ufffd\""},
  };
  for (const Case& c : cases) {
    INFO(c.out);
    CHECK(quote(c.in) == c.out);
  }
}

// The reader below is the oracle for quote(); it must refuse what JSON refuses.
TEST_CASE("the test JSON reader is strict about escapes and numbers", "[json]") {
  for (const char* bad : {"\"\\uzzzz\"", "\"\\u12\"", "\"\\x41\"", "\"tab\there\"", "1.", "01", "1e", "-", "1.e3",
                          "+1", "[1,]", "{\"a\":1,\"a\":2}"}) {
    INFO(bad);
    svcres_test::Json v;
    CHECK_FALSE(svcres_test::parse_json(bad, v));
  }
  svcres_test::Json v;
  REQUIRE(svcres_test::parse_json("[\"\\u0041\\n\", -0.5e+2, 0, 12.25]", v));
  REQUIRE(v.items.size() == 4);
  CHECK(v.items[0].str == "A\n");
  CHECK(v.items[1].num == -50);
  CHECK(v.items[3].num == 12.25);
}

TEST_CASE("every byte string quotes into valid JSON", "[json]") {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t cut = 0; cut < all.size(); cut += 7) {
    svcres_test::Json v;
    INFO(cut);
    CHECK(svcres_test::parse_json(quote(all.substr(cut)), v));
    CHECK(v.kind == svcres_test::Json::Kind::string);
  }
}

TEST_CASE("truncation marks the cut", "[json]") {
  CHECK(truncate("short", 10) == "short");
  CHECK(truncate("0123456789abc", 4) == "0123...(13 bytes)");
}
