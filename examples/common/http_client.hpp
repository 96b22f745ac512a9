#pragma once
// HTTP/1.1 client for one peer with a persistent (keep-alive) connection.
//
// Contract: one thread uses a Client at a time. A request that fails in any way closes the
// connection, so a late answer to a timed-out request can never be read as the answer to the next
// one. A kept-alive connection the peer closed while idle is detected before reuse (poll says
// readable) or, in the race where the close arrives after our send, by "EOF before any byte of the
// response": then the request is sent once more on a fresh connection. That resend is the usual
// HTTP client rule for idle-close races (RFC 9112 §9.3.1); callers that cannot tolerate a
// duplicate must not rely on it for non-idempotent requests to peers that close idle connections.

#include <string>

#include "common/http.hpp"

namespace svcres_examples {
namespace http {

class Client {
 public:
  explicit Client(svcres::Endpoint peer, Limits limits = {}) : peer_(peer), limits_(limits) {
    host_ = std::string(svcres::to_text(peer_).view());
  }

  const svcres::Endpoint& peer() const noexcept { return peer_; }
  Limits& limits() noexcept { return limits_; }
  // TCP connections opened so far (tests check keep-alive with it).
  std::size_t connects() const noexcept { return connects_; }
  bool connected() const noexcept { return sock_.valid(); }
  void close() noexcept {
    sock_.reset();
    reader_ = Reader(-1);
  }

  Status request(const Request& req, TimePoint deadline, Response& out) {
    const std::string wire = serialize(req, host_);
    for (int attempt = 0;; ++attempt) {
      bool reused = false;
      if (sock_.valid() && idle_connection_unusable()) close();
      if (sock_.valid()) {
        reused = true;
      } else {
        if (Status s = connect_tcp(peer_, deadline, sock_); !s) return s;
        reader_ = Reader(sock_.get());
        ++connects_;
      }
      Status s = send_all(sock_.get(), wire, deadline);
      std::size_t before = reader_.received();
      if (s) {
        out = Response{};
        s = read_response(reader_, limits_, deadline, req.method == "HEAD", out);
      }
      if (s) {
        if (!out.keep_alive || wants_close(req.headers, 1)) close();
        return s;
      }
      bool nothing_came_back = reader_.received() == before;
      close();
      if (reused && attempt == 0 && s.code == Errc::connection_closed && nothing_came_back) continue;
      s.message = req.method + " " + req.target + " to " + host_ + ": " + s.message;
      return s;
    }
  }

 private:
  // An idle keep-alive connection has nothing to read; readable means EOF, reset or stray bytes,
  // and in every case it must not carry the next request.
  bool idle_connection_unusable() const noexcept {
    if (reader_.has_buffered()) return true;
    pollfd p{sock_.get(), POLLIN, 0};
    return ::poll(&p, 1, 0) != 0;
  }

  svcres::Endpoint peer_;
  Limits limits_;
  std::string host_;
  Socket sock_;
  Reader reader_{-1};
  std::size_t connects_ = 0;
};

}  // namespace http
}  // namespace svcres_examples
