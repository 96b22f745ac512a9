#pragma once
// POSIX socket helpers shared by the UDP and TCP transports: an owning descriptor, sockaddr
// conversion and a poll() wait against a steady_clock deadline. Internal (svcres::detail).

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "svcres/core/ip_address.hpp"
#include "svcres/core/result.hpp"
#include "svcres/resolve/resolv_conf.hpp"

namespace svcres {
namespace detail {

class Fd {
 public:
  Fd() noexcept = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  ~Fd() { reset(); }
  int get() const noexcept { return fd_; }
  // Gives up ownership without closing.
  int release() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  bool valid() const noexcept { return fd_ >= 0; }
  void reset() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct SockAddr {
  sockaddr_storage storage{};
  socklen_t len = 0;
  const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&storage); }
  int family() const noexcept { return storage.ss_family; }
};

inline SockAddr to_sockaddr(const NameServer& ns) noexcept {
  SockAddr a;
  if (ns.address.is_v4()) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(ns.port);
    std::memcpy(&sin.sin_addr, ns.address.bytes(), 4);
    std::memcpy(&a.storage, &sin, sizeof sin);
    a.len = sizeof sin;
  } else {
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(ns.port);
    std::memcpy(&sin6.sin6_addr, ns.address.bytes(), 16);
    std::memcpy(&a.storage, &sin6, sizeof sin6);
    a.len = sizeof sin6;
  }
  return a;
}

// Same family, address and port (the RFC 5452 §9.1 source check).
inline bool same_peer(const sockaddr_storage& got, socklen_t len, const NameServer& ns) noexcept {
  if (ns.address.is_v4()) {
    if (got.ss_family != AF_INET || len < static_cast<socklen_t>(sizeof(sockaddr_in))) return false;
    sockaddr_in sin;
    std::memcpy(&sin, &got, sizeof sin);
    return ntohs(sin.sin_port) == ns.port && std::memcmp(&sin.sin_addr, ns.address.bytes(), 4) == 0;
  }
  if (got.ss_family != AF_INET6 || len < static_cast<socklen_t>(sizeof(sockaddr_in6))) return false;
  sockaddr_in6 sin6;
  std::memcpy(&sin6, &got, sizeof sin6);
  return ntohs(sin6.sin6_port) == ns.port && std::memcmp(&sin6.sin6_addr, ns.address.bytes(), 16) == 0;
}

inline Fd open_socket(int family, int type) noexcept {
  return Fd(::socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
}

// Waits for `events` on fd until `deadline`. ok, Errc::timeout or Errc::network_error.
// POLLERR/POLLHUP count as ready: the following recv/send reports the real error (ECONNREFUSED).
inline Status wait_for(int fd, short events, std::chrono::steady_clock::time_point deadline) noexcept {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    // Round up so a sub-millisecond remainder still waits instead of spinning.
    if (deadline <= std::chrono::steady_clock::now()) return Errc::timeout;
    int ms = static_cast<int>(left.count()) + 1;
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, ms);
    if (r > 0) return {};
    if (r == 0) continue;  // re-checks the deadline
    if (errno == EINTR) continue;
    return Errc::network_error;
  }
}

}  // namespace detail
}  // namespace svcres
