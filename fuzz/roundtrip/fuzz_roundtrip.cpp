// parse -> write -> parse must give an equal message, and writing that again must give the same
// bytes (the writer is deterministic).
#include "../fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace svcres::dns;
  auto m = Message::parse(data, size);
  if (!m.ok()) return 0;
  static std::uint8_t first[1 << 18], second[1 << 18];
  auto n1 = svcres_fuzz::rewrite(*m, first, sizeof first);
  if (!n1.ok()) {
    // Only too many records for one count can fail; decompression cannot outgrow 256 KiB from 64 KiB
    // of input with at most 255 bytes per name.
    svcres_fuzz::require(n1.error() == svcres::Errc::buffer_too_small || n1.error() == svcres::Errc::capacity_exceeded,
                         "rewrite error");
    return 0;
  }
  auto m2 = Message::parse(first, *n1);
  svcres_fuzz::require(m2.ok(), "rewritten message parses");
  svcres_fuzz::require_same(*m, *m2);
  auto n2 = svcres_fuzz::rewrite(*m2, second, sizeof second);
  svcres_fuzz::require(n2.ok() && *n2 == *n1 && std::memcmp(first, second, *n1) == 0, "second write identical");
  return 0;
}
