// vport's engine: one switch port. Joins the server, then relays Ethernet frames between the
// TAP device and the server, keeps the session alive, and joins again by itself when the
// server restarts or forgets the port.
//
// States: joining (HELLO every second until a WELCOME names our index) and joined (DATA both
// ways, KEEPALIVE every interval). Any of these sends us back to joining: a BYE from the
// server, ICMP "port unreachable" (ECONNREFUSED on the connected socket), or three keepalive
// intervals without a word from the server.
//
// Threads: by default one thread runs everything. With --tx-thread, or a multi-queue TAP
// (--queues N: one transmit thread per queue), the transmit direction (TAP -> server) runs on
// threads of its own while the main thread keeps the session and the receive direction
// (server -> TAP). All share one UDP socket, so the server sees one port either way. They share the socket and the session through atomics:
// DATA goes out only while tx_socket_ holds the joined socket, with the server's index and the
// counter published before it. (On 2 cores the extra thread bought nothing with offloads and
// halved the per-frame path: docs/benchmarks.md.)
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "client_offloads.hpp"
#include "server_to_tap.hpp"
#include "tap_to_server.hpp"
#include "vswitch/endpoint.hpp"
#include "vswitch/signal_fd.hpp"
#include "vswitch/tap_device.hpp"
#include "vswitch/time.hpp"
#include "vswitch/udp_batch.hpp"
#include "vswitch/unique_fd.hpp"

namespace vswitch {

struct ClientConfig {
  Endpoint server;
  std::uint64_t network = 1;
  std::uint16_t mtu = 1400;
  Duration keepalive = std::chrono::seconds(25);
  Duration hello_interval = std::chrono::seconds(1);
  ClientOffloads offloads;
};

// Session counters; the data directions keep their own (TapTxStats, TapRxStats).
struct ClientStats {
  std::uint64_t udp_rx = 0;               // datagrams from the server (after GRO splitting)
  std::uint64_t udp_rx_messages = 0;      // receive messages (fewer with UDP GRO)
  std::uint64_t control_tx = 0;           // HELLO, KEEPALIVE, BYE
  std::uint64_t dropped_bad_message = 0;  // undecodable or truncated datagrams from the server
  std::uint64_t dropped_stale_index = 0;  // messages for an older session
  std::uint64_t send_errors = 0;          // control messages the kernel refused
  std::uint64_t joins = 0;
};

class PortClient {
 public:
  static constexpr std::size_t kBatch = 64;     // datagrams per receive without GRO
  static constexpr std::size_t kGroBatch = 16;  // 64 KB messages per receive with GRO

  PortClient(TapDevice& tap, const ClientConfig& config);
  ~PortClient();
  PortClient(const PortClient&) = delete;
  PortClient& operator=(const PortClient&) = delete;
  // Runs until SIGINT/SIGTERM; says BYE if joined. SIGUSR1 logs the counters. Returns the
  // process exit code.
  int run(SignalFd& signals);
  const ClientStats& stats() const noexcept { return stats_; }

 private:
  enum class State { joining, joined };

  void on_timer(TimePoint now);
  void transmit_loop(std::size_t queue) noexcept;
  void stop_transmit() noexcept;
  void publish_session() noexcept;
  void on_udp_readable(TimePoint now);
  void handle_message(std::span<std::uint8_t> msg, TimePoint now);
  void log_stats(const char* when) const;
  void start_joining(TimePoint now, const char* why);
  void send_hello(TimePoint now);
  void send_control(std::span<const std::uint8_t> msg);
  bool ensure_socket();
  TimePoint next_deadline() const;

  TapDevice& tap_;
  ClientConfig config_;
  UniqueFd socket_;
  State state_ = State::joining;
  std::uint32_t my_index_ = 0;      // our session index, fresh for each join
  std::uint32_t server_index_ = 0;  // the server's index for our port
  TimePoint joining_since_{};
  TimePoint next_hello_{};
  TimePoint next_keepalive_{};
  TimePoint last_heard_{};
  TimePoint next_unreachable_log_{};
  std::string last_socket_error_;
  bool gro_ = false;  // UDP_GRO is on for the current socket
  UdpRxBatch rx_;
  std::vector<std::unique_ptr<TapToServer>> to_server_;  // one per TAP queue
  ServerToTap to_tap_;
  ClientStats stats_;

  // Shared with the transmit thread.
  std::atomic<int> tx_socket_{-1};  // the socket while joined, else -1
  std::atomic<std::uint32_t> tx_server_index_{0};
  std::atomic<std::uint64_t> tx_counter_{0};  // numbers DATA and KEEPALIVE toward the server
  std::atomic<bool> tx_active_{false};        // DATA went out since the last keepalive deadline
  UniqueFd stop_event_;                       // eventfd: wakes the transmit threads to exit
  std::vector<std::thread> transmit_threads_;
};

}  // namespace vswitch
