#pragma once
// A small, strict HTTP/1.1 message layer over POSIX sockets, shared by the examples (the Lambda
// bootstrap, its Runtime API stand-in, the demo's test backends). Not part of the svcres library:
// it allocates (std::string bodies) and is sized for "talk to one known peer", not for the Internet.
//
// What it does, and the RFC 9112 rule behind each choice:
// - Start line and every header line end in CRLF (§2.2); a bare LF is refused rather than guessed.
// - Header names are tokens with no whitespace before the colon (§5.1: a server MUST reject that),
//   obsolete line folding is refused (§5.2).
// - Body framing (§6.3): Transfer-Encoding chunked wins; Transfer-Encoding together with
//   Content-Length, differing Content-Length values, or a non-chunked final coding are errors;
//   1xx/204/304 responses and responses to HEAD have no body; a response with neither header runs
//   until the peer closes (the connection is then not reusable).
// - Chunked bodies (§7.1): hex sizes with overflow checks, extensions skipped, trailers read and
//   dropped.
// - Every wait is bounded by an absolute deadline through poll(2); TimePoint::max() means "no
//   timeout" (the Lambda GET /next must not time out: the process may be frozen while it waits).
// - Sizes are bounded by Limits; exceeding one is Errc::capacity_exceeded, never a silent cut.
//
// Errors are a Status: an Errc from svcres/core/errc.hpp and a sentence for the log.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "svcres/core/clock.hpp"
#include "svcres/core/endpoint.hpp"
#include "svcres/core/errc.hpp"
#include "svcres/net/socket.hpp"

namespace svcres_examples {
namespace http {

using svcres::Errc;
using svcres::TimePoint;

inline constexpr TimePoint kNoDeadline = TimePoint::max();

struct Status {
  Errc code = Errc::ok;
  std::string message;

  Status() = default;
  Status(Errc c, std::string m) : code(c), message(std::move(m)) {}
  bool ok() const noexcept { return code == Errc::ok; }
  explicit operator bool() const noexcept { return ok(); }
  // "timed out: reading the status line"
  std::string text() const { return std::string(svcres::to_string(code)) + ": " + message; }
};

struct Limits {
  std::size_t max_head_bytes = 16 * 1024;     // start line + headers + the blank line
  std::size_t max_headers = 64;
  std::size_t max_body_bytes = 8 * 1024 * 1024;
};

struct Header {
  std::string name;
  std::string value;
};

namespace detail {
inline bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}
// RFC 9110 §5.6.2 tchar
inline bool is_tchar(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
inline std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
// Printable excerpt of bad input for an error message: at most 40 bytes, control bytes escaped.
inline std::string excerpt(std::string_view s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size() && i < 40; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      static const char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (s.size() > 40) out += "...";
  return out + "\"";
}
// Strict unsigned decimal with overflow check; false on empty, sign, spaces or overflow.
inline bool parse_u64(std::string_view s, std::uint64_t& out) noexcept {
  if (s.empty() || s.size() > 19) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  out = v;
  return true;
}
}  // namespace detail

struct Headers {
  std::vector<Header> items;

  // First value of a header by case-insensitive name (RFC 9110 §5.1), or nullptr.
  const std::string* find(std::string_view name) const noexcept {
    for (const Header& h : items)
      if (detail::iequals(h.name, name)) return &h.value;
    return nullptr;
  }
  std::size_t count(std::string_view name) const noexcept {
    std::size_t n = 0;
    for (const Header& h : items) n += detail::iequals(h.name, name) ? 1 : 0;
    return n;
  }
  void add(std::string name, std::string value) { items.push_back({std::move(name), std::move(value)}); }
  void set(std::string_view name, std::string value) {
    for (Header& h : items)
      if (detail::iequals(h.name, name)) {
        h.value = std::move(value);
        return;
      }
    items.push_back({std::string(name), std::move(value)});
  }
};

struct Request {
  std::string method = "GET";
  std::string target = "/";
  int minor_version = 1;  // HTTP/1.x
  Headers headers;
  std::string body;
  bool chunked_body = false;  // how it arrived (server side) or should be sent (client side)
};

struct Response {
  int status = 200;
  std::string reason = "OK";
  int minor_version = 1;
  Headers headers;
  std::string body;
  bool keep_alive = true;     // after parsing: may the connection be reused
  bool chunked_body = false;  // server: send as chunks; client: arrived as chunks
};

// Parsed start line + headers; kept apart so a caller can see the headers of a message whose body
// was refused (the Lambda bootstrap still wants the request id of an oversize event).
enum class Framing { none, length, chunked, until_close };

// ---- pure parsing on a complete head (start line .. CRLF CRLF exclusive of the final CRLF) ----

namespace detail {

// Splits `head` into lines on CRLF; a bare LF or CR is an error (RFC 9112 §2.2).
inline Status split_lines(std::string_view head, std::vector<std::string_view>& lines) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < head.size(); ++i) {
    if (head[i] == '\n') return {Errc::http_error, "bare LF in message head"};
    if (head[i] == '\r') {
      if (i + 1 >= head.size() || head[i + 1] != '\n') return {Errc::http_error, "bare CR in message head"};
      lines.push_back(head.substr(start, i - start));
      start = i + 2;
      ++i;
    }
  }
  if (start != head.size()) lines.push_back(head.substr(start));
  return {};
}

inline Status parse_header_lines(const std::vector<std::string_view>& lines, const Limits& limits,
                                 Headers& out) {
  if (lines.size() - 1 > limits.max_headers)
    return {Errc::capacity_exceeded, "more than " + std::to_string(limits.max_headers) + " header fields"};
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t'))
      return {Errc::http_error, "obsolete header line folding: " + excerpt(line)};  // RFC 9112 §5.2
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0)
      return {Errc::http_error, "header line without a name and colon: " + excerpt(line)};
    std::string_view name = line.substr(0, colon);
    for (char c : name)
      if (!is_tchar(c)) return {Errc::http_error, "bad character in header name: " + excerpt(line)};  // §5.1
    std::string_view value = trim_ows(line.substr(colon + 1));
    for (char c : value) {
      unsigned char u = static_cast<unsigned char>(c);
      if ((u < 0x20 && u != '\t') || u == 0x7f)
        return {Errc::http_error, "control character in header value: " + excerpt(line)};
    }
    out.add(std::string(name), std::string(value));
  }
  return {};
}

inline bool parse_version(std::string_view v, int& minor) noexcept {
  if (v.size() != 8 || v.substr(0, 7) != "HTTP/1." || v[7] < '0' || v[7] > '9') return false;
  minor = v[7] - '0';
  return true;
}

}  // namespace detail

// "HTTP/1.1 200 OK" + headers. The reason phrase may be empty (RFC 9112 §4).
inline Status parse_response_head(std::string_view head, const Limits& limits, Response& out) {
  std::vector<std::string_view> lines;
  if (Status s = detail::split_lines(head, lines); !s) return s;
  if (lines.empty() || lines[0].empty()) return {Errc::http_error, "empty status line"};
  std::string_view sl = lines[0];
  if (sl.size() < 12 || sl[8] != ' ' || !detail::parse_version(sl.substr(0, 8), out.minor_version))
    return {Errc::http_error, "status line is not 'HTTP/1.x NNN reason': " + detail::excerpt(sl)};
  std::string_view code = sl.substr(9, 3);
  for (char c : code)
    if (c < '0' || c > '9') return {Errc::http_error, "status code is not 3 digits: " + detail::excerpt(sl)};
  if (sl.size() > 12 && sl[12] != ' ')
    return {Errc::http_error, "status code is not 3 digits: " + detail::excerpt(sl)};
  out.status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
  if (out.status < 100) return {Errc::http_error, "status code below 100: " + detail::excerpt(sl)};
  out.reason = sl.size() > 13 ? std::string(sl.substr(13)) : std::string();
  return detail::parse_header_lines(lines, limits, out.headers);
}

// "GET /path HTTP/1.1" + headers (RFC 9112 §3). HTTP/1.1 requests must carry Host (§3.2).
inline Status parse_request_head(std::string_view head, const Limits& limits, Request& out) {
  std::vector<std::string_view> lines;
  if (Status s = detail::split_lines(head, lines); !s) return s;
  if (lines.empty() || lines[0].empty()) return {Errc::http_error, "empty request line"};
  std::string_view rl = lines[0];
  std::size_t sp1 = rl.find(' ');
  std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : rl.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || rl.find(' ', sp2 + 1) != std::string_view::npos)
    return {Errc::http_error, "request line is not 'METHOD target HTTP/1.x': " + detail::excerpt(rl)};
  std::string_view method = rl.substr(0, sp1), target = rl.substr(sp1 + 1, sp2 - sp1 - 1);
  if (method.empty() || target.empty()) return {Errc::http_error, "empty method or target: " + detail::excerpt(rl)};
  for (char c : method)
    if (!detail::is_tchar(c)) return {Errc::http_error, "bad method: " + detail::excerpt(rl)};
  if (!detail::parse_version(rl.substr(sp2 + 1), out.minor_version))
    return {Errc::http_error, "unsupported HTTP version: " + detail::excerpt(rl)};
  out.method = std::string(method);
  out.target = std::string(target);
  if (Status s = detail::parse_header_lines(lines, limits, out.headers); !s) return s;
  if (out.minor_version >= 1 && out.headers.count("Host") != 1)
    return {Errc::http_error, "HTTP/1.1 request without exactly one Host header"};
  return {};
}

// RFC 9112 §6.3 body length rules. `length` is set for Framing::length.
inline Status body_framing(const Headers& h, bool is_response, int status, bool head_request, Framing& framing,
                           std::uint64_t& length) {
  length = 0;
  if (is_response && (head_request || (status >= 100 && status < 200) || status == 204 || status == 304)) {
    framing = Framing::none;
    return {};
  }
  const std::string* te = h.find("Transfer-Encoding");
  std::size_t cl_count = h.count("Content-Length");
  if (te) {
    if (cl_count) return {Errc::http_error, "both Transfer-Encoding and Content-Length"};
    if (h.count("Transfer-Encoding") != 1 || !detail::iequals(detail::trim_ows(*te), "chunked"))
      return {Errc::http_error, "unsupported Transfer-Encoding " + detail::excerpt(*te)};
    framing = Framing::chunked;
    return {};
  }
  if (cl_count) {
    bool first = true;
    for (const Header& x : h.items) {
      if (!detail::iequals(x.name, "Content-Length")) continue;
      std::uint64_t v = 0;
      if (!detail::parse_u64(x.value, v)) return {Errc::http_error, "bad Content-Length " + detail::excerpt(x.value)};
      if (!first && v != length) return {Errc::http_error, "conflicting Content-Length values"};
      length = v;
      first = false;
    }
    framing = length ? Framing::length : Framing::none;
    return {};
  }
  framing = is_response ? Framing::until_close : Framing::none;  // §6.3 rules 7 and 8
  return {};
}

// ---- sockets ----

// An owning descriptor: the library's (closed on destruction, move-only).
using Socket = svcres::detail::Fd;

// Milliseconds for poll(2) until `deadline`: -1 for none, 0 when already past.
inline int poll_timeout_ms(TimePoint deadline) noexcept {
  if (deadline == kNoDeadline) return -1;
  auto now = std::chrono::steady_clock::now();
  if (deadline <= now) return 0;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1;
  return ms > 600000 ? 600000 : static_cast<int>(ms);
}

// Waits for `events` on fd; Errc::ok, timeout or network_error. EINTR restarts with the time left.
// Not svcres::detail::wait_for: that one needs a finite deadline, and GET /next has none.
inline Errc wait_fd(int fd, short events, TimePoint deadline) noexcept {
  for (;;) {
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, poll_timeout_ms(deadline));
    if (r > 0) return Errc::ok;  // POLLERR/POLLHUP too: the next read/write reports what happened
    if (r == 0) {
      if (deadline != kNoDeadline && std::chrono::steady_clock::now() >= deadline) return Errc::timeout;
      continue;  // the 10-minute poll slice ran out but the deadline did not
    }
    if (errno != EINTR) return Errc::network_error;
  }
}

// The library's conversion takes an address and a port in the shape of a NameServer.
inline svcres::detail::SockAddr sockaddr_of(const svcres::Endpoint& ep) noexcept {
  return svcres::detail::to_sockaddr(svcres::NameServer{ep.address, ep.port});
}

inline Status connect_tcp(const svcres::Endpoint& ep, TimePoint deadline, Socket& out) {
  const svcres::detail::SockAddr sa = sockaddr_of(ep);
  Socket s = svcres::detail::open_socket(sa.family(), SOCK_STREAM);
  if (!s.valid()) return {Errc::network_error, "socket(): " + std::string(std::strerror(errno))};
  std::string where = std::string(svcres::to_text(ep).view());
  int one = 1;
  ::setsockopt(s.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(s.get(), sa.get(), sa.len) != 0) {
    if (errno != EINPROGRESS) {
      Errc e = errno == ECONNREFUSED ? Errc::connection_refused : Errc::network_error;
      return {e, "connect " + where + ": " + std::strerror(errno)};
    }
    if (Errc w = wait_fd(s.get(), POLLOUT, deadline); w != Errc::ok) return {w, "connect " + where};
    int err = 0;
    socklen_t el = sizeof err;
    ::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &el);
    if (err != 0)
      return {err == ECONNREFUSED ? Errc::connection_refused : Errc::network_error,
              "connect " + where + ": " + std::strerror(err)};
  }
  out = std::move(s);
  return {};
}

inline Status send_all(int fd, std::string_view data, TimePoint deadline) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (Errc w = wait_fd(fd, POLLOUT, deadline); w != Errc::ok) return {w, "sending"};
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
      return {Errc::connection_closed, std::string("peer closed while sending: ") + std::strerror(errno)};
    return {Errc::network_error, std::string("send: ") + std::strerror(errno)};
  }
  return {};
}

// Buffered reader over one non-blocking socket. Bytes read past the end of one message stay in the
// buffer for the next (pipelining is not used, but a peer may send early).
class Reader {
 public:
  explicit Reader(int fd) noexcept : fd_(fd) {}

  // Appends at least one byte to the buffer, or fails: connection_closed on EOF.
  Status fill(TimePoint deadline, const char* what) {
    char tmp[16 * 1024];
    for (;;) {
      ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n > 0) {
        buf_.append(tmp, static_cast<std::size_t>(n));
        received_ += static_cast<std::size_t>(n);
        return {};
      }
      if (n == 0) return {Errc::connection_closed, std::string("peer closed the connection while ") + what};
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (Errc w = wait_fd(fd_, POLLIN, deadline); w != Errc::ok) return {w, what};
        continue;
      }
      if (errno == ECONNRESET) return {Errc::connection_closed, std::string("connection reset while ") + what};
      return {Errc::network_error, std::string("recv while ") + what + ": " + std::strerror(errno)};
    }
  }

  // Reads up to and including the blank line that ends a head; `head` excludes the final CRLF CRLF
  // but keeps the CRLF between lines. Leading empty lines are skipped (RFC 9112 §2.2 robustness).
  Status read_head(TimePoint deadline, std::size_t max_bytes, std::string& head) {
    for (;;) {
      while (buf_.size() - pos_ >= 2 && buf_[pos_] == '\r' && buf_[pos_ + 1] == '\n') pos_ += 2;
      std::size_t end = buf_.find("\r\n\r\n", pos_);
      if (end != std::string::npos) {
        if (end + 4 - pos_ > max_bytes) break;
        head.assign(buf_, pos_, end + 2 - pos_);  // keep the CRLF of the last header line
        if (head.size() >= 2) head.resize(head.size() - 2);
        pos_ = end + 4;
        compact();
        return {};
      }
      if (buf_.size() - pos_ > max_bytes) break;
      if (Status s = fill(deadline, buf_.size() == pos_ ? "waiting for a message" : "reading a message head"); !s) {
        if (s.code == Errc::connection_closed && buf_.size() != pos_)
          s.message = "peer closed in the middle of a message head: " + detail::excerpt(std::string_view(buf_).substr(pos_));
        return s;
      }
    }
    return {Errc::capacity_exceeded, "message head larger than " + std::to_string(max_bytes) + " bytes"};
  }

  Status read_exact(std::size_t n, TimePoint deadline, std::string& out, const char* what) {
    while (buf_.size() - pos_ < n)
      if (Status s = fill(deadline, what); !s) return s;
    out.append(buf_, pos_, n);
    pos_ += n;
    compact();
    return {};
  }

  // One CRLF-terminated line (without the CRLF), at most max_bytes.
  Status read_line(TimePoint deadline, std::size_t max_bytes, std::string& line, const char* what) {
    for (;;) {
      std::size_t end = buf_.find("\r\n", pos_);
      if (end != std::string::npos && end - pos_ <= max_bytes) {
        line.assign(buf_, pos_, end - pos_);
        pos_ = end + 2;
        compact();
        return {};
      }
      if (buf_.size() - pos_ > max_bytes)
        return {Errc::capacity_exceeded, std::string(what) + ": line longer than " + std::to_string(max_bytes)};
      if (Status s = fill(deadline, what); !s) return s;
    }
  }

  // Everything until EOF (Framing::until_close).
  Status read_to_eof(TimePoint deadline, std::size_t max_bytes, std::string& out) {
    for (;;) {
      if (buf_.size() - pos_ > max_bytes)
        return {Errc::capacity_exceeded, "body larger than " + std::to_string(max_bytes) + " bytes"};
      Status s = fill(deadline, "reading a body delimited by connection close");
      if (s.code == Errc::connection_closed) break;
      if (!s) return s;
    }
    out.append(buf_, pos_, std::string::npos);
    pos_ = buf_.size();
    compact();
    return {};
  }

  bool has_buffered() const noexcept { return pos_ < buf_.size(); }
  std::size_t received() const noexcept { return received_; }

 private:
  void compact() {
    if (pos_ == buf_.size()) {
      buf_.clear();
      pos_ = 0;
    } else if (pos_ > 64 * 1024) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
  }

  int fd_;
  std::string buf_;
  std::size_t pos_ = 0;
  std::size_t received_ = 0;
};

// Reads a body framed as described; appends to `body`.
inline Status read_body(Reader& r, Framing framing, std::uint64_t length, const Limits& limits, TimePoint deadline,
                        std::string& body) {
  switch (framing) {
    case Framing::none:
      return {};
    case Framing::length:
      if (length > limits.max_body_bytes)
        return {Errc::capacity_exceeded, "Content-Length " + std::to_string(length) + " over the limit of " +
                                             std::to_string(limits.max_body_bytes) + " bytes"};
      return r.read_exact(static_cast<std::size_t>(length), deadline, body, "reading a Content-Length body");
    case Framing::until_close:
      return r.read_to_eof(deadline, limits.max_body_bytes, body);
    case Framing::chunked:
      break;
  }
  // RFC 9112 §7.1: chunk-size [ chunk-ext ] CRLF chunk-data CRLF ... last-chunk trailer-section CRLF
  std::string line;
  for (;;) {
    line.clear();
    if (Status s = r.read_line(deadline, 1024, line, "reading a chunk size"); !s) return s;
    std::string_view sv = line;
    std::size_t semi = sv.find(';');
    std::string_view hex = detail::trim_ows(sv.substr(0, semi));
    if (hex.empty() || hex.size() > 15) return {Errc::http_error, "bad chunk size line " + detail::excerpt(line)};
    std::uint64_t size = 0;
    for (char c : hex) {
      int v = svcres::detail::hex_value(c);
      if (v < 0) return {Errc::http_error, "bad chunk size line " + detail::excerpt(line)};
      size = size * 16 + static_cast<std::uint64_t>(v);
    }
    if (size == 0) break;
    if (size > limits.max_body_bytes || body.size() + size > limits.max_body_bytes)
      return {Errc::capacity_exceeded, "chunked body over the limit of " + std::to_string(limits.max_body_bytes) + " bytes"};
    if (Status s = r.read_exact(static_cast<std::size_t>(size), deadline, body, "reading chunk data"); !s) return s;
    std::string crlf;
    if (Status s = r.read_exact(2, deadline, crlf, "reading the CRLF after chunk data"); !s) return s;
    if (crlf != "\r\n") return {Errc::http_error, "chunk data not followed by CRLF"};
  }
  // Trailer fields are read and dropped; they carry nothing these examples use.
  std::size_t trailer_bytes = 0;
  for (;;) {
    line.clear();
    if (Status s = r.read_line(deadline, limits.max_head_bytes, line, "reading chunked trailers"); !s) return s;
    if (line.empty()) return {};
    trailer_bytes += line.size();
    if (trailer_bytes > limits.max_head_bytes) return {Errc::capacity_exceeded, "chunked trailer section too large"};
  }
}

inline bool wants_close(const Headers& h, int minor_version) {
  const std::string* c = h.find("Connection");
  if (c) {
    std::string_view v = *c;
    // Connection is a list (RFC 9110 §7.6.1); "close" anywhere in it wins.
    std::size_t start = 0;
    while (start <= v.size()) {
      std::size_t comma = v.find(',', start);
      std::string_view tok = detail::trim_ows(v.substr(start, comma == std::string_view::npos ? v.npos : comma - start));
      if (detail::iequals(tok, "close")) return true;
      if (detail::iequals(tok, "keep-alive") && minor_version == 0) return false;
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
  }
  return minor_version == 0;  // HTTP/1.0 closes unless asked otherwise
}

// Reads one response. On a body error the head (status, headers) is still filled in, so a caller can
// act on headers of a message whose body was refused; the connection is then unusable.
inline Status read_response(Reader& r, const Limits& limits, TimePoint deadline, bool head_request, Response& out) {
  std::string head;
  if (Status s = r.read_head(deadline, limits.max_head_bytes, head); !s) return s;
  if (Status s = parse_response_head(head, limits, out); !s) return s;
  Framing framing;
  std::uint64_t length = 0;
  if (Status s = body_framing(out.headers, true, out.status, head_request, framing, length); !s) return s;
  out.chunked_body = framing == Framing::chunked;
  out.keep_alive = framing != Framing::until_close && !wants_close(out.headers, out.minor_version);
  out.body.clear();
  return read_body(r, framing, length, limits, deadline, out.body);
}

inline Status read_request(Reader& r, const Limits& limits, TimePoint deadline, Request& out) {
  std::string head;
  if (Status s = r.read_head(deadline, limits.max_head_bytes, head); !s) return s;
  if (Status s = parse_request_head(head, limits, out); !s) return s;
  Framing framing;
  std::uint64_t length = 0;
  if (Status s = body_framing(out.headers, false, 0, false, framing, length); !s) return s;
  out.chunked_body = framing == Framing::chunked;
  out.body.clear();
  return read_body(r, framing, length, limits, deadline, out.body);
}

// ---- serialisation ----

inline std::string serialize(const Request& req, std::string_view host) {
  std::string out;
  out.reserve(256 + req.body.size());
  out += req.method;
  out += ' ';
  out += req.target;
  out += " HTTP/1.1\r\n";
  if (!req.headers.find("Host")) {
    out += "Host: ";
    out += host;
    out += "\r\n";
  }
  for (const Header& h : req.headers.items) {
    out += h.name;
    out += ": ";
    out += h.value;
    out += "\r\n";
  }
  bool has_body = !req.body.empty() || req.method == "POST" || req.method == "PUT";
  if (req.chunked_body) {
    out += "Transfer-Encoding: chunked\r\n\r\n";
    if (!req.body.empty()) {
      char size[20];
      int n = std::snprintf(size, sizeof size, "%zx\r\n", req.body.size());
      out.append(size, static_cast<std::size_t>(n));
      out += req.body;
      out += "\r\n";
    }
    out += "0\r\n\r\n";
    return out;
  }
  if (has_body && !req.headers.find("Content-Length")) {
    out += "Content-Length: ";
    out += std::to_string(req.body.size());
    out += "\r\n";
  }
  out += "\r\n";
  out += req.body;
  return out;
}

inline std::string serialize(const Response& res, bool close) {
  std::string out;
  out.reserve(256 + res.body.size());
  out += "HTTP/1.1 ";
  out += std::to_string(res.status);
  out += ' ';
  out += res.reason;
  out += "\r\n";
  for (const Header& h : res.headers.items) {
    out += h.name;
    out += ": ";
    out += h.value;
    out += "\r\n";
  }
  if (close) out += "Connection: close\r\n";
  if (res.chunked_body) {
    out += "Transfer-Encoding: chunked\r\n\r\n";
    // Split in two chunks when possible so a reader's chunk loop runs more than once.
    std::size_t half = res.body.size() / 2;
    std::string_view parts[2] = {std::string_view(res.body).substr(0, half), std::string_view(res.body).substr(half)};
    for (std::string_view p : parts) {
      if (p.empty()) continue;
      char size[32];
      int n = std::snprintf(size, sizeof size, "%zx;ext=1\r\n", p.size());
      out.append(size, static_cast<std::size_t>(n));
      out += p;
      out += "\r\n";
    }
    out += "0\r\nX-Trailer: done\r\n\r\n";
    return out;
  }
  if (!res.headers.find("Content-Length") && !(res.status >= 100 && res.status < 200) && res.status != 204 &&
      res.status != 304) {
    out += "Content-Length: ";
    out += std::to_string(res.body.size());
    out += "\r\n";
  }
  out += "\r\n";
  out += res.body;
  return out;
}

inline const char* reason_phrase(int status) noexcept {
  switch (status) {
    case 200: return "OK";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
  }
}

}  // namespace http
}  // namespace svcres_examples
