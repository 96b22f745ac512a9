// The chaos relay itself: its decisions (rates, determinism by seed), and that the live relay does
// exactly what decide() says to real UDP datagrams and TCP messages between real loopback sockets.
// Seeded, so every count below is the same on every run: the tolerances check the rates, they do
// not absorb randomness.

#include "chaos_relay.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "test.hpp"

using namespace std::chrono_literals;
using svcres_test::ChaosConfig;
using svcres_test::ChaosRates;
using svcres_test::ChaosRelay;
using svcres_test::Direction;
using Bytes = std::vector<std::uint8_t>;

namespace {

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

std::uint16_t local_port(int fd) {
  sockaddr_in a{};
  socklen_t l = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &l);
  return ntohs(a.sin_port);
}

// A UDP server that records every datagram it gets and echoes it back to its sender.
class UdpEcho {
 public:
  UdpEcho() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a = loopback(0);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    int big = 1 << 21;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    port_ = local_port(fd_);
    thread_ = std::thread([this] {
      std::uint8_t buf[65536];
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        sockaddr_in from{};
        socklen_t fl = sizeof from;
        const ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
        if (n < 0) continue;
        {
          std::lock_guard<std::mutex> lock(mu_);
          got_.emplace_back(buf, buf + n);
        }
        ::sendto(fd_, buf, static_cast<std::size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), fl);
      }
    });
  }
  ~UdpEcho() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }
  std::vector<Bytes> got() {
    std::lock_guard<std::mutex> lock(mu_);
    return got_;
  }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<Bytes> got_;
  std::thread thread_;
};

// A TCP server that echoes every RFC 7766 framed message on each connection, then closes when the
// client has half-closed and everything was echoed.
class TcpEcho {
 public:
  TcpEcho() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = loopback(0);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    port_ = local_port(fd_);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        const int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) continue;
        Bytes in;
        std::uint8_t buf[65536];
        for (;;) {
          const ssize_t n = ::recv(c, buf, sizeof buf, 0);
          if (n <= 0) break;
          in.insert(in.end(), buf, buf + n);
          while (in.size() >= 2 && in.size() >= 2u + (in[0] << 8 | in[1])) {
            const std::size_t len = 2u + (in[0] << 8 | in[1]);
            (void)::send(c, in.data(), len, MSG_NOSIGNAL);
            in.erase(in.begin(), in.begin() + static_cast<long>(len));
          }
        }
        ::close(c);
      }
    });
  }
  ~TcpEcho() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

Bytes packet(std::uint32_t seq, std::size_t size) {
  Bytes b(size);
  for (std::size_t i = 0; i < size; ++i) b[i] = static_cast<std::uint8_t>(seq * 31 + i * 7);
  std::memcpy(b.data(), &seq, std::min<std::size_t>(4, size));
  return b;
}

int udp_client() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  int big = 1 << 21;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  return fd;
}

void send_to(int fd, std::uint16_t port, const Bytes& b) {
  const sockaddr_in a = loopback(port);
  REQUIRE(::sendto(fd, b.data(), b.size(), 0, reinterpret_cast<const sockaddr*>(&a), sizeof a) ==
          static_cast<ssize_t>(b.size()));
}

// Datagrams on fd until `quiet` passes without one.
std::vector<Bytes> drain(int fd, std::chrono::milliseconds quiet = 300ms) {
  std::vector<Bytes> out;
  std::uint8_t buf[65536];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(quiet.count())) <= 0) return out;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n >= 0) out.emplace_back(buf, buf + n);
  }
}

// Appends the datagrams already queued on fd (the client keeps up while it sends).
void collect(int fd, std::vector<Bytes>& out) {
  std::uint8_t buf[65536];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) return;
    out.emplace_back(buf, buf + n);
  }
}

// Waits (event-driven, bounded) until the relay has seen `n` packets towards the server.
void wait_received(const ChaosRelay& r, std::uint64_t n) {
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (r.counters().to_server.received < n && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(5ms);
}

std::vector<Bytes> sorted(std::vector<Bytes> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST_CASE("decide(): each rate holds over many packets, independently per direction") {
  ChaosRates r;
  r.drop = 0.3;
  r.duplicate = 0.05;
  r.reorder = 0.05;
  r.delay = 0.2;
  r.truncate = 0.1;
  r.corrupt = 0.1;
  const int n = 200000;
  for (Direction d : {Direction::to_server, Direction::to_client}) {
    int drop = 0, dup = 0, reorder = 0, delay = 0, trunc = 0, corrupt = 0, kept = 0;
    for (int k = 0; k < n; ++k) {
      const auto f = svcres_test::decide(r, 7, d, static_cast<std::uint64_t>(k), 100);
      if (f.drop) {
        ++drop;
        continue;
      }
      ++kept;
      dup += f.duplicate;
      reorder += f.reorder;
      trunc += f.truncate;
      corrupt += f.corrupt;
      if (f.delay.count() > 0) {
        ++delay;
        CHECK(f.delay >= r.delay_min);
        CHECK(f.delay <= r.delay_max);
      }
      if (f.truncate) {
        CHECK(f.truncate_to >= 1);
        CHECK(f.truncate_to < 100);
      }
    }
    // Binomial standard deviations are below 0.0015 here; 0.01 is more than 6 of them.
    CHECK(std::abs(drop / double(n) - 0.3) < 0.01);
    CHECK(std::abs(dup / double(kept) - 0.05) < 0.01);
    CHECK(std::abs(reorder / double(kept) - 0.05) < 0.01);
    CHECK(std::abs(delay / double(kept) - 0.2) < 0.01);
    CHECK(std::abs(trunc / double(kept) - 0.1) < 0.01);
    CHECK(std::abs(corrupt / double(kept) - 0.1) < 0.01);
  }
}

TEST_CASE("decide(): the same seed gives the same fates, another seed other ones; rate 0 and 1 are exact") {
  ChaosRates r;
  r.drop = 0.5;
  r.corrupt = 0.5;
  int same = 0, differ = 0;
  for (std::uint64_t k = 0; k < 1000; ++k) {
    const auto a = svcres_test::decide(r, 99, Direction::to_client, k, 64);
    const auto b = svcres_test::decide(r, 99, Direction::to_client, k, 64);
    const auto c = svcres_test::decide(r, 100, Direction::to_client, k, 64);
    const auto d = svcres_test::decide(r, 99, Direction::to_server, k, 64);
    REQUIRE(a.drop == b.drop);
    REQUIRE(a.corrupt == b.corrupt);
    REQUIRE(std::memcmp(a.corrupt_at, b.corrupt_at, sizeof a.corrupt_at) == 0);
    REQUIRE(std::memcmp(a.corrupt_mask, b.corrupt_mask, sizeof a.corrupt_mask) == 0);
    (a.drop == c.drop ? same : differ)++;
    (a.drop == d.drop ? same : differ)++;
  }
  CHECK(differ > 800);  // independent streams agree about half the time
  ChaosRates none, all;
  all.drop = 1.0;
  for (std::uint64_t k = 0; k < 1000; ++k) {
    const auto f = svcres_test::decide(none, k, Direction::to_server, k, 64);
    CHECK_FALSE((f.drop || f.duplicate || f.reorder || f.truncate || f.corrupt || f.delay.count() != 0));
    CHECK(svcres_test::decide(all, k, Direction::to_server, k, 64).drop);
  }
}

TEST_CASE("UDP: what reaches the server is exactly what decide() predicts, and runs repeat by seed") {
  ChaosConfig c;
  c.seed = 1234;
  c.to_server.drop = 0.3;
  c.to_server.duplicate = 0.1;
  c.to_server.truncate = 0.1;
  c.to_server.corrupt = 0.1;
  c.to_server.delay = 0.1;
  c.to_server.delay_min = 1ms;
  c.to_server.delay_max = 5ms;
  const std::uint32_t n = 3000;

  // The prediction: each packet's copies with their bytes, as a multiset.
  std::vector<Bytes> predicted;
  std::uint64_t dropped = 0;
  for (std::uint32_t k = 0; k < n; ++k) {
    Bytes b = packet(k, 40 + k % 200);
    const auto f = svcres_test::decide(c.to_server, c.seed, Direction::to_server, k, b.size());
    if (f.drop) {
      ++dropped;
      continue;
    }
    svcres_test::apply_fate(f, b);
    predicted.push_back(b);
    if (f.duplicate) predicted.push_back(b);
  }

  std::vector<Bytes> runs[2];
  for (auto& run : runs) {
    UdpEcho server;
    c.upstream_port = server.port();
    ChaosRelay relay(c);
    REQUIRE(relay.start().empty());
    const int fd = udp_client();
    std::vector<Bytes> back;
    for (std::uint32_t k = 0; k < n; ++k) {
      send_to(fd, relay.port(), packet(k, 40 + k % 200));
      if (k % 50 == 49) {  // keep every socket buffer from overflowing
        wait_received(relay, k + 1);
        collect(fd, back);
      }
    }
    wait_received(relay, n);
    for (Bytes& b : drain(fd)) back.push_back(std::move(b));
    ::close(fd);
    relay.stop();
    run = sorted(server.got());
    const auto cnt = relay.counters();
    CHECK(cnt.to_server.received == n);
    CHECK(cnt.to_server.dropped == dropped);
    CHECK(cnt.to_server.lost == 0);
    CHECK(cnt.to_server.sent == predicted.size());
    // The rates themselves, over 3000 packets (exact for this seed; 0.03 is > 3 binomial sd).
    CHECK(std::abs(cnt.to_server.dropped / double(n) - 0.3) < 0.03);
    CHECK(std::abs(cnt.to_server.duplicated / double(n - dropped) - 0.1) < 0.03);
    CHECK(std::abs(cnt.to_server.truncated / double(n - dropped) - 0.1) < 0.03);
    CHECK(std::abs(cnt.to_server.corrupted / double(n - dropped) - 0.1) < 0.03);
    // Nothing happens on the way back: every datagram the server echoed comes back once, unchanged.
    CHECK(cnt.to_client.received == run.size());
    CHECK(sorted(back) == run);
    CHECK(cnt.udp_flows == 1);
  }
  CHECK(runs[0] == sorted(predicted));
  CHECK(runs[1] == runs[0]);
}

TEST_CASE("UDP: reordered datagrams arrive after the next one; replies reach the client that asked") {
  UdpEcho echo;
  ChaosConfig c;
  c.upstream_port = echo.port();
  c.seed = 77;
  c.to_server.reorder = 0.2;
  c.to_server.reorder_hold = 2000ms;  // long: only the next datagram may release a held one
  ChaosRelay relay(c);
  REQUIRE(relay.start().empty());
  const int a = udp_client(), b = udp_client();
  const std::uint32_t n = 400;
  std::vector<Bytes> back_a, back_b;
  for (std::uint32_t k = 0; k < n; ++k) {
    send_to(k % 2 ? b : a, relay.port(), packet(k, 32));
    if (k % 50 == 49) {
      wait_received(relay, k + 1);
      collect(a, back_a);
      collect(b, back_b);
    }
  }
  wait_received(relay, n);
  // The last held datagram waits out the hold (2 s) before it is released.
  for (Bytes& p : drain(a, 2500ms)) back_a.push_back(std::move(p));
  for (Bytes& p : drain(b, 300ms)) back_b.push_back(std::move(p));
  ::close(a);
  ::close(b);
  relay.stop();

  std::vector<std::uint32_t> order;
  for (const Bytes& p : echo.got()) {
    std::uint32_t seq;
    std::memcpy(&seq, p.data(), 4);
    order.push_back(seq);
  }
  REQUIRE(order.size() == n);
  std::vector<std::size_t> pos(n);
  for (std::size_t i = 0; i < n; ++i) pos[order[i]] = i;
  std::uint32_t reordered = 0;
  for (std::uint32_t k = 0; k + 1 < n; ++k) {
    const bool held = svcres_test::decide(c.to_server, c.seed, Direction::to_server, k, 32).reorder;
    reordered += held;
    const bool next_held = svcres_test::decide(c.to_server, c.seed, Direction::to_server, k + 1, 32).reorder;
    if (held && !next_held) CHECK(pos[k] > pos[k + 1]);
    if (!held && !next_held) CHECK(pos[k] < pos[k + 1]);
  }
  CHECK(reordered > n / 10);
  CHECK(relay.counters().to_server.reordered >= reordered);
  // Each client got back exactly its own datagrams.
  CHECK(back_a.size() == n / 2);
  CHECK(back_b.size() == n / 2);
  for (const Bytes& p : back_a) CHECK(p[0] % 2 == 0);
  for (const Bytes& p : back_b) CHECK(p[0] % 2 == 1);
  CHECK(relay.counters().udp_flows == 2);
}

namespace {
int tcp_connect(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  const sockaddr_in a = loopback(port);
  REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0);
  timeval tv{10, 0};  // a hang becomes a failure, not a stuck test
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}
Bytes read_all(int fd) {
  Bytes out;
  std::uint8_t buf[65536];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return out;
    out.insert(out.end(), buf, buf + n);
  }
}
}  // namespace

TEST_CASE("TCP: framed messages pass through unchanged, in order, with a half-close") {
  TcpEcho echo;
  ChaosConfig c;
  c.upstream_port = echo.port();
  c.to_server.drop = c.to_client.drop = 0.5;  // UDP only: TCP is passthrough unless tcp_chaos
  ChaosRelay relay(c);
  REQUIRE(relay.start().empty());
  for (int conn = 0; conn < 3; ++conn) {
    const int fd = tcp_connect(relay.port());
    Bytes sent;
    for (std::uint32_t k = 0; k < 40; ++k) {
      const Bytes body = packet(k, 1 + (k * 977) % 30000);
      sent.push_back(static_cast<std::uint8_t>(body.size() >> 8));
      sent.push_back(static_cast<std::uint8_t>(body.size()));
      sent.insert(sent.end(), body.begin(), body.end());
    }
    // Written in awkward pieces: the relay must reassemble frames across reads.
    for (std::size_t at = 0; at < sent.size();) {
      const std::size_t piece = std::min<std::size_t>(sent.size() - at, 1 + at % 7001);
      REQUIRE(::send(fd, sent.data() + at, piece, MSG_NOSIGNAL) == static_cast<ssize_t>(piece));
      at += piece;
    }
    ::shutdown(fd, SHUT_WR);
    CHECK(read_all(fd) == sent);
    ::close(fd);
  }
  const auto cnt = relay.counters();
  CHECK(cnt.tcp_connections == 3);
  CHECK(cnt.tcp_messages == 240);
  CHECK(cnt.to_server.dropped == 0);
  CHECK(cnt.to_client.dropped == 0);
}

TEST_CASE("TCP with tcp_chaos: a truncated reply is cut under its original length, then closed") {
  TcpEcho echo;
  ChaosConfig c;
  c.upstream_port = echo.port();
  c.tcp_chaos = true;
  c.to_client.truncate = 1.0;
  ChaosRelay relay(c);
  REQUIRE(relay.start().empty());
  const int fd = tcp_connect(relay.port());
  const Bytes body = packet(5, 300);
  Bytes framed = {0x01, 0x2c};
  framed.insert(framed.end(), body.begin(), body.end());
  REQUIRE(::send(fd, framed.data(), framed.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(framed.size()));
  const Bytes got = read_all(fd);  // ends with the relay's close, not a timeout
  ::close(fd);
  REQUIRE(got.size() >= 3);
  CHECK(got[0] == 0x01);
  CHECK(got[1] == 0x2c);
  CHECK(got.size() < framed.size());
  CHECK(std::equal(got.begin() + 2, got.end(), body.begin()));
  CHECK(relay.counters().to_client.truncated == 1);
}
