#pragma once
// A small threaded HTTP/1.1 server for test backends and the Lambda Runtime API stand-in: one thread
// accepts, one thread per connection serves requests in order with keep-alive.
//
// The handler fills a Reply: a normal Response, or raw bytes sent verbatim (to play a broken peer),
// or nothing at all with `drop` (close without answering). Handlers may block; they should wait
// through Server::wait_for so stop() can end the wait.
//
// Threads: start() and stop() from one owner thread. The handler runs on connection threads,
// concurrently for different connections; it must synchronise its own state.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/http.hpp"

namespace svcres_examples {
namespace http {

struct Reply {
  Response response;
  std::string raw;     // when non-empty: written as is, then the connection is closed
  bool drop = false;   // close the connection without writing anything
  bool close = false;  // send `response`, then close
};

struct ConnectionInfo {
  svcres::Endpoint peer;
  std::size_t id = 0;          // connection number, from 1
  std::size_t request_no = 0;  // requests served on this connection before this one
};

class Server {
 public:
  using Handler = std::function<void(const Request&, const ConnectionInfo&, Reply&)>;

  Server(svcres::Endpoint bind_to, Handler handler, Limits limits = {})
      : bind_(bind_to), handler_(std::move(handler)), limits_(limits) {}
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server() { stop(); }

  // Binds and listens; port 0 picks a free port (see endpoint()).
  Status start() {
    const svcres::detail::SockAddr sa = sockaddr_of(bind_);
    Socket s = svcres::detail::open_socket(sa.family(), SOCK_STREAM);  // non-blocking: accept4 after poll
    if (!s.valid()) return {Errc::network_error, std::string("socket(): ") + std::strerror(errno)};
    int one = 1;
    ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(s.get(), sa.get(), sa.len) != 0)
      return {Errc::network_error, "bind " + std::string(svcres::to_text(bind_).view()) + ": " + std::strerror(errno)};
    if (::listen(s.get(), 64) != 0) return {Errc::network_error, std::string("listen: ") + std::strerror(errno)};
    sockaddr_storage got;
    socklen_t gl = sizeof got;
    ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&got), &gl);
    bind_.port = ntohs(got.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&got)->sin_port
                                                : reinterpret_cast<sockaddr_in6*>(&got)->sin6_port);
    listener_ = std::move(s);
    stopping_.store(false, std::memory_order_relaxed);
    acceptor_ = std::thread([this] { accept_loop(); });
    return {};
  }

  // Stops accepting, wakes blocked handlers (wait_for returns false), shuts every connection down
  // and joins all threads. Idempotent.
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_.load(std::memory_order_relaxed) && !acceptor_.joinable()) return;
      stopping_.store(true, std::memory_order_relaxed);
      for (auto& c : conns_) ::shutdown(c->fd, SHUT_RDWR);
    }
    cv_.notify_all();
    if (acceptor_.joinable()) acceptor_.join();
    std::vector<std::unique_ptr<Conn>> conns;
    {
      std::lock_guard<std::mutex> lock(mu_);
      conns.swap(conns_);
    }
    for (auto& c : conns) c->thread.join();
    listener_.reset();
  }

  const svcres::Endpoint& endpoint() const noexcept { return bind_; }
  bool stopping() const noexcept { return stopping_.load(std::memory_order_relaxed); }

  // Sleeps up to `d`; false when stop() cut it short.
  bool wait_for(svcres::Duration d) {
    std::unique_lock<std::mutex> lock(mu_);
    return !cv_.wait_for(lock, d, [this] { return stopping_.load(std::memory_order_relaxed); });
  }
  // Waits until `pred` (checked under the server's mutex) or stop(); false on stop. Other threads
  // change what pred reads under the same mutex (lock()) and then call notify().
  template <class Pred>
  bool wait_until(Pred pred) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return stopping_.load(std::memory_order_relaxed) || pred(); });
    return !stopping_.load(std::memory_order_relaxed);
  }
  std::unique_lock<std::mutex> lock() { return std::unique_lock<std::mutex>(mu_); }
  void notify() { cv_.notify_all(); }

  std::size_t connections_accepted() const noexcept { return accepted_.load(std::memory_order_relaxed); }

 private:
  struct Conn {
    int fd = -1;
    std::thread thread;
  };

  void accept_loop() {
    while (!stopping_.load(std::memory_order_relaxed)) {
      pollfd p{listener_.get(), POLLIN, 0};
      int r = ::poll(&p, 1, 50);  // short slices: stop() needs no extra wake-up channel
      if (r <= 0) continue;
      sockaddr_storage peer;
      socklen_t pl = sizeof peer;
      int fd = ::accept4(listener_.get(), reinterpret_cast<sockaddr*>(&peer), &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) continue;
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ConnectionInfo info;
      info.id = accepted_.fetch_add(1, std::memory_order_relaxed) + 1;
      if (peer.ss_family == AF_INET) {
        auto* sa = reinterpret_cast<sockaddr_in*>(&peer);
        info.peer.address = svcres::IpAddress::from_v4_bytes(reinterpret_cast<const std::uint8_t*>(&sa->sin_addr));
        info.peer.port = ntohs(sa->sin_port);
      }
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_.load(std::memory_order_relaxed)) {
        ::close(fd);
        break;
      }
      auto c = std::make_unique<Conn>();
      c->fd = fd;
      Conn* raw = c.get();
      c->thread = std::thread([this, raw, info] { serve(raw->fd, info); });
      conns_.push_back(std::move(c));
    }
  }

  void serve(int fd, ConnectionInfo info) {
    Reader reader(fd);
    for (;;) {
      Request req;
      Status s = read_request(reader, limits_, kNoDeadline, req);
      if (!s) {
        if (s.code == Errc::http_error || s.code == Errc::capacity_exceeded) {
          Response bad;
          bad.status = s.code == Errc::capacity_exceeded ? 413 : 400;
          bad.reason = reason_phrase(bad.status);
          bad.body = s.text();
          (void)send_all(fd, serialize(bad, true), std::chrono::steady_clock::now() + std::chrono::seconds(2));
        }
        break;
      }
      Reply reply;
      handler_(req, info, reply);
      ++info.request_no;
      if (reply.drop) break;
      if (!reply.raw.empty()) {
        (void)send_all(fd, reply.raw, std::chrono::steady_clock::now() + std::chrono::seconds(5));
        break;
      }
      bool close = reply.close || wants_close(req.headers, req.minor_version) || stopping();
      if (reply.response.reason.empty()) reply.response.reason = reason_phrase(reply.response.status);
      if (!send_all(fd, serialize(reply.response, close), std::chrono::steady_clock::now() + std::chrono::seconds(5)))
        break;
      if (close) break;
    }
    // Half-close first so a client reading until EOF sees the end, then release the descriptor
    // under the lock: stop() may be calling shutdown() on it right now.
    ::shutdown(fd, SHUT_WR);
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& c : conns_)
      if (c->fd == fd) c->fd = -1;
    ::close(fd);
  }

  svcres::Endpoint bind_;
  Handler handler_;
  Limits limits_;
  Socket listener_;
  std::thread acceptor_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> accepted_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> conns_;
};

}  // namespace http
}  // namespace svcres_examples
