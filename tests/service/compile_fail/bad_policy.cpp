// Must not compile: Service with a type that is not a policy (tests/service/CMakeLists.txt checks
// that the error is the library's one sentence).
#include "svcres/service.hpp"
struct NotAPolicy {};
int main() {
  svcres::ResolvConf conf;
  svcres::Service<NotAPolicy> s(conf, "x.local");
}
