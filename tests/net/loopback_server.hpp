#pragma once
// LoopbackServer: a misbehaving DNS server on 127.0.0.1 for fault tests: a thread with a UDP socket and
// a TCP listener on one kernel-chosen port, answering from a MiniZone or failing in a chosen way.
// Kernel-chosen ports cannot collide with the fixed ports other engineers' tests use.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../resolve/mini_zone.hpp"

namespace svcres_test {

// drop_first_copies: the first `copies_to_drop` datagrams carrying the same query bytes (ID, question,
// OPT: a retransmission, or glibc's next try, which keeps the ID) are dropped, the next answered.
enum class Fault { none, drop, drop_first_copies, slow, servfail, garbage, spoof_first, tcp_zero_length, tcp_early_eof, tcp_trickle };

class LoopbackServer {
 public:
  MiniZone zone;
  std::atomic<Fault> fault{Fault::none};
  std::chrono::milliseconds delay{150};  // Fault::slow
  std::atomic<int> udp_queries{0}, tcp_queries{0};
  std::atomic<int> copies_to_drop{2};  // Fault::drop_first_copies

  // On 127.0.0.1, or on ::1 with `v6` (ok() is false when the machine has no ::1).
  explicit LoopbackServer(bool v6 = false) : v6_(v6) {
    // The kernel picks the UDP port; the same number may be taken for TCP (a local port of an
    // outgoing connection, often in TIME-WAIT after busy runs), so try again with a fresh one.
    const int family = v6 ? AF_INET6 : AF_INET;
    for (int attempt = 0; attempt < 32; ++attempt) {
      udp_ = ::socket(family, SOCK_DGRAM, 0);
      sockaddr_storage a{};
      socklen_t len;
      if (v6) {
        auto* a6 = reinterpret_cast<sockaddr_in6*>(&a);
        a6->sin6_family = AF_INET6;
        a6->sin6_addr = in6addr_loopback;
        len = sizeof(sockaddr_in6);
      } else {
        auto* a4 = reinterpret_cast<sockaddr_in*>(&a);
        a4->sin_family = AF_INET;
        a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(sockaddr_in);
      }
      const socklen_t bind_len = len;
      if (::bind(udp_, reinterpret_cast<sockaddr*>(&a), bind_len) != 0) {
        ::close(udp_);
        udp_ = -1;
        break;  // no such address here (v6 off): ok() says so
      }
      ::getsockname(udp_, reinterpret_cast<sockaddr*>(&a), &len);
      port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&a)->sin6_port : reinterpret_cast<sockaddr_in*>(&a)->sin_port);
      tcp_ = ::socket(family, SOCK_STREAM, 0);
      int one = 1;
      ::setsockopt(tcp_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      // Same port for TCP, as a DNS server.
      if (::bind(tcp_, reinterpret_cast<sockaddr*>(&a), bind_len) == 0 && ::listen(tcp_, 16) == 0) break;
      ::close(udp_);
      ::close(tcp_);
      udp_ = tcp_ = -1;
    }
    if (udp_ < 0) {
      stopped_ = true;  // nothing to serve; stop() has no thread to join
      return;
    }
    thread_ = std::thread([this] { loop(); });
  }
  ~LoopbackServer() { stop(); }

  // Changes the zone under the lock the server thread answers under: the thread runs from
  // construction on, and a late datagram from an earlier test may arrive at a reused port.
  template <class F>
  void edit_zone(F&& f) {
    std::lock_guard<std::mutex> lock(mu_);
    f(zone);
  }

  std::uint16_t port() const { return port_; }

  // The source ports of the UDP queries received so far, in order.
  std::vector<std::uint16_t> client_ports() {
    std::lock_guard<std::mutex> lock(mu_);
    return client_ports_;
  }
  // Sends `msg` to 127.0.0.1:`to` from the server's own address and port (an IPv4 server): what
  // a forger who knows both would send.
  void send_from_server(const std::uint8_t* msg, std::size_t n, std::uint16_t to) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(to);
    ::sendto(udp_, msg, n, 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  std::string address() const { return (v6_ ? "[::1]:" : "127.0.0.1:") + std::to_string(port_); }
  bool ok() const { return udp_ >= 0; }

  // Closes the sockets: later UDP queries get ICMP port unreachable, TCP connects get RST.
  void stop() {
    if (stopped_.exchange(true)) return;  // also when construction found no address
    thread_.join();
    ::close(udp_);
    ::close(tcp_);
  }

 private:
  void loop() {
    while (!stopped_.load()) {
      pollfd p[2] = {{udp_, POLLIN, 0}, {tcp_, POLLIN, 0}};
      if (::poll(p, 2, 20) <= 0) continue;
      if (p[0].revents & POLLIN) on_udp();
      if (p[1].revents & POLLIN) on_tcp();
    }
  }

  std::size_t build(const std::uint8_t* q, std::size_t n, std::uint8_t* out, std::size_t cap, bool tcp) {
    std::lock_guard<std::mutex> lock(mu_);
    return zone.answer(q, n, out, cap, tcp);
  }

  void on_udp() {
    std::uint8_t q[4096], r[65535];
    sockaddr_storage from{};
    socklen_t flen = sizeof from;
    ssize_t n = ::recvfrom(udp_, q, sizeof q, 0, reinterpret_cast<sockaddr*>(&from), &flen);
    if (n < 12) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      client_ports_.push_back(ntohs(v6_ ? reinterpret_cast<sockaddr_in6*>(&from)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&from)->sin_port));
    }
    ++udp_queries;
    const Fault f = fault.load();
    if (f == Fault::drop) return;
    if (f == Fault::drop_first_copies) {
      std::lock_guard<std::mutex> lock(mu_);
      if (++copies_seen_[std::string(reinterpret_cast<const char*>(q), static_cast<std::size_t>(n))] <=
          copies_to_drop.load())
        return;
    }
    if (f == Fault::slow) std::this_thread::sleep_for(delay);
    std::size_t len;
    if (f == Fault::servfail || f == Fault::garbage) {
      std::memcpy(r, q, static_cast<std::size_t>(n));
      r[2] |= 0x80;
      if (f == Fault::servfail) r[3] = 2;
      else r[7] = 5;  // claims 5 answers that are not there
      len = static_cast<std::size_t>(n);
    } else {
      len = build(q, static_cast<std::size_t>(n), r, 1232, false);
      if (len == 0) return;
    }
    if (f == Fault::spoof_first) {
      // Two forgeries carrying a different address, sent before the real reply: one with a wrong ID
      // from the right port, one with the right ID from another port.
      MiniZone evil;
      evil.srv("user-service.local", "evil.local", 6666);
      evil.a("evil.local", "127.0.66.6");
      evil.a("api-service.local", "127.0.66.6");
      std::uint8_t fake[2048];
      std::size_t fl = evil.answer(q, static_cast<std::size_t>(n), fake, sizeof fake, false);
      if (fl) {
        fake[1] ^= 0x01;
        ::sendto(udp_, fake, fl, 0, reinterpret_cast<sockaddr*>(&from), flen);
        fake[1] ^= 0x01;
        int other = ::socket(from.ss_family, SOCK_DGRAM, 0);
        ::sendto(other, fake, fl, 0, reinterpret_cast<sockaddr*>(&from), flen);
        ::close(other);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
    }
    ::sendto(udp_, r, len, 0, reinterpret_cast<sockaddr*>(&from), flen);
  }

  static bool read_n(int fd, std::uint8_t* p, std::size_t n) {
    std::size_t got = 0;
    while (got < n) {
      ssize_t k = ::recv(fd, p + got, n - got, 0);
      if (k <= 0) return false;
      got += static_cast<std::size_t>(k);
    }
    return true;
  }

  void on_tcp() {
    int c = ::accept(tcp_, nullptr, nullptr);
    if (c < 0) return;
    ++tcp_queries;
    std::uint8_t lenb[2], q[65535], r[65537];
    const Fault f = fault.load();
    if (read_n(c, lenb, 2) && read_n(c, q, static_cast<std::size_t>(lenb[0] << 8 | lenb[1]))) {
      std::size_t n = static_cast<std::size_t>(lenb[0] << 8 | lenb[1]);
      std::size_t len = build(q, n, r + 2, 65535, true);
      r[0] = static_cast<std::uint8_t>(len >> 8);
      r[1] = static_cast<std::uint8_t>(len);
      if (f == Fault::tcp_zero_length) {
        r[0] = r[1] = 0;
        ::send(c, r, 2, MSG_NOSIGNAL);
      } else if (f == Fault::tcp_early_eof) {
        ::send(c, r, 2 + len / 2, MSG_NOSIGNAL);
      } else if (f == Fault::tcp_trickle) {
        // Partial writes: the length prefix one byte at a time, then the body in small pieces.
        for (std::size_t i = 0; i < len + 2; i += (i < 2 ? 1 : 97)) {
          std::size_t k = i < 2 ? 1 : std::min<std::size_t>(97, len + 2 - i);
          ::send(c, r + i, k, MSG_NOSIGNAL);
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
      } else if (len) {
        ::send(c, r, len + 2, MSG_NOSIGNAL);
      }
    }
    ::close(c);
  }

  bool v6_ = false;
  int udp_ = -1, tcp_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopped_{false};
  std::thread thread_;
  std::mutex mu_;  // zone, client_ports_, copies_seen_
  std::vector<std::uint16_t> client_ports_;
  std::map<std::string, int> copies_seen_;  // Fault::drop_first_copies, by query bytes
};

}  // namespace svcres_test
