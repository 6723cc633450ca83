// vport's transmit direction: frames the kernel sends out of the TAP become DATA datagrams to
// the server. With TAP offloads a read may return a 64 KB TCP super-frame: the Segmenter cuts
// it into MTU-sized frames (one per datagram, the wire format never changes) and the
// datagrams of one read leave as one UDP_SEGMENT train when UDP GSO is on. Secure sessions
// seal each datagram where it is built, in its send slot (segment headers and payload copied
// there, encrypted in place); one counter reservation covers a whole super-frame.
#pragma once

#include <cstdint>
#include <vector>

#include "client_offloads.hpp"
#include "vswitch/counter.hpp"
#include "vswitch/keypair.hpp"
#include "vswitch/segmenter.hpp"
#include "vswitch/tap_device.hpp"
#include "vswitch/udp_batch.hpp"

namespace vswitch {

// Written by the transmit thread, read by the logging one (vswitch/counter.hpp).
struct TapTxStats {
  Counter frames{0};              // reads from the TAP
  Counter super_frames{0};        // reads that were split into two or more segments
  Counter datagrams{0};           // datagrams made from the reads
  Counter send_errors{0};         // datagrams the kernel refused
  Counter dropped_not_joined{0};  // frames read while no session exists (or it may not send more)
  Counter dropped_bad_vnet{0};    // header the segmenter refused (counted, never sent)
  Counter dropped_too_big{0};     // a frame larger than the session's MTU allows
};

class TapToServer {
 public:
  // Reads TAP queue `queue` (0 for a single-queue TAP). `max_frame`: the largest frame the
  // session carries; `secure`: datagrams are sealed (v2) and so built whole in the send slots.
  TapToServer(TapDevice& tap, std::size_t queue, const ClientOffloads& offloads, std::size_t max_frame, bool secure);

  // Reads one round of frames from the TAP and sends them as DATA sealed with `keypair`, whose
  // counters number them. Without a keypair or socket (no session) the frames are dropped and
  // counted. Returns the number of datagrams sent.
  std::size_t pump(int socket, Keypair* keypair) noexcept;

  void enable_gso(bool on) noexcept { tx_.enable_gso(on); }
  const TapTxStats& stats() const noexcept { return stats_; }
  const UdpTxStats& udp_stats() const noexcept { return tx_.stats(); }

 private:
  void queue(int socket, std::span<const std::uint8_t> header, std::span<const std::uint8_t> payload,
             const Keypair& keypair, std::uint64_t counter) noexcept;
  void flush(int socket) noexcept;

  const int fd_;
  const bool vnet_;
  std::size_t reads_per_round_;
  std::size_t buffer_size_;
  std::size_t max_frame_;
  std::vector<std::uint8_t> buffers_;
  Segmenter segmenter_;
  UdpTxBatch tx_;
  TapTxStats stats_;
};

}  // namespace vswitch
