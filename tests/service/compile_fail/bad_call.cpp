// Must not compile: call() with a function of the wrong shape.
#include "svcres/service.hpp"
int main() {
  svcres::ResolvConf conf;
  svcres::Service<> s(conf, "x.local");
  (void)s.call([](int) { return 0; });
}
