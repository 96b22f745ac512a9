#pragma once
// DNS over UDP on POSIX sockets: one exchange per call, from a fresh source port.
//
// Why a fresh port per query: connect() on a socket without one makes the kernel choose a random
// ephemeral source port, so an off-path spoofer must guess port and ID together (RFC 5452 §9.2,
// 10), and the kernel drops datagrams from any other address or port. The source is still compared on every datagram
// (defence in depth), and the caller's accept() checks ID and question (RFC 5452 §9.1). A datagram
// that fails either check is ignored and the wait continues until the timeout: a spoofed reply
// arriving first must not end the exchange.
// ICMP port unreachable is reported by Linux as ECONNREFUSED on the connected socket; it becomes
// Errc::connection_refused at once so the resolver can move to the next server without waiting.
//
// UdpSocketPool (PosixTransport keeps one) makes the fresh port cheaper than a fresh socket: on
// Linux, disconnecting a UDP socket releases its auto-bound port (udp_disconnect unhashes the
// socket), so the next connect() draws a new random port, for less than half the cost of close()
// + socket() + connect(), and that work is done while the server answers the previous query. Each
// port still carries exactly one query; what was queued for the old port is discarded before the
// new one exists.

#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "svcres/core/result.hpp"
#include "svcres/net/socket.hpp"
#include "svcres/resolve/transport.hpp"

namespace svcres {

// Two sockets kept between exchanges: a ready one (unbound: its old port released, nothing queued)
// and a used one (its exchange is over). An exchange connects the ready socket (the kernel draws a
// new random port), sends, and while the server works on the query turns the used socket into the
// next ready one, so a single connect() is all the socket bookkeeping between a query and its send
// (loopback NSD: ~24 us a query against ~28 us with the whole recycle before the send). Threads:
// both descriptors live in one atomic word that callers exchange, so concurrent exchanges each get
// sockets of their own or none. fork(): a child inherits the slots but must not use the sockets
// (parent and child would read each other's replies), so the pool remembers the process that
// filled it. A copy starts empty: two owners of one descriptor would close it twice.
class UdpSocketPool {
 public:
  UdpSocketPool() noexcept = default;
  UdpSocketPool(const UdpSocketPool&) noexcept {}
  UdpSocketPool& operator=(const UdpSocketPool&) noexcept { return *this; }
  // Relaxed: nobody may use an object being destroyed, so no other thread's store can be pending.
  ~UdpSocketPool() { close_pair(fds_.load(std::memory_order_relaxed)); }

  // The pool's sockets, now the caller's: ready in the low half, used in the high half (-1: none).
  // Acq_rel (here and in put()): descriptors, and the owner stored before them, are handed from
  // one thread to another through this word.
  std::uint64_t take(pid_t self) noexcept {
    const std::uint64_t v = fds_.exchange(kEmpty, std::memory_order_acq_rel);
    if (owner_.load(std::memory_order_relaxed) == self) return v;
    close_pair(v);  // the parent's sockets, inherited through fork()
    return kEmpty;
  }
  // Leaves the caller's sockets for the next exchange; closes what the pool held, if anything.
  // Every thread of a process stores the same owner, so the relaxed store races with nothing.
  void put(pid_t self, int ready, int used) noexcept {
    owner_.store(self, std::memory_order_relaxed);
    close_pair(fds_.exchange(pack(ready, used), std::memory_order_acq_rel));
  }

  static std::uint64_t pack(int ready, int used) noexcept {
    return static_cast<std::uint32_t>(ready) | static_cast<std::uint64_t>(static_cast<std::uint32_t>(used)) << 32;
  }
  static int ready_of(std::uint64_t v) noexcept { return static_cast<int>(static_cast<std::uint32_t>(v)); }
  static int used_of(std::uint64_t v) noexcept { return static_cast<int>(static_cast<std::uint32_t>(v >> 32)); }

 private:
  static constexpr std::uint64_t kEmpty = ~std::uint64_t{0};  // -1 and -1
  static void close_pair(std::uint64_t v) noexcept {
    detail::Fd(ready_of(v)).reset();
    detail::Fd(used_of(v)).reset();
  }
  std::atomic<std::uint64_t> fds_{kEmpty};
  std::atomic<pid_t> owner_{0};
};

namespace detail {

// A UDP socket connected to `to`: connect() records the peer and picks a random source port.
inline Fd connected_udp(const SockAddr& to) noexcept {
  Fd fd = open_socket(to.family(), SOCK_DGRAM);
  if (fd.valid() && ::connect(fd.get(), to.get(), to.len) != 0) fd.reset();
  return fd;
}

// Makes a used socket fit for one more query on a new port: disconnect (on Linux this unhashes the
// socket and releases its auto-bound port, so nothing more can arrive for the old one), then
// discard whatever was queued (late or forged datagrams for the old port). The next connect()
// draws a new kernel-chosen port. False elsewhere, where a disconnect may keep the bound port: the
// caller then uses a fresh socket.
inline bool udp_recycle(int fd) noexcept {
#if defined(__linux__)
  sockaddr unspec{};
  unspec.sa_family = AF_UNSPEC;
  if (::connect(fd, &unspec, sizeof unspec) != 0) return false;
  // Unhashed, the socket gains nothing more, so this ends; a pending error ends it too (the
  // socket is then given up rather than guessed about).
  for (;;) {
    std::uint8_t sink;
    if (::recv(fd, &sink, 1, MSG_DONTWAIT | MSG_TRUNC) >= 0) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
#else
  (void)fd;
  return false;
#endif
}

// Datagrams until one from the server passes accept() or the deadline passes.
inline Result<std::size_t> udp_await(const Exchange& x, int fd, const SockAddr& to,
                                     std::chrono::steady_clock::time_point deadline) noexcept {
  Errc e = Errc::network_error;
  for (;;) {
    if (auto st = wait_for(fd, POLLIN, deadline); !st.ok()) {
      e = st.error();
      break;
    }
    sockaddr_storage from;
    socklen_t from_len = sizeof from;
    // MSG_TRUNC makes Linux return the datagram's real size, so an oversized one is detected.
    ssize_t n =
        ::recvfrom(fd, x.reply, x.reply_capacity, MSG_TRUNC, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      if (errno == ECONNREFUSED) e = Errc::connection_refused;
      break;
    }
    if (!same_peer(from, from_len, to)) continue;
    if (static_cast<std::size_t>(n) > x.reply_capacity) {
      e = Errc::buffer_too_small;
      break;
    }
    if (x.accept && !x.accept(x.accept_ctx, x.reply, static_cast<std::size_t>(n))) continue;
    return static_cast<std::size_t>(n);
  }
  return e;
}

// x.query on the connected socket: ok, or the error that ends the exchange.
inline Errc udp_send(int fd, const Exchange& x) noexcept {
  for (;;) {
    ssize_t s = ::send(fd, x.query, x.query_size, MSG_NOSIGNAL);
    if (s == static_cast<ssize_t>(x.query_size)) return Errc::ok;
    if (s < 0 && errno == EINTR) continue;
    if (s < 0 && errno == ECONNREFUSED) return Errc::connection_refused;
    return Errc::network_error;
  }
}

// udp_await(), sending x.query again on the same socket each time x.retransmit_after, then twice,
// four times that, ... passes without an accepted reply (see Exchange), until `deadline`.
inline Result<std::size_t> udp_await_resending(const Exchange& x, int fd, const SockAddr& to,
                                               std::chrono::steady_clock::time_point start,
                                               std::chrono::steady_clock::time_point deadline) noexcept {
  auto interval = x.retransmit_after;
  auto resend_at = start + interval;
  for (unsigned copies = 0;;) {
    const bool may_resend = interval.count() > 0 && copies < x.max_retransmits && resend_at < deadline;
    Result<std::size_t> r = udp_await(x, fd, to, may_resend ? resend_at : deadline);
    if (r.ok() || r.error() != Errc::timeout || !may_resend) return r;
    if (Errc e = udp_send(fd, x); e != Errc::ok) return e;
    ++copies;
    if (x.retransmitted) ++*x.retransmitted;
    interval *= 2;  // RFC 6298 §5.5: back off each time the timer expires
    resend_at += interval;
  }
}
}  // namespace detail

// One UDP exchange from a port that has never sent: the pool's ready socket (or a fresh one),
// connected now, which draws its port. While the server works, the pool's used socket is recycled
// (or a fresh one opened) into the next ready socket. With x.retransmit_after, the copies go out
// from the same socket (the port still carries this one query only), so the source check and the
// kernel's connected-peer filter hold for every copy.
inline Result<std::size_t> udp_exchange(const Exchange& x, UdpSocketPool& pool) noexcept {
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + x.timeout;
  const detail::SockAddr to = detail::to_sockaddr(x.server);
  const pid_t self = ::getpid();
  const std::uint64_t held = pool.take(self);
  detail::Fd fd(UdpSocketPool::ready_of(held)), next(UdpSocketPool::used_of(held));
  if (!fd.valid() || ::connect(fd.get(), to.get(), to.len) != 0) {
    fd = detail::connected_udp(to);
    if (!fd.valid()) return Errc::network_error;
  }
  if (Errc e = detail::udp_send(fd.get(), x); e != Errc::ok) return e;
  if (!(next.valid() && detail::udp_recycle(next.get()))) next = detail::open_socket(to.family(), SOCK_DGRAM);
  Result<std::size_t> r = detail::udp_await_resending(x, fd.get(), to, start, deadline);
  pool.put(self, next.release(), fd.release());
  return r;
}

// The same on a socket of its own, closed before returning.
inline Result<std::size_t> udp_exchange(const Exchange& x) noexcept {
  UdpSocketPool own;
  return udp_exchange(x, own);
}

}  // namespace svcres
