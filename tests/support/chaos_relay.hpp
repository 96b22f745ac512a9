#pragma once
// ChaosRelay: a loopback relay between DNS clients and a real server that misbehaves on purpose,
// standing in for netem (which these machines lack). Test and benchmark support, not library code:
// it uses threads, the heap and the standard containers freely.
//
//   svcres_test::ChaosConfig c;
//   c.upstream_port = 15301;                       // NSD
//   c.to_server.drop = c.to_client.drop = 0.3;     // 30 % loss each way
//   c.seed = 42;
//   svcres_test::ChaosRelay relay(c);
//   if (!relay.start().empty()) ...                // listens on 127.0.0.1:relay.port()
//   ... resolve through 127.0.0.1:relay.port() ...
//   std::puts(relay.counters().to_text().c_str());
//
// UDP: every client address:port gets its own upstream socket (a "flow"), so the server's replies go
// back to the client that asked; flows idle for `flow_idle` are closed. Each datagram, in each
// direction, meets a fate decided by decide(): dropped, or possibly truncated (cut to a shorter
// length), corrupted (1 to 3 bytes flipped), duplicated (sent twice), delayed (by a uniform time in
// [delay_min, delay_max]) or reordered (held back until the next datagram of that direction has gone,
// or `reorder_hold` at most). The fate of the k-th datagram of a direction depends only on the seed,
// the direction and k: a run that sends the same packets in the same order meets the same chaos.
// TCP (RFC 7766 framing): each connection is relayed to a fresh upstream connection, message by
// message; by default unchanged (`tcp_chaos` = false). With tcp_chaos the same rates apply per message
// (a drop swallows the message, truncation sends part of it and closes, reorder does not apply).
//
// Threads: one relay thread does all the I/O. start()/stop() from one controlling thread;
// counters() from any thread at any time (relaxed atomics: each value is exact, the set is not a
// consistent snapshot while traffic flows).

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace svcres_test {

// Probabilities in [0, 1], each drawn independently per packet.
struct ChaosRates {
  double drop = 0;
  double duplicate = 0;
  double reorder = 0;
  double delay = 0;
  double truncate = 0;
  double corrupt = 0;
  std::chrono::milliseconds delay_min{5}, delay_max{50};
  std::chrono::milliseconds reorder_hold{50};
};

struct ChaosConfig {
  std::uint16_t listen_port = 0;    // 0: the kernel picks (see ChaosRelay::port())
  std::uint16_t upstream_port = 0;  // the real server on 127.0.0.1
  std::uint64_t seed = 1;
  ChaosRates to_server, to_client;
  bool udp = true, tcp = true;
  bool tcp_chaos = false;
  std::chrono::milliseconds flow_idle{10000};
};

enum class Direction : std::uint8_t { to_server = 0, to_client = 1 };

struct Fate {
  bool drop = false, duplicate = false, reorder = false, truncate = false, corrupt = false;
  std::chrono::milliseconds delay{0};
  std::size_t truncate_to = 0;        // the kept length, in [1, size - 1]
  std::size_t corrupt_at[3] = {0, 0, 0};
  std::uint8_t corrupt_mask[3] = {0, 0, 0};  // 0: that slot unused; otherwise XORed in
};

namespace detail {
inline std::uint64_t splitmix(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
}  // namespace detail

// The fate of the `index`-th packet (0-based) of `dir` with `size` bytes under `rates` and `seed`. A
// fixed number of draws per packet, each a hash of (seed, direction, index, draw), so the decisions
// for packet k never depend on what earlier packets were.
inline Fate decide(const ChaosRates& rates, std::uint64_t seed, Direction dir, std::uint64_t index,
                   std::size_t size) noexcept {
  const std::uint64_t base =
      detail::splitmix(seed ^ detail::splitmix((index << 1) | static_cast<std::uint64_t>(dir)));
  auto draw = [&](unsigned k) { return detail::splitmix(base + k * 0xd1b54a32d192ed03ull); };
  auto unit = [&](unsigned k) { return static_cast<double>(draw(k) >> 11) * 0x1.0p-53; };
  Fate f;
  f.drop = unit(0) < rates.drop;
  if (f.drop) return f;
  f.duplicate = unit(1) < rates.duplicate;
  f.reorder = unit(2) < rates.reorder;
  if (unit(3) < rates.delay) {
    const auto span = static_cast<std::uint64_t>(std::max<long long>(
        0, static_cast<long long>(rates.delay_max.count()) - static_cast<long long>(rates.delay_min.count())));
    f.delay = rates.delay_min + std::chrono::milliseconds(static_cast<long long>(draw(4) % (span + 1)));
  }
  f.truncate = size > 1 && unit(5) < rates.truncate;
  if (f.truncate) f.truncate_to = 1 + static_cast<std::size_t>(draw(6) % (size - 1));
  f.corrupt = size > 0 && unit(7) < rates.corrupt;
  if (f.corrupt) {
    const unsigned flips = 1 + static_cast<unsigned>(draw(8) % 3);
    for (unsigned i = 0; i < flips; ++i) {
      const std::uint64_t r = draw(9 + i);
      f.corrupt_at[i] = static_cast<std::size_t>(r % size);
      f.corrupt_mask[i] = static_cast<std::uint8_t>(1 + (r >> 32) % 255);  // never 0: always a change
    }
  }
  return f;
}

// Truncation and corruption applied to one copy of a packet.
inline void apply_fate(const Fate& f, std::vector<std::uint8_t>& bytes) {
  if (f.truncate && f.truncate_to < bytes.size()) bytes.resize(f.truncate_to);
  if (f.corrupt)
    for (unsigned i = 0; i < 3; ++i)
      if (f.corrupt_mask[i] != 0 && f.corrupt_at[i] < bytes.size()) bytes[f.corrupt_at[i]] ^= f.corrupt_mask[i];
}

struct DirectionCounters {
  std::uint64_t received = 0;    // packets (UDP datagrams or TCP messages) that reached the relay
  std::uint64_t sent = 0;        // packets sent on, duplicates included
  std::uint64_t dropped = 0;
  std::uint64_t duplicated = 0;
  std::uint64_t reordered = 0;
  std::uint64_t delayed = 0;
  std::uint64_t truncated = 0;
  std::uint64_t corrupted = 0;
  std::uint64_t lost = 0;        // could not be sent (send error, or its flow/connection was gone)
};

struct ChaosCounters {
  DirectionCounters to_server, to_client;
  std::uint64_t udp_flows = 0;        // client address:port pairs seen
  std::uint64_t tcp_connections = 0;
  std::uint64_t tcp_messages = 0;     // both directions

  std::string to_text() const {
    auto dir = [](const char* name, const DirectionCounters& d) {
      return std::string(name) + ": received=" + std::to_string(d.received) + " sent=" + std::to_string(d.sent) +
             " dropped=" + std::to_string(d.dropped) + " duplicated=" + std::to_string(d.duplicated) +
             " reordered=" + std::to_string(d.reordered) + " delayed=" + std::to_string(d.delayed) +
             " truncated=" + std::to_string(d.truncated) + " corrupted=" + std::to_string(d.corrupted) +
             " lost=" + std::to_string(d.lost);
    };
    return dir("to_server", to_server) + "\n" + dir("to_client", to_client) + "\nudp_flows=" +
           std::to_string(udp_flows) + " tcp_connections=" + std::to_string(tcp_connections) +
           " tcp_messages=" + std::to_string(tcp_messages);
  }
};

class ChaosRelay {
 public:
  explicit ChaosRelay(ChaosConfig c) : cfg_(c) {}
  ChaosRelay(const ChaosRelay&) = delete;
  ChaosRelay& operator=(const ChaosRelay&) = delete;
  ~ChaosRelay() { stop(); }

  // Binds and starts the relay thread. An empty string on success, else why not.
  std::string start() {
    if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) return errtext("pipe");
    // With listen_port 0 the kernel picks the UDP port, and TCP must get the same one, which a TCP
    // socket elsewhere may hold: then both are given up and another port is drawn.
    std::string why;
    for (int tries = 0; tries < 64; ++tries) {
      why = bind_both();
      if (why.empty()) break;
      const bool retry = errno == EADDRINUSE && cfg_.listen_port == 0;
      for (int* fd : {&udp_, &tcp_}) {
        if (*fd >= 0) ::close(*fd);
        *fd = -1;
      }
      if (!retry) return why;
    }
    if (!why.empty()) return why;
    thread_ = std::thread([this] { loop(); });
    return {};
  }

  void stop() {
    if (thread_.joinable()) {
      stop_.store(true, std::memory_order_relaxed);
      const char b = 1;
      (void)!::write(wake_[1], &b, 1);
      thread_.join();
    }
    for (auto& f : flows_) ::close(f.second.upstream);
    flows_.clear();
    for (auto& c : conns_) close_conn(c.second);
    conns_.clear();
    for (int* fd : {&udp_, &tcp_, &wake_[0], &wake_[1]}) {
      if (*fd >= 0) ::close(*fd);
      *fd = -1;
    }
  }

  std::uint16_t port() const noexcept { return port_; }
  const ChaosConfig& config() const noexcept { return cfg_; }

  ChaosCounters counters() const noexcept {
    ChaosCounters c;
    read(c.to_server, dirs_[0]);
    read(c.to_client, dirs_[1]);
    c.udp_flows = udp_flows_.load(std::memory_order_relaxed);
    c.tcp_connections = tcp_connections_.load(std::memory_order_relaxed);
    c.tcp_messages = tcp_messages_.load(std::memory_order_relaxed);
    return c;
  }

 private:
  using Clock = std::chrono::steady_clock;

  struct AtomicDir {
    std::atomic<std::uint64_t> received{0}, sent{0}, dropped{0}, duplicated{0}, reordered{0}, delayed{0},
        truncated{0}, corrupted{0}, lost{0};
  };
  static void read(DirectionCounters& out, const AtomicDir& d) noexcept {
    out.received = d.received.load(std::memory_order_relaxed);
    out.sent = d.sent.load(std::memory_order_relaxed);
    out.dropped = d.dropped.load(std::memory_order_relaxed);
    out.duplicated = d.duplicated.load(std::memory_order_relaxed);
    out.reordered = d.reordered.load(std::memory_order_relaxed);
    out.delayed = d.delayed.load(std::memory_order_relaxed);
    out.truncated = d.truncated.load(std::memory_order_relaxed);
    out.corrupted = d.corrupted.load(std::memory_order_relaxed);
    out.lost = d.lost.load(std::memory_order_relaxed);
  }
  // Only the relay thread writes the counters: a load and a store, no read-modify-write needed.
  static void bump(std::atomic<std::uint64_t>& c, std::uint64_t by = 1) noexcept {
    c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }

  struct Flow {
    sockaddr_in client{};
    int upstream = -1;
    Clock::time_point last{};
  };
  struct Conn {  // one relayed TCP connection: side 0 the client, side 1 the server
    int fd[2] = {-1, -1};
    std::vector<std::uint8_t> in[2], out[2];
    bool eof[2] = {false, false};         // the side sent FIN
    bool shut_sent[2] = {false, false};   // we sent FIN to the side
    bool closing = false;                 // a truncation: close once out[] has drained
  };
  // A packet to send later (delay, reorder hold, duplicate of a delayed one).
  struct Pending {
    bool tcp = false;
    Direction dir = Direction::to_server;
    std::uint64_t key = 0;  // flow key or connection id
    bool held = false;      // a reorder hold: released after the next packet of `dir`, or when due
    std::vector<std::uint8_t> bytes;
  };

  std::string bind_both() {
    sockaddr_in a = loopback(cfg_.listen_port);
    if (cfg_.udp) {
      udp_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (udp_ < 0 || ::bind(udp_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return errtext("bind UDP");
      big_buffers(udp_);
      socklen_t len = sizeof a;
      ::getsockname(udp_, reinterpret_cast<sockaddr*>(&a), &len);
    }
    if (cfg_.tcp) {
      tcp_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      int one = 1;
      if (tcp_ >= 0) ::setsockopt(tcp_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (tcp_ < 0 || ::bind(tcp_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(tcp_, 64) != 0)
        return errtext("bind TCP");
      socklen_t len = sizeof a;
      ::getsockname(tcp_, reinterpret_cast<sockaddr*>(&a), &len);
    }
    port_ = ntohs(a.sin_port);
    return {};
  }

  static sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
  }
  // The relay must not be where datagrams are lost by accident: a burst of small datagrams fills
  // the default receive buffer (each costs a whole skb) long before its byte size suggests. The
  // FORCE variant (root) passes net.core.rmem_max; otherwise the capped request is the best we get.
  static void big_buffers(int fd) {
    const int size = 4 << 20;
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
      ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  // Keeps errno as it was: start() looks at it after the message is made.
  static std::string errtext(const char* what) {
    const int e = errno;
    std::string t = std::string(what) + ": " + std::strerror(e);
    errno = e;
    return t;
  }
  static std::uint64_t flow_key(const sockaddr_in& a) {
    return static_cast<std::uint64_t>(ntohl(a.sin_addr.s_addr)) << 16 | ntohs(a.sin_port);
  }

  void loop() {
    std::vector<pollfd> fds;
    std::vector<std::uint64_t> owner;  // per fds entry: flow key (UDP) or connection id (TCP)
    std::uint8_t buf[65536];
    while (!stop_.load(std::memory_order_relaxed)) {
      const auto now = Clock::now();
      fire_due(now);
      expire_flows(now);
      fds.clear();
      owner.clear();
      fds.push_back({wake_[0], POLLIN, 0});
      owner.push_back(0);
      if (udp_ >= 0) { fds.push_back({udp_, POLLIN, 0}); owner.push_back(0); }
      if (tcp_ >= 0) { fds.push_back({tcp_, POLLIN, 0}); owner.push_back(0); }
      const std::size_t first_flow = fds.size();
      for (auto& f : flows_) { fds.push_back({f.second.upstream, POLLIN, 0}); owner.push_back(f.first); }
      const std::size_t first_conn = fds.size();
      for (auto& c : conns_) {
        for (int s = 0; s < 2; ++s) {
          short ev = c.second.eof[s] ? 0 : POLLIN;
          if (!c.second.out[s].empty()) ev = static_cast<short>(ev | POLLOUT);
          // Nothing to wait for on this side: leave it out (-1), or a hung-up socket would spin poll.
          fds.push_back({ev ? c.second.fd[s] : -1, ev, 0});
          owner.push_back(c.first << 1 | static_cast<std::uint64_t>(s));
        }
      }
      int timeout_ms = 200;
      if (!pending_.empty()) {
        const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(pending_.begin()->first - now);
        timeout_ms = static_cast<int>(std::max<long long>(0, std::min<long long>(timeout_ms, wait.count() + 1)));
      }
      if (::poll(fds.data(), fds.size(), timeout_ms) < 0 && errno != EINTR) break;
      std::size_t i = 1;
      if (udp_ >= 0 && (fds[i++].revents & POLLIN)) from_clients(buf);
      if (tcp_ >= 0 && (fds[i++].revents & POLLIN)) accept_conns();
      for (std::size_t k = first_flow; k < first_conn; ++k)
        if (fds[k].revents & (POLLIN | POLLERR)) from_server(owner[k], buf);
      for (std::size_t k = first_conn; k < fds.size(); ++k)
        if (fds[k].revents) conn_event(owner[k] >> 1, static_cast<int>(owner[k] & 1), fds[k].revents, buf);
      std::vector<std::uint64_t> dead;
      for (auto& c : conns_)
        if (conn_done(c.second)) dead.push_back(c.first);
      for (std::uint64_t id : dead) {
        close_conn(conns_[id]);
        conns_.erase(id);
      }
    }
  }

  // The packets of one direction, numbered for decide() in arrival order (UDP and TCP apart).
  Fate next_fate(bool tcp, Direction dir, std::size_t size) {
    const int d = static_cast<int>(dir);
    const std::uint64_t k = tcp ? tcp_index_[d]++ : udp_index_[d]++;
    // TCP messages draw from a separate stream (seed + 1) so UDP decisions stay those of the seed.
    const ChaosRates none{};
    const ChaosRates& r = dir == Direction::to_server ? cfg_.to_server : cfg_.to_client;
    return decide(tcp && !cfg_.tcp_chaos ? none : r, cfg_.seed + (tcp ? 1 : 0), dir, k, size);
  }

  // One received packet through its fate: sent now, later, twice, or never.
  void route(bool tcp, Direction dir, std::uint64_t key, const std::uint8_t* p, std::size_t n) {
    AtomicDir& c = dirs_[static_cast<int>(dir)];
    bump(c.received);
    if (tcp) bump(tcp_messages_);
    Fate f = next_fate(tcp, dir, n);
    if (tcp) f.reorder = false;  // a byte stream keeps its order
    if (f.drop) {
      bump(c.dropped);
      return;
    }
    std::vector<std::uint8_t> bytes(p, p + n);
    if (f.truncate) bump(c.truncated);
    if (f.corrupt) bump(c.corrupted);
    apply_fate(f, bytes);
    if (tcp && f.truncate) {
      // Part of a message under its original length, then the connection ends (a server or
      // middlebox dying mid-reply): the peer waits for bytes that never come, then sees the close.
      auto it = conns_.find(key);
      const int side = dir == Direction::to_server ? 1 : 0;
      if (it == conns_.end() || it->second.closing || it->second.fd[side] < 0) {
        bump(c.lost);
        return;
      }
      Conn& conn = it->second;
      conn.out[side].push_back(static_cast<std::uint8_t>(n >> 8));
      conn.out[side].push_back(static_cast<std::uint8_t>(n));
      conn.out[side].insert(conn.out[side].end(), bytes.begin(), bytes.end());
      conn.closing = true;
      bump(c.sent);
      flush(conn, side);
      return;
    }
    const int copies = f.duplicate ? 2 : 1;
    if (f.duplicate) bump(c.duplicated);
    if (f.delay.count() > 0) bump(c.delayed);
    const auto now = Clock::now();
    for (int i = 0; i < copies; ++i) {
      if (f.reorder) {
        bump(c.reordered);
        const ChaosRates& r = dir == Direction::to_server ? cfg_.to_server : cfg_.to_client;
        pending_.emplace(now + f.delay + r.reorder_hold, Pending{tcp, dir, key, true, bytes});
        f.reorder = false;  // the duplicate, if any, goes the normal way
      } else if (f.delay.count() > 0) {
        pending_.emplace(now + f.delay, Pending{tcp, dir, key, false, bytes});
      } else {
        emit(tcp, dir, key, bytes);
      }
    }
  }

  // Sends one packet now; then releases the packets of `dir` held for reordering, so they arrive
  // after this one.
  void emit(bool tcp, Direction dir, std::uint64_t key, const std::vector<std::uint8_t>& bytes, bool release = true) {
    AtomicDir& c = dirs_[static_cast<int>(dir)];
    if (send_now(tcp, dir, key, bytes)) bump(c.sent);
    else bump(c.lost);
    if (!release) return;
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.held && it->second.dir == dir && it->second.tcp == tcp) {
        Pending p = std::move(it->second);
        it = pending_.erase(it);
        emit(p.tcp, p.dir, p.key, p.bytes, false);
      } else {
        ++it;
      }
    }
  }

  bool send_now(bool tcp, Direction dir, std::uint64_t key, const std::vector<std::uint8_t>& bytes) {
    if (tcp) {
      auto it = conns_.find(key);
      if (it == conns_.end()) return false;
      Conn& c = it->second;
      const int side = dir == Direction::to_server ? 1 : 0;
      if (c.fd[side] < 0 || c.closing) return false;
      const std::uint8_t len[2] = {static_cast<std::uint8_t>(bytes.size() >> 8),
                                   static_cast<std::uint8_t>(bytes.size())};
      c.out[side].insert(c.out[side].end(), len, len + 2);
      c.out[side].insert(c.out[side].end(), bytes.begin(), bytes.end());
      flush(c, side);
      return true;
    }
    auto it = flows_.find(key);
    if (it == flows_.end()) return false;
    ssize_t s;
    if (dir == Direction::to_server) {
      s = ::send(it->second.upstream, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    } else {
      s = ::sendto(udp_, bytes.data(), bytes.size(), MSG_NOSIGNAL,
                   reinterpret_cast<const sockaddr*>(&it->second.client), sizeof it->second.client);
    }
    return s == static_cast<ssize_t>(bytes.size());
  }

  void fire_due(Clock::time_point now) {
    while (!pending_.empty() && pending_.begin()->first <= now) {
      Pending p = std::move(pending_.begin()->second);
      pending_.erase(pending_.begin());
      emit(p.tcp, p.dir, p.key, p.bytes, !p.held);
    }
  }

  void expire_flows(Clock::time_point now) {
    for (auto it = flows_.begin(); it != flows_.end();) {
      if (now - it->second.last > cfg_.flow_idle) {
        ::close(it->second.upstream);
        it = flows_.erase(it);
      } else {
        ++it;
      }
    }
  }

  void from_clients(std::uint8_t* buf) {
    for (;;) {
      sockaddr_in from{};
      socklen_t fl = sizeof from;
      const ssize_t n = ::recvfrom(udp_, buf, 65536, 0, reinterpret_cast<sockaddr*>(&from), &fl);
      if (n < 0) return;  // EAGAIN: drained (errors such as ECONNREFUSED from an old sendto too)
      const std::uint64_t key = flow_key(from);
      auto it = flows_.find(key);
      if (it == flows_.end()) {
        Flow f;
        f.client = from;
        f.upstream = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (f.upstream < 0 && errno == EMFILE && evict_oldest_flow())
          f.upstream = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        const sockaddr_in up = loopback(cfg_.upstream_port);
        if (f.upstream < 0 || ::connect(f.upstream, reinterpret_cast<const sockaddr*>(&up), sizeof up) != 0) {
          if (f.upstream >= 0) ::close(f.upstream);
          bump(dirs_[0].lost);
          continue;
        }
        big_buffers(f.upstream);
        bump(udp_flows_);
        it = flows_.emplace(key, f).first;
      }
      it->second.last = Clock::now();
      route(false, Direction::to_server, key, buf, static_cast<std::size_t>(n));
    }
  }

  // Out of descriptors (a client that uses a fresh port per query makes a flow per query): the
  // least recently active flow goes first. False when there is none.
  bool evict_oldest_flow() {
    auto oldest = flows_.end();
    for (auto it = flows_.begin(); it != flows_.end(); ++it)
      if (oldest == flows_.end() || it->second.last < oldest->second.last) oldest = it;
    if (oldest == flows_.end()) return false;
    ::close(oldest->second.upstream);
    flows_.erase(oldest);
    return true;
  }

  void from_server(std::uint64_t key, std::uint8_t* buf) {
    auto it = flows_.find(key);
    if (it == flows_.end()) return;
    for (;;) {
      const ssize_t n = ::recv(it->second.upstream, buf, 65536, 0);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        continue;  // ECONNREFUSED (the server restarting): reported once, then the socket goes on
      }
      it->second.last = Clock::now();
      route(false, Direction::to_client, key, buf, static_cast<std::size_t>(n));
      it = flows_.find(key);  // route() never erases flows, but stay safe against future changes
      if (it == flows_.end()) return;
    }
  }

  void accept_conns() {
    for (;;) {
      const int fd = ::accept4(tcp_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) return;
      const int up = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      const sockaddr_in a = loopback(cfg_.upstream_port);
      // A blocking connect on loopback: it completes or fails at once.
      if (up < 0 || ::connect(up, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
        if (up >= 0) ::close(up);
        ::close(fd);
        continue;
      }
      ::fcntl(up, F_SETFL, ::fcntl(up, F_GETFL) | O_NONBLOCK);
      Conn c;
      c.fd[0] = fd;
      c.fd[1] = up;
      bump(tcp_connections_);
      conns_.emplace(next_conn_++, std::move(c));
    }
  }

  void conn_event(std::uint64_t id, int side, short revents, std::uint8_t* buf) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    Conn& c = it->second;
    if (c.fd[side] < 0) return;
    if (revents & POLLOUT) flush(c, side);
    if (revents & (POLLIN | POLLHUP | POLLERR)) {
      bool ended = false;
      for (;;) {
        const ssize_t n = ::recv(c.fd[side], buf, 65536, 0);
        if (n > 0) {
          c.in[side].insert(c.in[side].end(), buf, buf + n);
          continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) ended = true;
        break;
      }
      // Whole messages (two-byte length, RFC 7766 §8) go through route(); the rest waits.
      std::vector<std::uint8_t>& in = c.in[side];
      std::size_t at = 0;
      const Direction dir = side == 0 ? Direction::to_server : Direction::to_client;
      while (in.size() - at >= 2) {
        const std::size_t len = static_cast<std::size_t>(in[at] << 8 | in[at + 1]);
        if (in.size() - at - 2 < len) break;
        std::vector<std::uint8_t> msg(in.begin() + static_cast<long>(at + 2), in.begin() + static_cast<long>(at + 2 + len));
        at += 2 + len;
        route(true, dir, id, msg.data(), msg.size());
        if (conns_.find(id) == conns_.end()) return;
      }
      in.erase(in.begin(), in.begin() + static_cast<long>(at));
      // The end is recorded only now, after every message read before it was passed on: flush()
      // forwards a half-close as soon as the other way is drained and this side has ended.
      if (ended) c.eof[side] = true;
      const int other = 1 - side;
      if (c.eof[side] && c.out[other].empty() && !c.shut_sent[other] && c.fd[other] >= 0) {
        ::shutdown(c.fd[other], SHUT_WR);
        c.shut_sent[other] = true;
      }
    }
  }

  void flush(Conn& c, int side) {
    std::vector<std::uint8_t>& out = c.out[side];
    while (!out.empty()) {
      const ssize_t s = ::send(c.fd[side], out.data(), out.size(), MSG_NOSIGNAL);
      if (s <= 0) {
        if (s < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        out.clear();
        c.eof[0] = c.eof[1] = true;  // the peer is gone: end the connection
        return;
      }
      out.erase(out.begin(), out.begin() + s);
    }
    const int other = 1 - side;
    if (c.eof[other] && !c.shut_sent[side]) {
      ::shutdown(c.fd[side], SHUT_WR);
      c.shut_sent[side] = true;
    }
  }

  static bool conn_done(const Conn& c) {
    if (c.closing && c.out[0].empty() && c.out[1].empty()) return true;
    // Both directions finished and drained (or one side gone entirely: eof on both).
    return c.eof[0] && c.eof[1] && c.out[0].empty() && c.out[1].empty();
  }

  void close_conn(Conn& c) {
    for (int& fd : c.fd) {
      if (fd >= 0) ::close(fd);
      fd = -1;
    }
  }

  ChaosConfig cfg_;
  int udp_ = -1, tcp_ = -1;
  int wake_[2] = {-1, -1};
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;

  // Relay-thread state.
  std::unordered_map<std::uint64_t, Flow> flows_;
  std::map<std::uint64_t, Conn> conns_;
  std::uint64_t next_conn_ = 1;
  std::multimap<Clock::time_point, Pending> pending_;
  std::uint64_t udp_index_[2] = {0, 0}, tcp_index_[2] = {0, 0};

  AtomicDir dirs_[2];
  std::atomic<std::uint64_t> udp_flows_{0}, tcp_connections_{0}, tcp_messages_{0};
};

}  // namespace svcres_test
