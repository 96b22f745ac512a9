#pragma once
// DNS over TCP on POSIX sockets (RFC 7766): one connection per exchange, a 2-byte big-endian length
// before each message (RFC 1035 §4.2.2, RFC 7766 §8). Reads loop over partial reads; a close before
// the whole message is Errc::connection_closed; a zero length prefix is Errc::truncated (no DNS
// message is empty). A reply the caller's accept() rejects is Errc::mismatched_reply: only one query
// is sent per connection, so any other message is a protocol fault, not a spoofing attempt to wait out.
// The timeout covers connect, send and the whole reply.

#include <sys/socket.h>
#include <sys/uio.h>

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "svcres/core/result.hpp"
#include "svcres/net/socket.hpp"
#include "svcres/resolve/transport.hpp"

namespace svcres {
namespace detail {

// Reads exactly `size` bytes or fails.
inline Status read_exact(int fd, std::uint8_t* out, std::size_t size,
                         std::chrono::steady_clock::time_point deadline) noexcept {
  std::size_t got = 0;
  while (got < size) {
    ssize_t n = ::recv(fd, out + got, size - got, 0);
    if (n > 0) {
      got += static_cast<std::size_t>(n);
      continue;
    }
    if (n == 0) return Errc::connection_closed;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (auto st = wait_for(fd, POLLIN, deadline); !st.ok()) return st;
      continue;
    }
    if (errno == ECONNREFUSED) return Errc::connection_refused;
    if (errno == ECONNRESET) return Errc::connection_closed;
    return Errc::network_error;
  }
  return {};
}

inline Status write_all(int fd, const std::uint8_t* head, std::size_t head_size, const std::uint8_t* body,
                        std::size_t body_size, std::chrono::steady_clock::time_point deadline) noexcept {
  std::size_t sent = 0;
  const std::size_t total = head_size + body_size;
  while (sent < total) {
    iovec iov[2];
    int n_iov = 0;
    if (sent < head_size) {
      iov[n_iov++] = iovec{const_cast<std::uint8_t*>(head + sent), head_size - sent};
      iov[n_iov++] = iovec{const_cast<std::uint8_t*>(body), body_size};
    } else {
      iov[n_iov++] = iovec{const_cast<std::uint8_t*>(body + (sent - head_size)), total - sent};
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<decltype(msg.msg_iovlen)>(n_iov);
    ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n >= 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (auto st = wait_for(fd, POLLOUT, deadline); !st.ok()) return st;
      continue;
    }
    if (errno == ECONNREFUSED) return Errc::connection_refused;
    if (errno == ECONNRESET || errno == EPIPE) return Errc::connection_closed;
    return Errc::network_error;
  }
  return {};
}

}  // namespace detail

inline Result<std::size_t> tcp_exchange(const Exchange& x) noexcept {
  if (x.query_size > 65535) return Errc::invalid_argument;
  const auto deadline = std::chrono::steady_clock::now() + x.timeout;
  detail::SockAddr to = detail::to_sockaddr(x.server);
  detail::Fd fd = detail::open_socket(to.family(), SOCK_STREAM);
  if (!fd.valid()) return Errc::network_error;
  if (::connect(fd.get(), to.get(), to.len) != 0) {
    if (errno == ECONNREFUSED) return Errc::connection_refused;
    if (errno != EINPROGRESS && errno != EINTR) return Errc::network_error;
    if (auto st = detail::wait_for(fd.get(), POLLOUT, deadline); !st.ok()) return st.error();
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) return Errc::network_error;
    if (err == ECONNREFUSED) return Errc::connection_refused;
    if (err != 0) return Errc::network_error;
  }
  const std::uint8_t prefix[2] = {static_cast<std::uint8_t>(x.query_size >> 8),
                                  static_cast<std::uint8_t>(x.query_size & 0xff)};
  if (auto st = detail::write_all(fd.get(), prefix, 2, x.query, x.query_size, deadline); !st.ok()) return st.error();
  std::uint8_t len_bytes[2];
  if (auto st = detail::read_exact(fd.get(), len_bytes, 2, deadline); !st.ok()) return st.error();
  const std::size_t len = static_cast<std::size_t>(len_bytes[0]) << 8 | len_bytes[1];
  if (len == 0) return Errc::truncated;
  if (len > x.reply_capacity) return Errc::buffer_too_small;
  if (auto st = detail::read_exact(fd.get(), x.reply, len, deadline); !st.ok()) return st.error();
  if (x.accept && !x.accept(x.accept_ctx, x.reply, len)) return Errc::mismatched_reply;
  return len;
}

}  // namespace svcres
