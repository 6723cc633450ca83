#include "socket_datapath.hpp"

#include <cerrno>
#include <cstring>

#include "vswitch/log.hpp"

namespace vswitch {
namespace {

// Without GRO receive buffers hold the largest DATA message the switch accepts, plus one byte so
// that a larger datagram is reported as truncated (MSG_TRUNC) instead of fitting by accident.
// With GRO a message holds up to 64 KB of merged datagrams.
std::size_t buffer_size_for(std::size_t max_datagram, bool gro) {
  if (gro) return 65536;
  return (max_datagram + 1 + 63) / 64 * 64;
}
constexpr std::size_t kGroBatch = 32;

// Flooding multiplies datagrams: room for a full batch flooded to a few dozen ports before an
// intermediate flush is needed.
constexpr std::size_t kTxCapacity = 1024;

}  // namespace

Result<SocketDatapath> SocketDatapath::open(const Endpoint& listen, std::uint16_t mtu, Offloads offloads) {
  auto socket = open_udp_socket(listen);
  if (!socket) return socket.error();
  if (offloads.udp_gro && !enable_udp_gro(socket->get())) {
    VS_INFO("UDP GRO unavailable on this kernel; receiving datagram by datagram");
    offloads.udp_gro = false;
  }
  return SocketDatapath(std::move(socket).value(), mtu, offloads);
}

SocketDatapath::SocketDatapath(UniqueFd socket, std::uint16_t mtu, Offloads offloads)
    : socket_(std::move(socket)),
      gro_(offloads.udp_gro),
      max_datagram_(protocol::kDataHeaderSize + protocol::max_frame_size(mtu)),
      rx_(gro_ ? kGroBatch : kBatch, buffer_size_for(max_datagram_, gro_), gro_),
      tx_(kTxCapacity) {
  tx_.enable_gso(offloads.udp_gso);
}

void SocketDatapath::on_readable(SharedSwitch& sw) noexcept {
  SwitchCore& core = sw.core;
  // At most 16 batches per wake-up: under a flood the loop still serves control and timers.
  for (int round = 0; round < 16; ++round) {
    const int n = rx_.receive(socket_.get());
    if (n <= 0) {
      if (n < 0 && errno != EINTR) VS_DEBUG("recvmmsg: %s", std::strerror(errno));
      break;
    }
    received_messages_ += static_cast<std::uint64_t>(n);
    const TimePoint now = Clock::now();
    std::lock_guard lock(sw.mutex);  // once per batch; uncontended in this single-threaded datapath
    for (int i = 0; i < n; ++i) {
      const auto idx = static_cast<std::size_t>(i);
      if (rx_.truncated(idx)) {
        ++received_;
        core.count_drop(DropReason::oversize_datagram);
        continue;
      }
      const Endpoint from = rx_.source(idx);
      for_each_datagram(rx_, idx, [&](std::span<std::uint8_t> datagram) {
        ++received_;
        if (datagram.size() > max_datagram_) {
          core.count_drop(DropReason::oversize_datagram);
          return;
        }
        handle(core, from, datagram, now);
      });
    }
    // Frames reference the receive buffers: send them before the next recvmmsg reuses those.
    flush(core);
    if (static_cast<std::size_t>(n) < rx_.count()) break;
  }
}

void SocketDatapath::handle(SwitchCore& core, const Endpoint& from,
                            std::span<const std::uint8_t> datagram, TimePoint now) noexcept {
  std::uint8_t reply[SwitchCore::kReplyBufferSize];
  const Verdict v = core.receive(from, datagram, now, reply);
  switch (v.action) {
    case Verdict::Action::reply:
      if (tx_.full()) flush(core);
      tx_.add(&from, {reply, v.reply_size}, {});
      break;
    case Verdict::Action::unicast:
    case Verdict::Action::flood:
      core.for_each_egress(v, [&](const Port& port, const protocol::DataHeader& header) {
        if (tx_.full()) flush(core);
        std::uint8_t encoded[protocol::kDataHeaderSize];
        protocol::encode_data_header(header, encoded);
        tx_.add(&port.endpoint, encoded, v.frame);
      });
      break;
    case Verdict::Action::drop:
    case Verdict::Action::consumed: break;
  }
}

void SocketDatapath::flush(SwitchCore& core) noexcept {
  if (tx_.empty()) return;
  const std::size_t refused = tx_.flush(socket_.get());
  for (std::size_t i = 0; i < refused; ++i) core.count_drop(DropReason::tx_error);
  if (refused != 0) VS_DEBUG("sendmmsg refused %zu datagram(s): %s", refused, std::strerror(tx_.last_errno()));
}

void SocketDatapath::say_goodbye(SharedSwitch& sw) noexcept {
  std::lock_guard lock(sw.mutex);
  SwitchCore& core = sw.core;
  core.for_each_port_bye([&](const Port& port, std::span<const std::uint8_t> bye) {
    if (tx_.full()) flush(core);
    tx_.add(&port.endpoint, bye, {});
  });
  flush(core);
}

report::Facts SocketDatapath::facts() const {
  const UdpTxStats& t = tx_.stats();
  return {{"datapath", "socket"},
          {"batch", std::to_string(rx_.count())},
          {"udp_gro", gro_ ? "on" : "off"},
          {"udp_gso", tx_.gso() ? "on" : read(t.gso_fallbacks) != 0 ? "off (EIO fallback)" : "off"},
          {"rx_datagrams", std::to_string(received_)},
          {"rx_messages", std::to_string(received_messages_)},
          {"tx_trains", std::to_string(read(t.trains))},
          {"tx_train_datagrams", std::to_string(read(t.train_datagrams))}};
}

}  // namespace vswitch
