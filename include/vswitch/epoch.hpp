// Quiescent-state-based reclamation for objects that packet threads use without a lock
// (keypairs). docs/architecture.md, "Keypair lifetime without a lock", has the argument.
//
// A reader announces the global epoch whenever it holds no protected object (between batches),
// and goes offline while it sleeps. A writer unlinks an object so that new lookups miss it,
// then takes a new epoch with advance(); the object may be reused once safe(that epoch): every
// online reader has announced it or a later one, so none can still hold the object.
// Readers are registered at setup (a fixed array, no allocation afterwards).
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace vswitch {

class EpochDomain {
 public:
  static constexpr std::size_t kMaxReaders = 80;
  static constexpr std::uint64_t kOffline = ~std::uint64_t{0};

  class Reader {
   public:
    // Holds nothing now: later lookups see every unlink made before this call.
    void quiescent() noexcept {
      announced_.store(domain_->global_.load(std::memory_order_seq_cst), std::memory_order_seq_cst);
      std::atomic_thread_fence(std::memory_order_seq_cst);
    }
    void online() noexcept { quiescent(); }
    // About to sleep: writers need not wait for this reader.
    void offline() noexcept { announced_.store(kOffline, std::memory_order_seq_cst); }

   private:
    friend class EpochDomain;
    EpochDomain* domain_ = nullptr;
    std::atomic<std::uint64_t> announced_{kOffline};
  };

  EpochDomain() = default;
  EpochDomain(const EpochDomain&) = delete;
  EpochDomain& operator=(const EpochDomain&) = delete;

  // At thread setup. nullptr when kMaxReaders are taken.
  Reader* register_reader() noexcept {
    const std::size_t i = used_.fetch_add(1, std::memory_order_acq_rel);
    if (i >= kMaxReaders) return nullptr;
    readers_[i].domain_ = this;
    return &readers_[i];
  }

  // After unlinking: the epoch the unlinked object must wait for.
  std::uint64_t advance() noexcept { return global_.fetch_add(1, std::memory_order_seq_cst) + 1; }

  bool safe(std::uint64_t epoch) const noexcept {
    const std::size_t n = std::min(used_.load(std::memory_order_acquire), kMaxReaders);
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t a = readers_[i].announced_.load(std::memory_order_seq_cst);
      if (a != kOffline && a < epoch) return false;
    }
    return true;
  }

 private:
  std::atomic<std::uint64_t> global_{1};
  std::atomic<std::size_t> used_{0};
  std::array<Reader, kMaxReaders> readers_{};
};

// Online for a scope (a batch), offline at its end.
class EpochReaderScope {
 public:
  explicit EpochReaderScope(EpochDomain::Reader* r) noexcept : r_(r) {
    if (r_ != nullptr) r_->online();
  }
  ~EpochReaderScope() {
    if (r_ != nullptr) r_->offline();
  }
  EpochReaderScope(const EpochReaderScope&) = delete;
  EpochReaderScope& operator=(const EpochReaderScope&) = delete;

 private:
  EpochDomain::Reader* r_;
};

}  // namespace vswitch
