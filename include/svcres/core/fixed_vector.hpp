#pragma once
// FixedVector<T, N>: a vector with its capacity in the type and its storage inline. push_back past
// capacity returns false instead of allocating. T must be default-constructible and copyable (the
// library stores endpoints, names and small records in it).

#include <array>
#include <cstddef>
#include <type_traits>

namespace svcres {

template <class T, std::size_t N>
class FixedVector {
  static_assert(std::is_default_constructible_v<T>, "FixedVector<T, N> needs a default-constructible T.");

 public:
  using value_type = T;
  using iterator = T*;
  using const_iterator = const T*;

  constexpr FixedVector() = default;

  static constexpr std::size_t capacity() noexcept { return N; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  bool full() const noexcept { return size_ == N; }

  [[nodiscard]] bool push_back(const T& v) noexcept(std::is_nothrow_copy_assignable_v<T>) {
    if (size_ == N) return false;
    items_[size_++] = v;
    return true;
  }
  void pop_back() noexcept { if (size_) --size_; }
  void clear() noexcept { size_ = 0; }
  // Removes element i by moving the last one into its place (order not kept).
  void swap_remove(std::size_t i) noexcept {
    items_[i] = items_[size_ - 1];
    --size_;
  }

  T& operator[](std::size_t i) noexcept { return items_[i]; }
  const T& operator[](std::size_t i) const noexcept { return items_[i]; }
  T* data() noexcept { return items_.data(); }
  const T* data() const noexcept { return items_.data(); }
  T* begin() noexcept { return items_.data(); }
  T* end() noexcept { return items_.data() + size_; }
  const T* begin() const noexcept { return items_.data(); }
  const T* end() const noexcept { return items_.data() + size_; }
  T& back() noexcept { return items_[size_ - 1]; }

 private:
  std::array<T, N> items_{};
  std::size_t size_ = 0;
};

}  // namespace svcres
