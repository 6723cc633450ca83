// Key material that cleans up after itself.
//
// Secret<N>: N bytes held by value, move-only, zeroed (sodium_memzero, which the compiler may not
// elide) when destroyed or moved from. For session keys, chaining keys and DH outputs.
// LockedSecret<N>: the same in sodium_malloc'd memory: guard pages, mlock'd (never swapped),
// zeroed on free. For the long-lived static private key.
// Neither type prints, compares with ==, or converts implicitly: secrets leave only as spans.
#pragma once

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <new>
#include <span>
#include <utility>

namespace vswitch {

template <std::size_t N>
class Secret {
 public:
  Secret() noexcept { bytes_.fill(0); }
  explicit Secret(std::span<const std::uint8_t, N> from) noexcept {
    for (std::size_t i = 0; i < N; ++i) bytes_[i] = from[i];
  }
  ~Secret() { wipe(); }
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  Secret(Secret&& other) noexcept : bytes_(other.bytes_) { other.wipe(); }
  Secret& operator=(Secret&& other) noexcept {
    if (this != &other) {
      bytes_ = other.bytes_;
      other.wipe();
    }
    return *this;
  }

  // An explicit copy, for the rare state that must be forked (a handshake tried on a copy).
  Secret copy() const noexcept { return Secret(std::span<const std::uint8_t, N>(bytes_)); }

  std::span<std::uint8_t, N> bytes() noexcept { return bytes_; }
  std::span<const std::uint8_t, N> bytes() const noexcept { return bytes_; }
  std::uint8_t* data() noexcept { return bytes_.data(); }
  const std::uint8_t* data() const noexcept { return bytes_.data(); }
  static constexpr std::size_t size() noexcept { return N; }
  void wipe() noexcept { sodium_memzero(bytes_.data(), N); }
  bool is_zero() const noexcept { return sodium_is_zero(bytes_.data(), N) == 1; }

 private:
  std::array<std::uint8_t, N> bytes_;
};

template <std::size_t N>
class LockedSecret {
 public:
  // Throws std::bad_alloc when the locked allocation fails (setup code only). sodium_malloc
  // aborts before sodium_init() (it needs the page size): initialise here, it is idempotent.
  LockedSecret() : p_(sodium_init() >= 0 ? static_cast<std::uint8_t*>(sodium_malloc(N)) : nullptr) {
    if (p_ == nullptr) throw std::bad_alloc();
    sodium_memzero(p_, N);
  }
  ~LockedSecret() {
    if (p_ != nullptr) sodium_free(p_);  // zeroes before unmapping
  }
  LockedSecret(const LockedSecret&) = delete;
  LockedSecret& operator=(const LockedSecret&) = delete;
  LockedSecret(LockedSecret&& other) noexcept : p_(std::exchange(other.p_, nullptr)) {}
  LockedSecret& operator=(LockedSecret&& other) noexcept {
    if (this != &other) {
      if (p_ != nullptr) sodium_free(p_);
      p_ = std::exchange(other.p_, nullptr);
    }
    return *this;
  }

  std::span<std::uint8_t, N> bytes() noexcept { return std::span<std::uint8_t, N>(p_, N); }
  std::span<const std::uint8_t, N> bytes() const noexcept { return std::span<const std::uint8_t, N>(p_, N); }
  static constexpr std::size_t size() noexcept { return N; }

 private:
  std::uint8_t* p_;
};

// Constant-time equality for MACs, cookies and keys (sodium_memcmp).
template <std::size_t N>
bool equal_ct(std::span<const std::uint8_t, N> a, std::span<const std::uint8_t, N> b) noexcept {
  return sodium_memcmp(a.data(), b.data(), N) == 0;
}

}  // namespace vswitch
