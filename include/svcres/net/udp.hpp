#pragma once
// DNS over UDP on POSIX sockets: one exchange per call, on a fresh socket.
//
// Why a fresh socket per query: connect() on it makes the kernel choose a random ephemeral source
// port, so an off-path spoofer must guess port and ID together (RFC 5452 §9.2, 10), and the kernel
// drops datagrams from any other address or port. The source is still compared on every datagram
// (defence in depth), and the caller's accept() checks ID and question (RFC 5452 §9.1). A datagram
// that fails either check is ignored and the wait continues until the timeout: a spoofed reply
// arriving first must not end the exchange.
// ICMP port unreachable is reported by Linux as ECONNREFUSED on the connected socket; it becomes
// Errc::connection_refused at once so the resolver can move to the next server without waiting.

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "svcres/core/result.hpp"
#include "svcres/net/socket.hpp"
#include "svcres/resolve/transport.hpp"

namespace svcres {

inline Result<std::size_t> udp_exchange(const Exchange& x) noexcept {
  const auto deadline = std::chrono::steady_clock::now() + x.timeout;
  detail::SockAddr to = detail::to_sockaddr(x.server);
  detail::Fd fd = detail::open_socket(to.family(), SOCK_DGRAM);
  if (!fd.valid()) return Errc::network_error;
  if (::connect(fd.get(), to.get(), to.len) != 0) {
    return errno == ECONNREFUSED ? Errc::connection_refused : Errc::network_error;
  }
  for (;;) {
    ssize_t s = ::send(fd.get(), x.query, x.query_size, MSG_NOSIGNAL);
    if (s == static_cast<ssize_t>(x.query_size)) break;
    if (s < 0 && errno == EINTR) continue;
    if (s < 0 && errno == ECONNREFUSED) return Errc::connection_refused;
    return Errc::network_error;
  }
  for (;;) {
    if (auto st = detail::wait_for(fd.get(), POLLIN, deadline); !st.ok()) return st.error();
    sockaddr_storage from{};
    socklen_t from_len = sizeof from;
    // MSG_TRUNC makes Linux return the datagram's real size, so an oversized one is detected.
    ssize_t n = ::recvfrom(fd.get(), x.reply, x.reply_capacity, MSG_TRUNC, reinterpret_cast<sockaddr*>(&from),
                           &from_len);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      if (errno == ECONNREFUSED) return Errc::connection_refused;
      return Errc::network_error;
    }
    if (!detail::same_peer(from, from_len, x.server)) continue;
    if (static_cast<std::size_t>(n) > x.reply_capacity) return Errc::buffer_too_small;
    if (x.accept && !x.accept(x.accept_ctx, x.reply, static_cast<std::size_t>(n))) continue;
    return static_cast<std::size_t>(n);
  }
}

}  // namespace svcres
