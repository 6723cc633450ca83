#include "socket_datapath.hpp"

#include <cerrno>
#include <cstring>
#include <optional>

#include <sys/epoll.h>

#include "vswitch/log.hpp"
#include "vswitch/vxlan.hpp"

namespace vswitch {
namespace {

// Without GRO receive buffers hold the largest message the switch accepts, plus one byte so
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
// Messages opened before the lock is taken for their decisions (a GRO message may hold hundreds).
constexpr std::size_t kChunk = 256;

// Why a source's datagrams are dropped, if they are.
std::optional<DropReason> refusal(SourceJudgement judged) {
  switch (judged) {
    case SourceJudgement::admitted: return std::nullopt;
    case SourceJudgement::impossible: return DropReason::bad_source_address;
    case SourceJudgement::denied: return DropReason::denied_source;
  }
  return DropReason::bad_source_address;
}

}  // namespace

Result<SocketDatapath> SocketDatapath::open(const Endpoint& listen, std::uint16_t mtu, std::size_t max_ports,
                                            Offloads offloads, UnderlayPolicy policy) {
  auto socket = open_udp_socket(listen);
  if (!socket) return socket.error();
  if (offloads.udp_gro && !enable_udp_gro(socket->get())) {
    VS_INFO("UDP GRO unavailable on this kernel; receiving datagram by datagram");
    offloads.udp_gro = false;
  }
  return SocketDatapath(std::move(socket).value(), mtu, max_ports, offloads, std::move(policy));
}

SocketDatapath::SocketDatapath(UniqueFd socket, std::uint16_t mtu, std::size_t max_ports, Offloads offloads,
                               UnderlayPolicy policy)
    : socket_(std::move(socket)),
      gro_(offloads.udp_gro),
      max_datagram_(protocol::v2::kOverhead + protocol::max_frame_size(mtu)),
      max_ports_(max_ports),
      policy_(std::move(policy)),
      rx_(gro_ ? kGroBatch : kBatch, buffer_size_for(max_datagram_, gro_), gro_),
      tx_(kTxCapacity),
      vxlan_tx_(kTxCapacity) {
  tx_.enable_gso(offloads.udp_gso);
  inbound_.reserve(kChunk);
  plan_.reserve(kChunk + max_ports);
  events_.reserve(16);
  arena_.resize(kTxCapacity * ((max_datagram_ + 63) / 64 * 64));
}

Status SocketDatapath::start(SharedSwitch& sw, HandshakeWorker& handshakes) {
  sw_ = &sw;
  handshakes_ = &handshakes;
  return Ok{};
}

Status SocketDatapath::enable_vxlan(const Endpoint& local) {
  auto socket = open_udp_socket(local);
  if (!socket) return Error{"--evpn-vtep: " + socket.error().message};
  UniqueFd ep(::epoll_create1(EPOLL_CLOEXEC));
  if (!ep.valid()) return errno_error("epoll_create1");
  for (const int fd : {socket_.get(), socket->get()}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (::epoll_ctl(ep.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return errno_error("epoll_ctl");
  }
  vxlan_socket_ = std::move(socket).value();
  epoll_ = std::move(ep);
  vxlan_rx_.emplace(kBatch, (vxlan::kHeaderSize + protocol::max_frame_size(protocol::kMaxMtu) + 64) / 64 * 64);
  vxlan_tx_.enable_gso(tx_.gso());
  return Ok{};
}

void SocketDatapath::on_readable(EpochDomain::Reader* reader) noexcept {
  EpochReaderScope online(reader);
  // At most 16 batches of each socket per wake-up: under a flood the loop still serves control
  // and timers.
  bool tunnel = true, vxlan = vxlan_rx_.has_value();
  for (int round = 0; round < 16 && (tunnel || vxlan); ++round) {
    TimePoint now = Clock::now();
    if (tunnel) tunnel = receive_tunnel(now);
    if (vxlan) vxlan = receive_vxlan(now);
    process(now);
    // Frames reference the receive buffers: send them before the next recvmmsg reuses those.
    flush();
    if (reader != nullptr) reader->quiescent();
  }
}

bool SocketDatapath::receive_tunnel(TimePoint& now) noexcept {
  const int n = rx_.receive(socket_.get());
  if (n <= 0) {
    if (n < 0 && errno != EINTR && errno != EAGAIN) VS_DEBUG("recvmmsg: %s", std::strerror(errno));
    return false;
  }
  bump(received_messages_, static_cast<std::uint64_t>(n));
  now = Clock::now();
  const bool secure = sw_->state.config.secure;
  for (int i = 0; i < n; ++i) {
    const auto idx = static_cast<std::size_t>(i);
    // The sender before anything else: a refused one's datagrams are counted, never read.
    const Endpoint from = rx_.source(idx);
    const std::optional<DropReason> refused = refusal(policy_.judge(from, UnderlayPolicy::Arrival::kernel_socket));
    if (rx_.truncated(idx)) {
      bump(received_);
      drops_.drop(refused.value_or(DropReason::oversize_datagram));
      continue;
    }
    for_each_datagram(rx_, idx, [&](std::span<std::uint8_t> datagram) {
      bump(received_);
      if (refused) {
        drops_.drop(*refused);
        return;
      }
      if (datagram.size() > max_datagram_) {
        drops_.drop(DropReason::oversize_datagram);
        return;
      }
      Inbound in;
      switch (open_inbound(sw_->state.sessions, secure, datagram, from, in, drops_)) {
        case Intake::session:
          inbound_.push_back(in);
          if (inbound_.size() == kChunk) process(now);
          break;
        case Intake::handshake: handshakes_->submit(from, datagram); break;
        case Intake::dropped: break;
      }
    });
  }
  return static_cast<std::size_t>(n) == rx_.count();
}

bool SocketDatapath::receive_vxlan(TimePoint& now) noexcept {
  UdpRxBatch& rx = *vxlan_rx_;
  const int n = rx.receive(vxlan_socket_.get());
  if (n <= 0) return false;
  bump(vxlan_received_, static_cast<std::uint64_t>(n));
  now = Clock::now();
  for (int i = 0; i < n; ++i) {
    const auto idx = static_cast<std::size_t>(i);
    const Endpoint from = rx.source(idx);
    if (const auto refused = refusal(policy_.judge(from, UnderlayPolicy::Arrival::kernel_socket))) {
      drops_.drop(*refused);
      continue;
    }
    if (rx.truncated(idx)) {
      drops_.drop(DropReason::oversize_datagram);
      continue;
    }
    Inbound in;
    if (open_vxlan(rx.data(idx), from, in, drops_) == Intake::session) {
      inbound_.push_back(in);
      if (inbound_.size() == kChunk) process(now);
    }
  }
  return static_cast<std::size_t>(n) == rx.count();
}

void SocketDatapath::process(TimePoint now) noexcept {
  std::size_t next = 0;
  // At least once: drops counted in phase A reach the switch's counters even when no message
  // needs a decision.
  do {
    {
      std::lock_guard lock(sw_->mutex);
      drops_.merge_into(sw_->state.core);
      // Each decision adds at most one entry per port: stop while the plan can take a flood.
      while (next < inbound_.size() && plan_.size() + max_ports_ <= plan_.capacity()) {
        decide(sw_->state, inbound_[next], static_cast<std::uint32_t>(next), now, plan_, events_);
        ++next;
      }
    }
    transmit();
    if (!events_.empty()) log_events(events_);
  } while (next < inbound_.size());
  inbound_.clear();
}

std::span<std::uint8_t> SocketDatapath::arena_take(std::size_t n) noexcept {
  if (arena_used_ + n > arena_.size()) flush();
  const std::span<std::uint8_t> out(arena_.data() + arena_used_, n);
  arena_used_ += (n + 63) / 64 * 64;
  return out;
}

void SocketDatapath::transmit() noexcept {
  for (const Outbound& o : plan_) {
    if (tx_.full()) flush();
    Inbound& in = inbound_[o.inbound];
    const std::size_t frame = in.payload.size();
    switch (o.kind) {
      case Outbound::Kind::forward_in_place: {
        const std::size_t n = seal_frame(o, in.message, frame);
        if (n == 0) drops_.drop(DropReason::expired_session);
        else tx_.add(&o.endpoint, {}, in.message.first(n));
        break;
      }
      case Outbound::Kind::forward_copy: {
        if (o.keypair->plaintext) {  // v1: a header of its own, the frame shared by every copy
          std::uint8_t header[protocol::kDataHeaderSize];
          if (seal_frame(o, header, frame) != 0) tx_.add(&o.endpoint, header, in.payload);
          break;
        }
        const auto buf = arena_take(o.keypair->overhead() + frame);
        std::memcpy(buf.data() + protocol::v2::kHeaderSize, in.payload.data(), frame);
        const std::size_t n = seal_frame(o, buf, frame);
        if (n == 0) drops_.drop(DropReason::expired_session);
        else tx_.add(&o.endpoint, {}, buf.first(n));
        break;
      }
      case Outbound::Kind::vxlan: {
        if (vxlan_tx_.full()) flush();
        std::uint8_t header[vxlan::kHeaderSize];
        vxlan_header(o, header);
        vxlan_tx_.add(&o.endpoint, header, in.payload);
        break;
      }
      case Outbound::Kind::keepalive_reply:
      case Outbound::Kind::pong: {
        std::uint8_t buf[64];
        if (const std::size_t n = seal_reply(o, buf); n != 0) tx_.add(&o.endpoint, {buf, n}, {});
        break;
      }
    }
  }
  plan_.clear();
}

void SocketDatapath::flush() noexcept {
  if (!tx_.empty()) {
    const std::size_t refused = tx_.flush(socket_.get());
    for (std::size_t i = 0; i < refused; ++i) drops_.drop(DropReason::tx_error);
    if (refused != 0) VS_DEBUG("sendmmsg refused %zu datagram(s): %s", refused, std::strerror(tx_.last_errno()));
  }
  if (!vxlan_tx_.empty()) {
    const std::size_t refused = vxlan_tx_.flush(vxlan_socket_.get());
    for (std::size_t i = 0; i < refused; ++i) drops_.drop(DropReason::tx_error);
  }
  arena_used_ = 0;
}

report::Facts SocketDatapath::facts() const {
  const UdpTxStats& t = tx_.stats();
  return {{"datapath", "socket"},
          {"batch", std::to_string(rx_.count())},
          {"udp_gro", gro_ ? "on" : "off"},
          {"udp_gso", tx_.gso() ? "on" : read(t.gso_fallbacks) != 0 ? "off (EIO fallback)" : "off"}};
}

void SocketDatapath::describe(metrics::Samples& out) const {
  using metrics::Section;
  using metrics::Type;
  const UdpTxStats& t = tx_.stats();
  metrics::Collector(out)
      .add("socket_rx_datagrams_total", "Datagrams the socket datapath received.", Type::counter, {}, Section::datapath,
           "rx_datagrams", received_)
      .add("socket_rx_messages_total", "Receive messages (fewer than datagrams with UDP GRO).", Type::counter, {},
           Section::datapath, "rx_messages", received_messages_)
      .add("socket_vxlan_rx_datagrams_total", "EVPN: VXLAN datagrams the VXLAN socket received.", Type::counter, {},
           Section::datapath, "vxlan_rx_datagrams", vxlan_received_)
      .add("socket_tx_trains_total", "UDP GSO trains sent.", Type::counter, {}, Section::datapath, "tx_trains",
           read(t.trains))
      .add("socket_tx_train_datagrams_total", "Datagrams sent inside UDP GSO trains.", Type::counter, {},
           Section::datapath, "tx_train_datagrams", read(t.train_datagrams));
}

}  // namespace vswitch
