// The server's session layer: who each port's client is, how to reach it, and the keypairs
// its messages are sealed with. The switch core (switch_core.hpp) knows none of this.
//
// Keypairs live in a pool indexed by receiver index: index = random << slot_bits | slot, so a
// lookup is one array access, and an index tells an off-path sender nothing it could reuse.
// find() is lock-free and may run on any packet thread; everything else runs under the switch
// lock. A keypair leaves in two steps: retire() clears its index (lookups miss from then on) and
// stamps it with an epoch; reclaim() wipes and frees it once no packet thread can hold it
// (epoch.hpp). Slots are allocated on first use and never unmapped.
//
// Per port (PeerSession, indexed by the port's slot): the member (v2: public key and name),
// the endpoint of its last authenticated packet, and WireGuard's three keypairs: `next` (made by
// a handshake, not yet confirmed by the client), `current` (what we send with), `previous`
// (still accepted while packets sealed with it are in flight).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "vswitch/counter.hpp"
#include "vswitch/endpoint.hpp"
#include "vswitch/epoch.hpp"
#include "vswitch/keypair.hpp"
#include "vswitch/noise.hpp"
#include "vswitch/port_table.hpp"

namespace vswitch {

struct PeerSession {
  PortIndex port = kNoPort;
  bool secure = false;
  noise::PublicKey key{};  // v2: the member's public key
  std::string name;        // v2: the member's name from the members file
  Endpoint endpoint;       // where its last authenticated packet came from
  std::uint32_t client_index = 0;  // v1: the index from the client's HELLO
  Keypair* previous = nullptr;
  Keypair* current = nullptr;
  Keypair* next = nullptr;
  TimePoint last_handshake{};
  TimePoint last_rx{};
  std::uint64_t handshakes = 0;
};

class SessionTable {
 public:
  // Room for three keypairs per port (previous, current, next) and those retiring.
  explicit SessionTable(std::size_t max_ports);
  ~SessionTable();
  SessionTable(const SessionTable&) = delete;
  SessionTable& operator=(const SessionTable&) = delete;

  // Any thread, no lock: the published keypair with this receiver index, or nullptr.
  Keypair* find(std::uint32_t index) const noexcept {
    const std::size_t slot = index & slot_mask_;
    if (index == 0 || slot >= pool_.size()) return nullptr;
    Keypair* kp = pool_[slot].load(std::memory_order_acquire);
    if (kp == nullptr || kp->local_index.load(std::memory_order_acquire) != index) return nullptr;
    return kp;
  }

  // --- everything below: under the switch lock ---

  // A blank keypair and the index it will be published under; nullptr when the pool is full.
  Keypair* allocate(std::uint32_t& index);
  // Makes it findable (keys and fields set before).
  static void publish(Keypair& kp, std::uint32_t index) noexcept { kp.local_index.store(index, std::memory_order_release); }
  // A keypair allocated but never published goes straight back.
  void release_unpublished(Keypair* kp, std::uint32_t index) noexcept;
  // Unlinks a published keypair; it is wiped and reused after the epoch grace period.
  void retire(Keypair* kp, EpochDomain& epochs) noexcept;
  // Wipes and frees retired keypairs no reader can hold any more. Returns how many.
  std::size_t reclaim(const EpochDomain& epochs) noexcept;

  PeerSession& peer(PortIndex port) noexcept { return peers_[port_slot(port)]; }
  const PeerSession& peer(PortIndex port) const noexcept { return peers_[port_slot(port)]; }

  // v2: the port of a member on a network. v1: the port joined from an endpoint.
  PortIndex find_member_port(const noise::PublicKey& key, std::uint64_t network) const noexcept;
  PortIndex find_endpoint_port(const Endpoint& endpoint) const noexcept;
  void index_member(const noise::PublicKey& key, std::uint64_t network, PortIndex port);
  void index_endpoint(const Endpoint& endpoint, PortIndex port);
  // Forgets a port: retires its keypairs, drops it from the lookups, clears its PeerSession.
  void forget_port(PortIndex port, std::uint64_t network, EpochDomain& epochs) noexcept;

  std::size_t keypairs_in_use() const noexcept { return in_use_; }  // also without the lock
  std::size_t retired() const noexcept { return retired_.size(); }
  std::size_t capacity() const noexcept { return pool_.size(); }

 private:
  struct MemberKey {
    noise::PublicKey key;
    std::uint64_t network;
    bool operator==(const MemberKey&) const = default;
  };
  struct MemberKeyHash {
    std::size_t operator()(const MemberKey& k) const noexcept;
  };
  struct Retired {
    Keypair* kp;
    std::uint64_t epoch;
  };

  std::vector<std::atomic<Keypair*>> pool_;
  std::size_t slot_bits_ = 0;
  std::uint32_t slot_mask_ = 0;
  std::vector<std::uint32_t> free_slots_;
  std::vector<Retired> retired_;
  Counter in_use_;  // read without the lock (metrics)
  std::vector<PeerSession> peers_;
  std::unordered_map<MemberKey, PortIndex, MemberKeyHash> by_member_;
  std::unordered_map<Endpoint, PortIndex, EndpointHash> by_endpoint_;
};

}  // namespace vswitch
