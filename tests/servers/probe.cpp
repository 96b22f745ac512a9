// svcres_dns_probe PORT NAME QTYPE: sends one UDP query to 127.0.0.1:PORT and exits 0 when a reply
// with the same ID, QR=1, RCODE=0 and at least one answer arrives within 1 s. start.sh uses it to
// wait until a server really answers. Hand-built query bytes: it must not depend on the code under test.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s PORT NAME QTYPE_NUMBER\n", argv[0]);
    return 2;
  }
  std::uint8_t q[300];
  std::size_t n = 12;
  std::random_device rd;
  const std::uint16_t id = static_cast<std::uint16_t>(rd());
  std::memset(q, 0, 12);
  q[0] = static_cast<std::uint8_t>(id >> 8);
  q[1] = static_cast<std::uint8_t>(id);
  q[2] = 0x01;  // RD
  q[5] = 1;     // QDCOUNT
  const char* name = argv[2];
  while (*name) {
    const char* dot = std::strchr(name, '.');
    std::size_t len = dot ? static_cast<std::size_t>(dot - name) : std::strlen(name);
    if (len == 0 || len > 63 || n + len + 6 > sizeof q) return 2;
    q[n++] = static_cast<std::uint8_t>(len);
    std::memcpy(q + n, name, len);
    n += len;
    name += len + (dot ? 1 : 0);
  }
  q[n++] = 0;
  const int qtype = std::atoi(argv[3]);
  q[n++] = static_cast<std::uint8_t>(qtype >> 8);
  q[n++] = static_cast<std::uint8_t>(qtype);
  q[n++] = 0;
  q[n++] = 1;
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(std::atoi(argv[1])));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) return 1;
  if (::send(fd, q, n, 0) != static_cast<ssize_t>(n)) return 1;
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 1000) != 1) return 1;
  std::uint8_t r[4096];
  ssize_t got = ::recv(fd, r, sizeof r, 0);
  ::close(fd);
  if (got < 12) return 1;
  const bool ok = r[0] == q[0] && r[1] == q[1] && (r[2] & 0x80) && (r[3] & 0x0f) == 0 && (r[6] | r[7]) != 0;
  return ok ? 0 : 1;
}
