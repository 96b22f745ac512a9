// resolv.conf text: parse must never crash, keep every clamp, and be deterministic.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "svcres/resolve/resolv_conf.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto c = svcres::ResolvConf::parse(text);
  using R = svcres::ResolvConf;
  if (c.nameservers.empty() || c.nameservers.size() > R::maxns) std::abort();
  if (c.ndots > R::max_ndots || c.attempts < 1 || c.attempts > R::max_attempts) std::abort();
  if (c.timeout < std::chrono::seconds(1) || c.timeout > std::chrono::seconds(R::max_timeout_s)) std::abort();
  for (const auto& d : c.search)
    if (d.size == 0 || d.size > 253) std::abort();
  auto again = svcres::ResolvConf::parse(text);
  if (again.nameservers.size() != c.nameservers.size() || again.issues().size() != c.issues().size()) std::abort();
  c.apply_options(text);  // the options path on arbitrary words
  if (c.ndots > R::max_ndots) std::abort();
  return 0;
}
