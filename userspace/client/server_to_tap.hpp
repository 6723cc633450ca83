// vport's receive direction: frames from the server's DATA datagrams are written to the TAP.
// With TAP offloads and coalescing on, the frames of one receive round go through the
// TcpCoalescer and each TCP flow's consecutive segments are written as one super-frame; the
// round is flushed before the next receive reuses its buffers, so nothing waits on a timer.
// On a multi-queue TAP each flow is written to the queue its symmetric hash picks: the kernel
// then sends that flow's traffic out on the same queue, so one transmit worker owns a flow.
#pragma once

#include <cstdint>
#include <span>

#include "client_offloads.hpp"
#include "vswitch/tap_device.hpp"
#include "vswitch/tcp_coalescer.hpp"

namespace vswitch {

struct TapRxStats {
  std::uint64_t frames = 0;        // frames handed over by the server
  std::uint64_t writes = 0;        // TAP writes (fewer than frames when coalescing)
  std::uint64_t write_errors = 0;  // frames lost to failed writes
};

class ServerToTap {
 public:
  ServerToTap(TapDevice& tap, const ClientOffloads& offloads, std::size_t max_frames_per_round);

  // The frame must stay valid and unchanged by others until flush().
  void add(std::span<std::uint8_t> frame) noexcept;
  // Writes what the round gathered.
  void flush() noexcept;

  const TapRxStats& stats() const noexcept { return stats_; }
  const CoalescerStats& coalescer_stats() const noexcept { return coalescer_.stats(); }

 private:
  void write(std::span<const iovec> iov, std::size_t frames) noexcept;
  int queue_fd_for(std::span<const std::uint8_t> frame) const noexcept;

  TapDevice& tap_;
  const bool vnet_;
  const bool coalesce_;
  TcpCoalescer coalescer_;
  TapRxStats stats_;
};

}  // namespace vswitch
