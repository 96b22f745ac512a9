#pragma once
// POSIX socket helpers shared by the UDP and TCP transports: an owning descriptor, sockaddr
// conversion and a poll() wait against a steady_clock deadline. Internal (svcres::detail).

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstddef>
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

static_assert(offsetof(sockaddr_in, sin_port) == offsetof(sockaddr_in6, sin6_port), "one port offset");

inline SockAddr to_sockaddr(const NameServer& ns) noexcept {
  // Written field by field at each family's offsets: sockaddr_in and sockaddr_in6 share the family
  // and port positions (same_peer() below relies on it too).
  SockAddr a;
  const bool v4 = ns.address.is_v4();
  auto* p = reinterpret_cast<unsigned char*>(&a.storage);
  a.storage.ss_family = v4 ? AF_INET : AF_INET6;
  const std::uint16_t port = htons(ns.port);
  std::memcpy(p + offsetof(sockaddr_in, sin_port), &port, 2);
  std::memcpy(p + (v4 ? offsetof(sockaddr_in, sin_addr) : offsetof(sockaddr_in6, sin6_addr)), ns.address.bytes(),
              v4 ? 4 : 16);
  a.len = v4 ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  return a;
}

// Same family, port and address as `to` (the RFC 5452 §9.1 source check). In sockaddr_in and
// sockaddr_in6 alike the port follows the family; the address is compared where each keeps it.
inline bool same_peer(const sockaddr_storage& got, socklen_t len, const SockAddr& to) noexcept {
  const bool v4 = to.family() == AF_INET;
  const std::size_t at = v4 ? offsetof(sockaddr_in, sin_addr) : offsetof(sockaddr_in6, sin6_addr);
  const auto* a = reinterpret_cast<const unsigned char*>(&got);
  const auto* b = reinterpret_cast<const unsigned char*>(&to.storage);
  return len >= to.len && got.ss_family == to.storage.ss_family &&
         std::memcmp(a + offsetof(sockaddr_in, sin_port), b + offsetof(sockaddr_in, sin_port), 2) == 0 &&
         std::memcmp(a + at, b + at, v4 ? 4 : 16) == 0;
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
