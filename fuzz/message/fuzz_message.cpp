// Message::parse on arbitrary bytes; when it accepts, every record, field and name is walked and
// printed, which must never fail (parse validated everything).
#include "../fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto m = svcres::dns::Message::parse(data, size);
  if (!m.ok()) return 0;
  volatile std::size_t sink = svcres_fuzz::walk(*m);
  (void)sink;
  return 0;
}
