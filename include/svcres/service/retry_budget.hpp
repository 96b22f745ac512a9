#pragma once
// RetryBudget: caps concurrent retries at a share of concurrent requests, as Envoy's retry_budget:
// a retry may start while
//     active_retries < max(min_concurrency, budget_percent x active_requests / 100)
// Defaults 20 % and 3, Envoy's. A fixed "N retries per request" lets a failing service receive
// (1 + N) x its load exactly when it can least take it; a budget bounds the extra load at 20 %.
//
// Threads: any thread. Counters are relaxed atomics: the budget is a limit on load, not a lock, and
// two threads racing for the last slot may both get it (one retry over, never unbounded).

#include <atomic>
#include <cstdint>

namespace svcres {

struct RetryBudgetConfig {
  std::uint32_t budget_percent = 20;
  std::uint32_t min_concurrency = 3;
};

class RetryBudget {
 public:
  explicit RetryBudget(RetryBudgetConfig cfg = {}) noexcept : cfg_(cfg) {}
  const RetryBudgetConfig& config() const noexcept { return cfg_; }

  void request_started() noexcept { requests_.fetch_add(1, std::memory_order_relaxed); }
  void request_finished() noexcept { requests_.fetch_sub(1, std::memory_order_relaxed); }

  // Reserves a retry slot; pair a true result with retry_finished(). The retry's own lease is
  // counted by request_started() as any other request.
  bool try_start_retry() noexcept {
    const std::uint32_t limit = limit_now();
    std::uint32_t cur = retries_.load(std::memory_order_relaxed);
    while (cur < limit)
      if (retries_.compare_exchange_weak(cur, cur + 1, std::memory_order_relaxed, std::memory_order_relaxed)) return true;
    return false;
  }
  void retry_finished() noexcept { retries_.fetch_sub(1, std::memory_order_relaxed); }

  std::uint32_t active_requests() const noexcept { return requests_.load(std::memory_order_relaxed); }
  std::uint32_t active_retries() const noexcept { return retries_.load(std::memory_order_relaxed); }
  std::uint32_t limit_now() const noexcept {
    const std::uint64_t share = static_cast<std::uint64_t>(active_requests()) * cfg_.budget_percent / 100;
    return share > cfg_.min_concurrency ? static_cast<std::uint32_t>(share) : cfg_.min_concurrency;
  }

 private:
  RetryBudgetConfig cfg_;
  std::atomic<std::uint32_t> requests_{0};
  std::atomic<std::uint32_t> retries_{0};
};

}  // namespace svcres
