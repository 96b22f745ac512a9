// Name::from_text on arbitrary text: an accepted name prints to text that parses back to exactly the
// same wire bytes; the same bytes read as an uncompressed wire name must not misbehave either.
#include <string_view>

#include "../fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using svcres::dns::Name;
  auto n = Name::from_text(std::string_view(reinterpret_cast<const char*>(data), size));
  if (n.ok()) {
    svcres_fuzz::require(n->wire_size() <= svcres::dns::max_name_wire, "name length");
    auto text = n->to_text();
    auto back = Name::from_text(text.view());
    svcres_fuzz::require(back.ok() && back->equals_exact(*n), "text round trip");
    svcres_fuzz::require(n->is_subdomain_of(Name()), "every name is under the root");
  }
  auto w = Name::from_wire(data, size);
  if (w.ok()) {
    svcres_fuzz::require(std::memcmp(w->wire(), data, w->wire_size()) == 0, "wire copy");
    auto back = Name::from_text(w->to_text().view());
    svcres_fuzz::require(back.ok() && back->equals_exact(*w), "wire to text to wire");
  }
  return 0;
}
