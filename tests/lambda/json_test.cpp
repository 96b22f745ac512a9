// The JSON writer helpers the bootstrap uses for error documents and EMF lines: whatever bytes come
// in (a backend's error body, a request id), the output parses as JSON.
#include "common/json.hpp"
#include "mini_json.hpp"
#include "test.hpp"

using svcres_examples::json::number;
using svcres_examples::json::quote;
using svcres_examples::json::truncate;

TEST_CASE("quote escapes what JSON requires and keeps valid UTF-8", "[json]") {
  CHECK(quote("plain") == "\"plain\"");
  CHECK(quote("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(quote("line\nnext\ttab\r") == "\"line\\nnext\\ttab\\r\"");
  CHECK(quote(std::string("nul\0x", 5)) == "\"nul\\u0000x\"");
  CHECK(quote("\x7f") == "\"\\u007f\"");
  CHECK(quote("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") == "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  // Broken UTF-8: lone continuation, truncated sequence, overlong lead, 0xff.
  CHECK(quote("\x80") == "\"\\ufffd\"");
  CHECK(quote("\xe2\x82") == "\"\\ufffd\\ufffd\"");
  CHECK(quote("\xc0\xaf") == "\"\\ufffd\\ufffd\"");
  CHECK(quote("\xff") == "\"\\ufffd\"");
}

TEST_CASE("every byte string quotes into valid JSON", "[json]") {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t cut = 0; cut < all.size(); cut += 7) {
    mini_json::Value v;
    INFO(cut);
    CHECK(mini_json::parse(quote(all.substr(cut)), v));
    CHECK(v.is_string());
  }
}

TEST_CASE("numbers and truncation", "[json]") {
  CHECK(number(12.5) == "12.5");
  CHECK(number(3) == "3");
  CHECK(number(0.0004) == "0");
  CHECK(number(1.0 / 0.0) == "0");
  CHECK(truncate("short", 10) == "short");
  CHECK(truncate("0123456789abc", 4) == "0123...(13 bytes)");
}
