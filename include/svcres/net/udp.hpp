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
// + socket() + connect(). Each port still carries exactly one query; what was queued for the old
// port is discarded before the new one exists.

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

// One used socket (its query is over) kept for the next exchange, which recycles it for a new
// port instead of paying close() + socket(). Threads: the slot is a single atomic descriptor that
// callers exchange, so concurrent exchanges each get a socket of their own or none. fork(): a
// child inherits the slot but must not use the socket (parent and child would share it and read
// each other's replies), so the slot remembers the process that filled it. A copy starts empty:
// two owners of one descriptor would close it twice.
class UdpSocketPool {
 public:
  UdpSocketPool() noexcept = default;
  UdpSocketPool(const UdpSocketPool&) noexcept {}
  UdpSocketPool& operator=(const UdpSocketPool&) noexcept { return *this; }
  // relaxed: nobody may use an object being destroyed, so no other thread's store can be pending.
  ~UdpSocketPool() { detail::Fd(fd_.load(std::memory_order_relaxed)).reset(); }

  // The socket in the slot (-1: none), now the caller's; one filled by another process (the parent
  // before a fork) is closed here instead. acq_rel: the descriptor, and the owner stored before
  // it, are handed from one thread to another here.
  int take(pid_t self) noexcept {
    detail::Fd fd(fd_.exchange(-1, std::memory_order_acq_rel));
    return owner_.load(std::memory_order_relaxed) == self ? fd.release() : -1;
  }
  // Leaves `fd` for a later exchange; closes what the slot held, if anything. Every thread of a
  // process stores the same owner, so the relaxed store races with nothing that matters; the
  // release half of the exchange orders it before the descriptor for take().
  void put(int fd, pid_t self) noexcept {
    owner_.store(self, std::memory_order_relaxed);
    detail::Fd(fd_.exchange(fd, std::memory_order_acq_rel)).reset();
  }

 private:
  std::atomic<int> fd_{-1};
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
// socket and releases its auto-bound port, so nothing more can arrive for the old one), discard
// whatever was queued (late or forged datagrams for the old port), connect (a new kernel-chosen
// port). False elsewhere, where a disconnect may keep the bound port: the
// caller then uses a fresh socket.
inline bool udp_recycle(int fd, const SockAddr& to) noexcept {
#if defined(__linux__)
  sockaddr unspec{};
  unspec.sa_family = AF_UNSPEC;
  if (::connect(fd, &unspec, sizeof unspec) != 0) return false;
  // Unhashed, the socket gains nothing more, so this ends; a pending error ends it too (the
  // socket is then given up rather than guessed about).
  for (;;) {
    std::uint8_t sink;
    if (::recv(fd, &sink, 1, MSG_DONTWAIT | MSG_TRUNC) >= 0) continue;
    return (errno == EAGAIN || errno == EWOULDBLOCK) && ::connect(fd, to.get(), to.len) == 0;
  }
#else
  (void)fd;
  (void)to;
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

}  // namespace detail

// One UDP exchange from a port that has never sent: the socket of an earlier exchange recycled
// for it when the pool has one (a fresh socket otherwise), left in the pool afterwards.
inline Result<std::size_t> udp_exchange(const Exchange& x, UdpSocketPool& pool) noexcept {
  const auto deadline = std::chrono::steady_clock::now() + x.timeout;
  const detail::SockAddr to = detail::to_sockaddr(x.server);
  const pid_t self = ::getpid();
  detail::Fd fd(pool.take(self));
  if (!(fd.valid() && detail::udp_recycle(fd.get(), to))) {
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
  Result<std::size_t> r = detail::udp_await(x, fd.get(), to, deadline);
  pool.put(fd.release(), self);
  return r;
}

// The same on a socket of its own, closed before returning.
inline Result<std::size_t> udp_exchange(const Exchange& x) noexcept {
  UdpSocketPool own;
  return udp_exchange(x, own);
}

}  // namespace svcres
