// A user's program: includes the umbrella header and uses a few types. Shared by both consumers.
#include <cstdio>

#include <svcres/svcres.hpp>

int main() {
  auto ep = svcres::Endpoint::parse("127.0.0.1:8080");
  if (!ep.ok()) return 1;
  std::printf("consumer sees %s\n", to_text(*ep).c_str());
  return ep->port == 8080 ? 0 : 1;
}
