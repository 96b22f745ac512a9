#pragma once
// What makes a type a load-balancing policy, checked at compile time.
//
// A policy is a plain type with one member:
//     template <class Snapshot> std::size_t pick(const Snapshot& snap, svcres::PickContext& ctx);
// returning an index below snap.size() for which ctx.allowed() (or, failing that, ctx.healthy())
// holds, or svcres::no_pick. Snapshot is EndpointTable<...>::Snapshot: size(), endpoint(i),
// rank(i), stats(i), index(). pick() runs on many threads at once, so state it keeps must be
// atomic, and it must neither allocate nor block. The snapshot may be rewritten during the pick
// (its caller then discards the result): never index anything with a value read from it without
// checking it against size().
//
//   static_assert(svcres::is_policy_v<MyPolicy, Table::Snapshot>, "...");  // trait, C++17
//   svcres::require_policy<MyPolicy, Table::Snapshot>();  // the library's one-sentence error
//   template <svcres::Policy<Table::Snapshot> P> ...       // C++20 concept, when available

#include <cstddef>
#include <type_traits>
#include <utility>

#include "svcres/balance/pick_context.hpp"

namespace svcres {

template <class P, class Snapshot, class = void>
struct is_policy : std::false_type {};
template <class P, class Snapshot>
struct is_policy<P, Snapshot,
                 std::void_t<decltype(std::declval<P&>().pick(std::declval<const Snapshot&>(),
                                                              std::declval<PickContext&>()))>>
    : std::is_same<decltype(std::declval<P&>().pick(std::declval<const Snapshot&>(), std::declval<PickContext&>())),
                   std::size_t> {};
template <class P, class Snapshot>
inline constexpr bool is_policy_v = is_policy<P, Snapshot>::value;

// Call from any template that takes a policy: a wrong type then fails here with one sentence.
template <class P, class Snapshot>
constexpr bool require_policy() noexcept {
  static_assert(is_policy_v<P, Snapshot>,
                "A load-balancing policy must be a type with a member `template <class Snapshot> std::size_t "
                "pick(const Snapshot&, svcres::PickContext&)` that returns an index below snapshot.size(), or "
                "svcres::no_pick when nothing may be picked.");
  return is_policy_v<P, Snapshot>;
}

#if defined(__cpp_concepts) && __cpp_concepts >= 201907L
template <class P, class Snapshot>
concept Policy = requires(P& p, const Snapshot& s, PickContext& c) {
  requires std::is_same_v<decltype(p.pick(s, c)), std::size_t>;
};
#endif

}  // namespace svcres
