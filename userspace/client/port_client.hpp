// vport's engine: one switch port. It moves bytes between the TAP device, the UDP socket and the
// session (client_session.hpp, the pure state machine that joins, keeps the session alive and
// seals and opens messages), and logs what the session reports.
//
// Threads: by default one thread runs everything. With --tx-thread, or a multi-queue TAP
// (--queues N: one transmit thread per queue), the transmit direction (TAP -> server) runs on
// threads of their own while the main thread keeps the session and the receive direction. All
// share one UDP socket, so the server sees one port either way. A transmit thread takes the
// session's keypair (an atomic load) once per round and seals with it; it is an epoch reader,
// so a keypair replaced meanwhile is wiped only after every thread has finished with it, and
// its counter (in the keypair) is never reset under it. (On 2 cores the extra thread bought
// nothing with offloads and halved the per-frame path: docs/benchmarks.md.)
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "client_offloads.hpp"
#include "server_to_tap.hpp"
#include "tap_to_server.hpp"
#include "vswitch/client_session.hpp"
#include "vswitch/endpoint.hpp"
#include "vswitch/epoch.hpp"
#include "vswitch/signal_fd.hpp"
#include "vswitch/tap_device.hpp"
#include "vswitch/time.hpp"
#include "vswitch/udp_batch.hpp"
#include "vswitch/unique_fd.hpp"

namespace vswitch {

struct ClientConfig {
  Endpoint server;
  ClientSessionConfig session;
  ClientOffloads offloads;
  std::string public_key;  // ours, base64 (secure): for the logs that tell the user what to check
  std::string server_key;  // the pinned server key, base64
};

// Socket-level counters; the session and the data directions keep their own.
struct ClientStats {
  std::uint64_t udp_rx = 0;               // datagrams from the server (after GRO splitting)
  std::uint64_t udp_rx_messages = 0;      // receive messages (fewer with UDP GRO)
  std::uint64_t control_tx = 0;           // handshakes, pings, goodbyes
  std::uint64_t dropped_bad_message = 0;  // truncated datagrams
  std::uint64_t send_errors = 0;          // control messages the kernel refused
};

class PortClient {
 public:
  static constexpr std::size_t kBatch = 64;     // datagrams per receive without GRO
  static constexpr std::size_t kGroBatch = 16;  // 64 KB messages per receive with GRO

  PortClient(TapDevice& tap, const ClientConfig& config, std::optional<handshake::ClientHandshake> handshake);
  ~PortClient();
  PortClient(const PortClient&) = delete;
  PortClient& operator=(const PortClient&) = delete;
  // Runs until SIGINT/SIGTERM; says goodbye if joined. SIGUSR1 logs the counters. Returns the
  // process exit code.
  int run(SignalFd& signals);

 private:
  void transmit_loop(std::size_t queue) noexcept;
  void stop_transmit() noexcept;
  void on_udp_readable(TimePoint now);
  void handle_message(std::span<std::uint8_t> msg, TimePoint now);
  void deliver(ClientSession::Output& out);
  void log_event(const ClientEvent& e);
  void log_stats(const char* when) const;
  void send_control(std::span<const std::uint8_t> msg);
  bool ensure_socket();

  TapDevice& tap_;
  ClientConfig config_;
  EpochDomain epochs_;
  ClientSession session_;
  ClientSession::Output out_;
  UniqueFd socket_;
  std::string last_socket_error_;
  bool gro_ = false;  // UDP_GRO is on for the current socket
  UdpRxBatch rx_;
  std::vector<std::unique_ptr<TapToServer>> to_server_;  // one per TAP queue
  ServerToTap to_tap_;
  ClientStats stats_;
  TimePoint next_hint_log_{};

  // Shared with the transmit threads.
  std::atomic<int> tx_socket_{-1};  // set once the socket exists
  UniqueFd stop_event_;             // eventfd: wakes the transmit threads to exit
  std::vector<std::thread> transmit_threads_;
};

}  // namespace vswitch
