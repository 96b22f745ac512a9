// The examples' HTTP/1.1 layer: head parsing, body framing, and reading real bytes from a socket
// (a socketpair stands in for the network: the bytes pass through the kernel as on TCP).
#include <sys/socket.h>

#include <thread>

#include "common/http.hpp"
#include "test.hpp"

using namespace svcres_examples::http;
using svcres::Errc;
using namespace std::chrono_literals;

namespace {

struct Pair {
  Socket ours, theirs;
  Pair() {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    ours = Socket(fds[0]);
    theirs = Socket(fds[1]);
  }
  void send(std::string_view s) { REQUIRE(send_all(theirs.get(), s, std::chrono::steady_clock::now() + 2s).ok()); }
  void eof() { ::shutdown(theirs.get(), SHUT_WR); }
};

TimePoint soon() { return std::chrono::steady_clock::now() + 2s; }

Status read_one(std::string_view bytes, Response& res, Limits limits = {}, bool close_after = true) {
  Pair p;
  p.send(bytes);
  if (close_after) p.eof();
  Reader r(p.ours.get());
  return read_response(r, limits, soon(), false, res);
}

}  // namespace

TEST_CASE("response head: status line forms", "[http]") {
  Limits lim;
  Response r;
  CHECK(parse_response_head("HTTP/1.1 200 OK\r\nA: b", lim, r).ok());
  CHECK(r.status == 200);
  CHECK(r.reason == "OK");
  CHECK(*r.headers.find("a") == "b");

  Response e;
  CHECK(parse_response_head("HTTP/1.1 204 ", lim, e).ok());  // empty reason phrase is allowed
  CHECK(e.status == 204);
  CHECK(e.reason.empty());
  Response f;
  CHECK(parse_response_head("HTTP/1.0 503 Service Unavailable", lim, f).ok());
  CHECK(f.minor_version == 0);
  CHECK(f.reason == "Service Unavailable");

  for (const char* bad : {"HTTP/2 200 OK", "HTTP/1.1 20 OK", "HTTP/1.1 2000 OK", "HTTP/1.1  200 OK",
                          "http/1.1 200 OK", "HTTP/1.1 2x0 OK", "ICY 200 OK", "HTTP/1.1 099 Low", "garbage",
                          "HTTP/1.1 200OK"}) {
    INFO(bad);
    Response x;
    Status s = parse_response_head(bad, lim, x);
    CHECK(s.code == Errc::http_error);
    CHECK(s.message.find("status") != std::string::npos);
  }
}

TEST_CASE("response head: header lines are strict", "[http]") {
  Limits lim;
  struct Case {
    const char* head;
    const char* says;
  } cases[] = {
      {"HTTP/1.1 200 OK\r\nName : v", "bad character in header name"},
      {"HTTP/1.1 200 OK\r\nNo-colon", "without a name and colon"},
      {"HTTP/1.1 200 OK\r\n: v", "without a name and colon"},
      {"HTTP/1.1 200 OK\r\nA: b\r\n folded", "folding"},
      {"HTTP/1.1 200 OK\nA: b", "bare LF"},
      {"HTTP/1.1 200 OK\r\nA: b\rc", "bare CR"},
      {"HTTP/1.1 200 OK\r\nA: b\x01", "control character"},
  };
  for (const Case& c : cases) {
    INFO(c.head);
    Response r;
    Status s = parse_response_head(c.head, lim, r);
    CHECK(s.code == Errc::http_error);
    CHECK(s.message.find(c.says) != std::string::npos);
  }
  Limits few;
  few.max_headers = 2;
  Response r;
  CHECK(parse_response_head("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3", few, r).code == Errc::capacity_exceeded);
  Response ok;
  CHECK(parse_response_head("HTTP/1.1 200 OK\r\nA:   spaced value \t", lim, ok).ok());
  CHECK(*ok.headers.find("A") == "spaced value");
}

TEST_CASE("request head: request line and Host", "[http]") {
  Limits lim;
  Request r;
  REQUIRE(parse_request_head("POST /2018-06-01/runtime/invocation/abc/response HTTP/1.1\r\nHost: x", lim, r).ok());
  CHECK(r.method == "POST");
  CHECK(r.target == "/2018-06-01/runtime/invocation/abc/response");
  Request nohost;
  CHECK(parse_request_head("GET / HTTP/1.1\r\nA: b", lim, nohost).code == Errc::http_error);
  Request twohost;
  CHECK(parse_request_head("GET / HTTP/1.1\r\nHost: a\r\nHost: b", lim, twohost).code == Errc::http_error);
  Request old;
  CHECK(parse_request_head("GET / HTTP/1.0", lim, old).ok());  // 1.0 needs no Host
  for (const char* bad : {"GET /", "GET  / HTTP/1.1", "GET / HTTP/1.1 x", "G(T / HTTP/1.1", "GET / HTTP/3.0"}) {
    INFO(bad);
    Request x;
    CHECK(parse_request_head(bad, lim, x).code == Errc::http_error);
  }
}

TEST_CASE("body framing follows RFC 9112 section 6.3", "[http]") {
  Framing f;
  std::uint64_t n = 0;
  Headers h;
  h.add("Content-Length", "12");
  REQUIRE(body_framing(h, true, 200, false, f, n).ok());
  CHECK(f == Framing::length);
  CHECK(n == 12);
  CHECK(body_framing(h, true, 204, false, f, n).ok());
  CHECK(f == Framing::none);
  CHECK(body_framing(h, true, 200, true, f, n).ok());  // response to HEAD
  CHECK(f == Framing::none);

  Headers same;
  same.add("Content-Length", "5");
  same.add("content-length", "5");
  CHECK(body_framing(same, true, 200, false, f, n).ok());
  Headers differ;
  differ.add("Content-Length", "5");
  differ.add("Content-Length", "6");
  CHECK(body_framing(differ, true, 200, false, f, n).code == Errc::http_error);
  for (const char* bad : {"-1", "+5", "5 ", "0x10", "", "99999999999999999999"}) {
    INFO(bad);
    Headers b;
    b.add("Content-Length", bad);
    CHECK(body_framing(b, true, 200, false, f, n).code == Errc::http_error);
  }
  Headers both;
  both.add("Transfer-Encoding", "chunked");
  both.add("Content-Length", "3");
  CHECK(body_framing(both, true, 200, false, f, n).code == Errc::http_error);
  Headers gz;
  gz.add("Transfer-Encoding", "gzip, chunked");
  CHECK(body_framing(gz, true, 200, false, f, n).code == Errc::http_error);
  Headers none;
  CHECK(body_framing(none, true, 200, false, f, n).ok());
  CHECK(f == Framing::until_close);
  CHECK(body_framing(none, false, 0, false, f, n).ok());  // a request without either has no body
  CHECK(f == Framing::none);
}

TEST_CASE("reading a Content-Length body, with bytes of the next message left in the buffer", "[http]") {
  Pair p;
  p.send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
  Reader r(p.ours.get());
  Response a, b;
  REQUIRE(read_response(r, {}, soon(), false, a).ok());
  CHECK(a.body == "hello");
  CHECK(a.keep_alive);
  REQUIRE(read_response(r, {}, soon(), false, b).ok());
  CHECK(b.status == 202);
  CHECK(b.body.empty());
  CHECK_FALSE(r.has_buffered());
}

TEST_CASE("reading a chunked body with extensions and trailers", "[http]") {
  Response res;
  REQUIRE(read_one("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "5;name=value\r\nhello\r\n"
                   "1A\r\nabcdefghijklmnopqrstuvwxyz\r\n"
                   "0\r\nTrailer-One: x\r\n\r\n",
                   res, {}, false)
              .ok());
  CHECK(res.body == "helloabcdefghijklmnopqrstuvwxyz");
  CHECK(res.chunked_body);
  CHECK(res.keep_alive);
}

TEST_CASE("chunked body errors", "[http]") {
  struct Case {
    const char* chunks;
    Errc code;
  } cases[] = {
      {"zz\r\nab\r\n0\r\n\r\n", Errc::http_error},                   // not hex
      {"\r\n", Errc::http_error},                                    // empty size
      {"ffffffffffffffffff\r\n", Errc::http_error},                  // would overflow
      {"3\r\nabcXY0\r\n\r\n", Errc::http_error},                     // data not followed by CRLF
      {"5\r\nab", Errc::connection_closed},                          // EOF inside data
      {"5\r\nhello\r\n", Errc::connection_closed},                   // EOF before last chunk
      {"100000\r\n", Errc::capacity_exceeded},                       // 1 MiB chunk over a 1 KiB limit
  };
  Limits small;
  small.max_body_bytes = 1024;
  for (const Case& c : cases) {
    INFO(c.chunks);
    Response res;
    Status s = read_one(std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") + c.chunks, res, small);
    CHECK(s.code == c.code);
  }
}

TEST_CASE("a body delimited by close, and early EOF", "[http]") {
  Response res;
  REQUIRE(read_one("HTTP/1.0 200 OK\r\n\r\nall of it", res).ok());
  CHECK(res.body == "all of it");
  CHECK_FALSE(res.keep_alive);

  Response early;
  Status s = read_one("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", early);
  CHECK(s.code == Errc::connection_closed);
  CHECK(early.status == 200);  // the head was read before the body failed

  Response mid;
  s = read_one("HTTP/1.1 200 OK\r\nConte", mid);
  CHECK(s.code == Errc::connection_closed);
  CHECK(s.message.find("middle of a message head") != std::string::npos);

  Response nothing;
  CHECK(read_one("", nothing).code == Errc::connection_closed);
}

TEST_CASE("size limits: head and body", "[http]") {
  Limits lim;
  lim.max_head_bytes = 128;
  lim.max_body_bytes = 16;
  Response big_head;
  Status s = read_one("HTTP/1.1 200 OK\r\nX: " + std::string(200, 'a') + "\r\n\r\n", big_head, lim);
  CHECK(s.code == Errc::capacity_exceeded);

  Response big_body;
  s = read_one("HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r1\r\nContent-Length: 17\r\n\r\n", big_body, lim, false);
  CHECK(s.code == Errc::capacity_exceeded);
  REQUIRE(big_body.headers.find("Lambda-Runtime-Aws-Request-Id"));
  CHECK(*big_body.headers.find("Lambda-Runtime-Aws-Request-Id") == "r1");  // headers still usable

  Response exact;
  CHECK(read_one("HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n0123456789abcdef", exact, lim).ok());
  CHECK(exact.body.size() == 16);

  Response until_close;
  CHECK(read_one("HTTP/1.1 200 OK\r\n\r\n" + std::string(40, 'x'), until_close, lim).code == Errc::capacity_exceeded);
}

TEST_CASE("a hanging peer runs into the deadline", "[http]") {
  Pair p;
  p.send("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  Reader r(p.ours.get());
  Response res;
  auto t0 = std::chrono::steady_clock::now();
  Status s = read_response(r, {}, t0 + 150ms, false, res);
  auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(s.code == Errc::timeout);
  CHECK(waited >= 150ms);

  Pair silent;
  Reader r2(silent.ours.get());
  Response res2;
  Status s2 = read_response(r2, {}, std::chrono::steady_clock::now() + 50ms, false, res2);
  CHECK(s2.code == Errc::timeout);
  CHECK(s2.message.find("waiting for a message") != std::string::npos);
}

TEST_CASE("leading empty lines before a message are skipped; Connection: close is honoured", "[http]") {
  Response res;
  REQUIRE(read_one("\r\nHTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n", res).ok());
  CHECK_FALSE(res.keep_alive);
  Response ka10;
  REQUIRE(read_one("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", ka10).ok());
  CHECK(ka10.keep_alive);
}

TEST_CASE("serialised messages parse back", "[http]") {
  Request req;
  req.method = "POST";
  req.target = "/x";
  req.headers.add("Lambda-Runtime-Function-Error-Type", "Runtime.Test");
  req.body = "{\"a\":1}";
  for (bool chunked : {false, true}) {
    req.chunked_body = chunked;
    Pair p;
    p.send(serialize(req, "127.0.0.1:9001"));
    Reader r(p.ours.get());
    Request got;
    REQUIRE(read_request(r, {}, soon(), got).ok());
    CHECK(got.method == "POST");
    CHECK(got.body == req.body);
    CHECK(got.chunked_body == chunked);
    CHECK(*got.headers.find("host") == "127.0.0.1:9001");
  }
  Response res;
  res.status = 503;
  res.reason = "Service Unavailable";
  res.body = "nope, try another task";
  for (bool chunked : {false, true}) {
    res.chunked_body = chunked;
    Response got;
    REQUIRE(read_one(serialize(res, false), got, {}, false).ok());
    CHECK(got.status == 503);
    CHECK(got.body == res.body);
  }
}
