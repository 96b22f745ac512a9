#pragma once
// DNS over UDP on POSIX sockets: one exchange per call, from a fresh source port.
//
// Why a fresh port per query: connect() on a socket without one makes the kernel choose a random
// ephemeral source port, so an off-path spoofer must guess port and ID together (RFC 5452 §9.2, 10), and the kernel
// drops datagrams from any other address or port. The source is still compared on every datagram
// (defence in depth), and the caller's accept() checks ID and question (RFC 5452 §9.1). A datagram
// that fails either check is ignored and the wait continues until the timeout: a spoofed reply
// arriving first must not end the exchange.
// ICMP port unreachable is reported by Linux as ECONNREFUSED on the connected socket; it becomes
// Errc::connection_refused at once so the resolver can move to the next server without waiting.
//
// UdpSocketPool takes the socket bookkeeping off a query's critical path without giving up the
// fresh port: while the server works on query k, the exchange readies the socket for query k+1.
// On Linux that socket is the one of query k-1, disconnected and connected again: a disconnect
// releases an auto-bound port (udp_disconnect unhashes the socket), so the next connect() draws a
// new random port, for less than half the cost of close() + socket() + connect(). Each port still
// carries exactly one query.

#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "svcres/core/result.hpp"
#include "svcres/net/socket.hpp"
#include "svcres/resolve/transport.hpp"

namespace svcres {

// At most one ready socket (connected to a server, on a port that has sent nothing yet) and one
// used socket (its query is over; it waits to be recycled or closed). Threads: a try-lock flag owns
// the slots for the length of a swap; a caller that finds it held goes on without the pool (opens
// its own socket, closes it itself), so nobody ever waits for another caller. A copy starts empty:
// two owners of one descriptor would close it twice.
class UdpSocketPool {
 public:
  UdpSocketPool() noexcept = default;
  UdpSocketPool(const UdpSocketPool&) noexcept {}
  UdpSocketPool& operator=(const UdpSocketPool&) noexcept { return *this; }
  ~UdpSocketPool() {
    detail::Fd ready(ready_), used(used_);  // closes both
  }

  // Exchanges the caller's sockets (-1: none) with the pool's; `peer` goes with `ready`. When
  // another caller holds the pool, nothing moves: either way the caller ends up owning what it
  // holds after the call.
  void swap(int& ready, NameServer& peer, int& used) noexcept {
    // acquire: the slots as the previous holder left them (before its release) are visible here.
    if (busy_.exchange(true, std::memory_order_acquire)) return;
    std::swap(ready, ready_);
    std::swap(peer, ready_peer_);
    std::swap(used, used_);
    busy_.store(false, std::memory_order_release);  // release: publishes the slot writes above
  }

 private:
  std::atomic<bool> busy_{false};
  int ready_ = -1;
  int used_ = -1;
  NameServer ready_peer_{};
};

namespace detail {

// A UDP socket connected to `to`: connect() records the peer and picks a random source port.
inline Fd connected_udp(const SockAddr& to) noexcept {
  Fd fd = open_socket(to.family(), SOCK_DGRAM);
  if (fd.valid() && ::connect(fd.get(), to.get(), to.len) != 0) fd.reset();
  return fd;
}

// Makes a used socket fit for one more query on a new port: disconnect (on Linux this unhashes the
// socket and releases its auto-bound port, so nothing more can arrive for the old one), discard
// whatever was queued (late or forged datagrams for the old port, a pending ICMP error), connect
// (a new kernel-chosen port). False elsewhere, where a disconnect may keep the bound port: the
// caller then uses a fresh socket.
inline bool udp_recycle(int fd, const SockAddr& to) noexcept {
#if defined(__linux__)
  sockaddr unspec{};
  unspec.sa_family = AF_UNSPEC;
  if (::connect(fd, &unspec, sizeof unspec) != 0) return false;
  for (int i = 0; i < 64; ++i) {
    std::uint8_t sink;
    if (::recv(fd, &sink, 1, MSG_DONTWAIT | MSG_TRUNC) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return ::connect(fd, to.get(), to.len) == 0;
  }
#else
  (void)fd;
  (void)to;
#endif
  return false;
}

// Datagrams until one from the server passes accept() or the deadline passes. The receive comes
// before the wait: after the socket work the reply is often queued already, and a receive that
// finds nothing costs less than a poll() that finds something.
inline Result<std::size_t> udp_await(const Exchange& x, int fd, std::chrono::steady_clock::time_point deadline) noexcept {
  for (;;) {
    sockaddr_storage from{};
    socklen_t from_len = sizeof from;
    // MSG_TRUNC makes Linux return the datagram's real size, so an oversized one is detected.
    ssize_t n =
        ::recvfrom(fd, x.reply, x.reply_capacity, MSG_TRUNC, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (auto st = wait_for(fd, POLLIN, deadline); !st.ok()) return st.error();
        continue;
      }
      if (errno == EINTR) continue;
      if (errno == ECONNREFUSED) return Errc::connection_refused;
      return Errc::network_error;
    }
    if (!same_peer(from, from_len, x.server)) continue;
    if (static_cast<std::size_t>(n) > x.reply_capacity) return Errc::buffer_too_small;
    if (x.accept && !x.accept(x.accept_ctx, x.reply, static_cast<std::size_t>(n))) continue;
    return static_cast<std::size_t>(n);
  }
}

}  // namespace detail

// One UDP exchange on a socket whose port has never sent. With a pool, that socket comes from it
// when it has one (connected again when it was readied for another server: the port stays unused),
// the next one is readied while the server works, and this one goes back as used.
inline Result<std::size_t> udp_exchange(const Exchange& x, UdpSocketPool* pool = nullptr) noexcept {
  const auto deadline = std::chrono::steady_clock::now() + x.timeout;
  const detail::SockAddr to = detail::to_sockaddr(x.server);
  int ready = -1, used = -1;
  NameServer peer = x.server;
  if (pool) pool->swap(ready, peer, used);
  detail::Fd fd(ready), next(used);
  if (!fd.valid() || (!(peer == x.server) && ::connect(fd.get(), to.get(), to.len) != 0)) {
    fd = detail::connected_udp(to);
    if (!fd.valid()) return Errc::network_error;
  }
  for (;;) {
    ssize_t s = ::send(fd.get(), x.query, x.query_size, MSG_NOSIGNAL);
    if (s == static_cast<ssize_t>(x.query_size)) break;
    if (s < 0 && errno == EINTR) continue;
    if (s < 0 && errno == ECONNREFUSED) return Errc::connection_refused;
    return Errc::network_error;
  }
  if (pool && !(next.valid() && detail::udp_recycle(next.get(), to))) next = detail::connected_udp(to);
  Result<std::size_t> r = detail::udp_await(x, fd.get(), deadline);
  if (pool) {
    ready = next.release();
    used = fd.release();
    peer = x.server;
    pool->swap(ready, peer, used);
    detail::Fd left_ready(ready), left_used(used);  // whatever the pool did not take (or gave back)
  }
  return r;
}

}  // namespace svcres
