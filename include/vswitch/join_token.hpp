// Stateless address proof for v1 joins (the insecure protocol has no keys to prove anything
// else). The server answers a HELLO without a valid token with a CHALLENGE carrying
// token = BLAKE2b-64(secret, source address, port, the HELLO's index, network and MTU); only a
// client that receives at that address can repeat the HELLO with it. No state is kept per
// sender: a flood of spoofed HELLOs costs one MAC and one 16-byte reply each, and creates no
// port. The secret changes every two minutes; tokens of the previous secret still pass.
#pragma once

#include <cstdint>

#include "vswitch/endpoint.hpp"
#include "vswitch/protocol.hpp"
#include "vswitch/secret.hpp"
#include "vswitch/time.hpp"

namespace vswitch {

class JoinTokens {
 public:
  static constexpr auto kSecretLifetime = std::chrono::seconds(120);

  std::uint64_t make(const Endpoint& from, const protocol::Hello& hello, TimePoint now) noexcept;
  bool valid(const Endpoint& from, const protocol::Hello& hello, TimePoint now) noexcept;

 private:
  void rotate(TimePoint now) noexcept;
  std::uint64_t token(const Secret<32>& secret, const Endpoint& from, const protocol::Hello& hello) const noexcept;

  Secret<32> current_;
  Secret<32> previous_;
  TimePoint born_{};
  bool initialised_ = false;
};

}  // namespace vswitch
