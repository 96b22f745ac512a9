// Client and threaded server of the examples' HTTP layer against each other on loopback TCP.
#include <atomic>
#include <thread>

#include "common/http_client.hpp"
#include "common/http_server.hpp"
#include "test.hpp"

using namespace svcres_examples::http;
using svcres::Errc;
using namespace std::chrono_literals;

namespace {
svcres::Endpoint loopback(const char* text) { return svcres::Endpoint::parse(text).value(); }
TimePoint in(svcres::Duration d) { return std::chrono::steady_clock::now() + d; }
}  // namespace

TEST_CASE("keep-alive: several requests share one connection", "[http][server]") {
  Server server(loopback("127.0.0.1:0"), [](const Request& req, const ConnectionInfo& info, Reply& reply) {
    reply.response.body = req.method + " " + req.target + " #" + std::to_string(info.request_no) + " " + req.body;
    reply.response.chunked_body = req.target == "/chunked";
  });
  REQUIRE(server.start().ok());
  Client client(server.endpoint());
  for (int i = 0; i < 3; ++i) {
    Request req;
    req.method = "POST";
    req.target = i == 1 ? "/chunked" : "/plain";
    req.body = "body" + std::to_string(i);
    Response res;
    REQUIRE(client.request(req, in(2s), res).ok());
    CHECK(res.status == 200);
    CHECK(res.body == "POST " + req.target + " #" + std::to_string(i) + " body" + std::to_string(i));
    CHECK(res.chunked_body == (i == 1));
  }
  CHECK(client.connects() == 1);
  CHECK(server.connections_accepted() == 1);
}

TEST_CASE("a connection the server closed is replaced transparently", "[http][server]") {
  Server server(loopback("127.0.0.1:0"), [](const Request&, const ConnectionInfo& info, Reply& reply) {
    reply.response.body = std::to_string(info.id);
    reply.close = true;  // every answer ends its connection
  });
  REQUIRE(server.start().ok());
  Client client(server.endpoint());
  for (int i = 1; i <= 3; ++i) {
    Response res;
    REQUIRE(client.request(Request{}, in(2s), res).ok());
    CHECK_FALSE(res.keep_alive);
    CHECK(res.body == std::to_string(i));
  }
  CHECK(client.connects() == 3);
}

TEST_CASE("a server that hangs: the client times out and does not read the late answer later",
          "[http][server]") {
  std::atomic<int> calls{0};
  Server* self = nullptr;
  Server server(loopback("127.0.0.1:0"), [&](const Request& req, const ConnectionInfo&, Reply& reply) {
    ++calls;
    if (req.target == "/slow") self->wait_for(300ms);
    reply.response.body = req.target;
  });
  self = &server;
  REQUIRE(server.start().ok());
  Client client(server.endpoint());
  Request slow;
  slow.target = "/slow";
  Response res;
  auto t0 = std::chrono::steady_clock::now();
  Status s = client.request(slow, t0 + 100ms, res);
  CHECK(s.code == Errc::timeout);
  CHECK(std::chrono::steady_clock::now() - t0 < 290ms);
  CHECK_FALSE(client.connected());
  std::this_thread::sleep_for(350ms);  // the late "/slow" answer arrives on the dead connection
  Request fast;
  fast.target = "/fast";
  REQUIRE(client.request(fast, in(2s), res).ok());
  CHECK(res.body == "/fast");
  CHECK(calls.load() == 2);
}

TEST_CASE("broken peers: garbage, drop, refused", "[http][server]") {
  Server server(loopback("127.0.0.1:0"), [](const Request& req, const ConnectionInfo&, Reply& reply) {
    if (req.target == "/garbage") reply.raw = "HTTP/1.1 OK 200\r\n\r\n";
    if (req.target == "/drop") reply.drop = true;
    if (req.target == "/short") reply.raw = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this";
  });
  REQUIRE(server.start().ok());
  Client client(server.endpoint());
  Request r;
  Response res;
  r.target = "/garbage";
  Status s = client.request(r, in(2s), res);
  CHECK(s.code == Errc::http_error);
  CHECK(s.message.find("GET /garbage") != std::string::npos);
  r.target = "/drop";
  CHECK(client.request(r, in(2s), res).code == Errc::connection_closed);
  r.target = "/short";
  CHECK(client.request(r, in(2s), res).code == Errc::connection_closed);
  r.target = "/fine";
  CHECK(client.request(r, in(2s), res).ok());

  svcres::Endpoint gone = server.endpoint();
  server.stop();
  Client nobody(gone);
  CHECK(nobody.request(r, in(2s), res).code == Errc::connection_refused);
}

TEST_CASE("the server answers malformed requests with 400 and oversize ones with 413", "[http][server]") {
  Limits lim;
  lim.max_body_bytes = 100;
  Server server(
      loopback("127.0.0.1:0"), [](const Request&, const ConnectionInfo&, Reply&) {}, lim);
  REQUIRE(server.start().ok());
  struct Case {
    std::string bytes;
    int status;
  } cases[] = {
      {"GET / HTTP/1.1\r\n\r\n", 400},  // no Host
      {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n", 413},
      {"BAD REQUEST LINE HERE\r\n\r\n", 400},
  };
  for (const Case& c : cases) {
    INFO(c.bytes);
    Socket s;
    REQUIRE(connect_tcp(server.endpoint(), in(2s), s).ok());
    REQUIRE(send_all(s.get(), c.bytes, in(2s)).ok());
    Reader r(s.get());
    Response res;
    REQUIRE(read_response(r, {}, in(2s), false, res).ok());
    CHECK(res.status == c.status);
    CHECK_FALSE(res.keep_alive);
  }
}

TEST_CASE("stop() ends blocked handlers and idle keep-alive connections", "[http][server]") {
  std::atomic<bool> woke{false};
  Server* self = nullptr;
  Server server(loopback("127.0.0.1:0"), [&](const Request&, const ConnectionInfo&, Reply& reply) {
    woke = !self->wait_until([] { return false; });
    reply.drop = true;
  });
  self = &server;
  REQUIRE(server.start().ok());
  std::thread blocked([&] {
    Client c(server.endpoint());
    Response res;
    (void)c.request(Request{}, kNoDeadline, res);
  });
  std::this_thread::sleep_for(100ms);
  auto t0 = std::chrono::steady_clock::now();
  server.stop();
  blocked.join();
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  CHECK(woke.load());
}
