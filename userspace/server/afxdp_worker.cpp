#include "afxdp_worker.hpp"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstring>

#include "vswitch/vxlan.hpp"

namespace vswitch {

void PortRoutes::learn(PortIndex port, const underlay::UnderlayRoute& route) noexcept {
  Entry& e = routes_[port_slot(port)];
  e.port = port;
  e.route = route;
}

const underlay::UnderlayRoute* PortRoutes::find(PortIndex port) const noexcept {
  const std::size_t slot = port_slot(port);
  if (slot >= routes_.size() || routes_[slot].port != port) return nullptr;
  return &routes_[slot].route;
}

AfxdpWorker::AfxdpWorker(XskSocket socket, int kernel_socket, std::uint32_t batch, bool busy_poll,
                         std::size_t max_ports, std::uint16_t vxlan_port)
    : socket_(std::move(socket)), kernel_socket_(kernel_socket), batch_(batch), busy_poll_(busy_poll),
      max_ports_(max_ports), vxlan_port_(htons(vxlan_port)) {
  pending_.reserve(kMaxPending);
  inbound_.reserve(batch);
  received_.reserve(batch);
  plan_.reserve(batch + max_ports);
  plan_routes_.reserve(batch + max_ports);
  events_.reserve(16);
}

void AfxdpWorker::run(SharedSwitch& sw, HandshakeWorker& handshakes, PortRoutes& routes,
                      const std::atomic<bool>& stop) noexcept {
  EpochDomain::Reader* reader = sw.state.epochs.register_reader();
  while (!stop.load(std::memory_order_relaxed)) {
    socket_.reap_completions();
    socket_.refill();
    std::uint32_t idx = 0;
    const std::uint32_t n = xsk_ring_cons__peek(&socket_.rx(), batch_, &idx);
    if (n == 0) {
      if (socket_.tx_pending() > 0) socket_.flush_tx();  // the device refused some last time
      if (busy_poll_) {
        if (reader != nullptr) reader->quiescent();
        recvfrom(socket_.fd(), nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);  // drives NAPI
      } else {
        if (reader != nullptr) reader->offline();
        pollfd pfd{socket_.fd(), POLLIN, 0};
        poll(&pfd, 1, 100);  // also wakes the driver when the fill ring asks for it
      }
      continue;
    }
    if (reader != nullptr) reader->online();  // holds no keypair: the previous batch is done
    process(sw, handshakes, routes, idx, n);
    xsk_ring_cons__release(&socket_.rx(), n);
    submit_tx();
  }
  if (reader != nullptr) reader->offline();
}

void AfxdpWorker::process(SharedSwitch& sw, HandshakeWorker& handshakes, PortRoutes& routes, std::uint32_t idx,
                          std::uint32_t n) noexcept {
  bump(counters_.rx, n);
  bump(counters_.batches, 1);
  // The kernel copied these packets in on another core (or the NIC did): start pulling the
  // headers into this core's cache for the whole batch before the first one is parsed.
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::uint8_t* data = socket_.data(xsk_ring_cons__rx_desc(&socket_.rx(), idx + i)->addr);
    __builtin_prefetch(data);
    __builtin_prefetch(data + 64);
  }
  // A: open every message where it lies.
  const bool secure = sw.state.config.secure;
  for (std::uint32_t i = 0; i < n; ++i) {
    const xdp_desc* d = xsk_ring_cons__rx_desc(&socket_.rx(), idx + i);
    std::uint8_t* const packet = socket_.data(d->addr);
    const std::span<std::uint8_t> frame(packet, d->len);
    underlay::Packet p;
    if (const auto e = underlay::parse(frame, p); e != underlay::ParseError::none) {
      drops_.drop(e == underlay::ParseError::bad_source ? DropReason::bad_source_address : DropReason::bad_underlay);
      socket_.release(d->addr);
      continue;
    }
    const auto message = frame.subspan(p.header_size, p.payload_size);
    const Endpoint from = underlay::source_endpoint(frame, p);
    Inbound in;
    // The UDP destination port (in front of the message) tells VXLAN from the tunnel.
    std::uint16_t port = 0;
    std::memcpy(&port, packet + p.header_size - 6, sizeof port);
    const Intake intake = vxlan_port_ != 0 && port == vxlan_port_
                              ? open_vxlan(message, from, in, drops_)
                              : open_inbound(sw.state.sessions, secure, message, from, in, drops_);
    switch (intake) {
      case Intake::session:
        inbound_.push_back(in);
        received_.push_back({d->addr, p, false});
        break;
      case Intake::handshake:
        handshakes.submit(from, message);
        bump(counters_.to_control, 1);
        socket_.release(d->addr);
        break;
      case Intake::dropped: socket_.release(d->addr); break;
    }
  }
  // B and C, in rounds when floods fill the plan.
  const TimePoint now = Clock::now();
  std::size_t next = 0;
  do {
    decide_batch(sw, routes, now, next);
    transmit();
  } while (next < inbound_.size());
  for (const Received& r : received_)
    if (!r.reused) socket_.release(r.addr);
  inbound_.clear();
  received_.clear();
  if (!events_.empty()) log_events(events_);
}

void AfxdpWorker::decide_batch(SharedSwitch& sw, PortRoutes& routes, TimePoint now, std::size_t& next) noexcept {
  std::lock_guard lock(sw.mutex);
  drops_.merge_into(sw.state.core);
  while (next < inbound_.size() && plan_.size() + max_ports_ <= plan_.capacity()) {
    Inbound& in = inbound_[next];
    const std::size_t before = plan_.size();
    decide(sw.state, in, static_cast<std::uint32_t>(next), now, plan_, events_);
    if (in.port != kNoPort) {
      // The way back to the sender, mirrored from its (authenticated) packet: roaming included.
      const Received& r = received_[next];
      const std::span<const std::uint8_t> frame(socket_.data(r.addr), r.packet.header_size + r.packet.payload_size);
      underlay::UnderlayRoute route = underlay::reply_route(frame, r.packet);
      if (in.vxlan) route.local_port = route.remote_port = vxlan_port_;  // VXLAN goes to the VXLAN port
      routes.learn(in.port, route);
    }
    for (std::size_t i = before; i < plan_.size(); ++i) {
      const underlay::UnderlayRoute* route = routes.find(plan_[i].port);
      plan_routes_.push_back(route != nullptr ? Route{true, *route} : Route{});
    }
    ++next;
  }
}

void AfxdpWorker::transmit() noexcept {
  for (std::size_t i = 0; i < plan_.size(); ++i) {
    const Outbound& o = plan_[i];
    if (o.kind == Outbound::Kind::forward_in_place) send_in_place(o, plan_routes_[i]);
    else send_copy(o, plan_routes_[i]);
  }
  plan_.clear();
  plan_routes_.clear();
}

void AfxdpWorker::send_in_place(const Outbound& o, const Route& r) noexcept {
  Inbound& in = inbound_[o.inbound];
  Received& rx = received_[o.inbound];
  const std::size_t n = seal_frame(o, in.message, in.payload.size());
  if (n == 0) {
    drops_.drop(DropReason::expired_session);
    return;
  }
  if (!r.known) {
    send_via_kernel(o.endpoint, in.message.first(n));
    return;
  }
  // Keep the message where it is and put the egress headers right in front of it; the chunk's
  // headroom absorbs a longer header (e.g. IPv4 in, IPv6 out).
  const std::size_t hs = r.route.header_size();
  const std::uint64_t addr = rx.addr;
  if (hs > rx.packet.header_size + (addr - socket_.chunk_of(addr))) {
    drops_.drop(DropReason::no_frame);
    return;
  }
  const std::uint64_t start = addr + rx.packet.header_size - hs;
  underlay::write_headers(r.route, {socket_.data(start), hs + n}, n);
  queue_tx(start, hs + n);
  rx.reused = true;
  bump(counters_.tx_in_place, 1);
}

bool AfxdpWorker::alloc_message(const Route& r, std::uint64_t& chunk, std::span<std::uint8_t>& message) noexcept {
  const std::size_t hs = r.route.header_size();
  if (!socket_.alloc(chunk)) return false;
  message = std::span<std::uint8_t>(socket_.data(chunk) + hs, socket_.frame_size() - hs);
  return true;
}

void AfxdpWorker::finish(const Route& r, std::uint64_t chunk, std::span<std::uint8_t> message, std::size_t size) noexcept {
  const std::size_t hs = r.route.header_size();
  underlay::write_headers(r.route, {socket_.data(chunk), hs + size}, size);
  queue_tx(chunk, hs + size);
  bump(counters_.tx_copied, 1);
  (void)message;
}

void AfxdpWorker::send_copy(const Outbound& o, const Route& r) noexcept {
  const Inbound& in = inbound_[o.inbound];
  std::uint8_t scratch[protocol::v2::kMaxMessageSize];
  std::uint64_t chunk = 0;
  std::span<std::uint8_t> message;
  if (r.known) {
    if (!alloc_message(r, chunk, message)) {
      drops_.drop(DropReason::no_frame);
      return;
    }
  } else {
    message = scratch;  // rare: a port whose packets reached us through the kernel only
  }
  std::size_t n = 0;
  if (o.kind == Outbound::Kind::forward_copy) {
    const std::size_t frame = in.payload.size();
    if (o.keypair->overhead() + frame > message.size()) {
      if (r.known) socket_.release(chunk);
      drops_.drop(DropReason::no_frame);
      return;
    }
    std::memcpy(message.data() + protocol::kDataHeaderSize, in.payload.data(), frame);
    n = seal_frame(o, message, frame);
  } else if (o.kind == Outbound::Kind::vxlan) {
    // To another server: the plaintext frame behind a VXLAN header (by the kernel socket until a
    // datagram from that server has taught us its route).
    const std::size_t frame = in.payload.size();
    if (vxlan::kHeaderSize + frame > message.size()) {
      if (r.known) socket_.release(chunk);
      drops_.drop(DropReason::no_frame);
      return;
    }
    vxlan_header(o, message.first<vxlan::kHeaderSize>());
    std::memcpy(message.data() + vxlan::kHeaderSize, in.payload.data(), frame);
    n = vxlan::kHeaderSize + frame;
  } else {
    n = seal_reply(o, message);
  }
  if (n == 0) {
    if (r.known) socket_.release(chunk);
    drops_.drop(DropReason::expired_session);
    return;
  }
  if (r.known) finish(r, chunk, message, n);
  else send_via_kernel(o.endpoint, message.first(n));
}

void AfxdpWorker::send_via_kernel(const Endpoint& to, std::span<const std::uint8_t> message) noexcept {
  if (::sendto(kernel_socket_, message.data(), message.size(), MSG_DONTWAIT, to.sockaddr_ptr(), to.size()) >= 0)
    bump(counters_.tx_kernel, 1);
  else
    bump(counters_.tx_dropped, 1);
}

void AfxdpWorker::queue_tx(std::uint64_t addr, std::size_t len) noexcept {
  // A flood fans one packet out to many: send what is pending rather than grow the list.
  if (pending_.size() == kMaxPending) submit_tx();
  pending_.push_back({addr, static_cast<std::uint32_t>(len)});
}

void AfxdpWorker::submit_tx() noexcept {
  if (pending_.empty()) return;
  xsk_ring_prod& tx = socket_.tx();
  const auto want = static_cast<std::uint32_t>(pending_.size());
  // Completions free TX slots; in copy mode they arrive during the kick, so retry once.
  std::uint32_t room = xsk_prod_nb_free(&tx, want);
  if (room < want) {
    socket_.flush_tx();
    socket_.reap_completions();
    room = xsk_prod_nb_free(&tx, want);
  }
  const std::uint32_t n = room < want ? room : want;
  std::uint32_t idx = 0;
  if (n > 0 && xsk_ring_prod__reserve(&tx, n, &idx) == n) {
    for (std::uint32_t i = 0; i < n; ++i) {
      xdp_desc* d = xsk_ring_prod__tx_desc(&tx, idx + i);
      d->addr = pending_[i].addr;
      d->len = pending_[i].len;
    }
    xsk_ring_prod__submit(&tx, n);
  }
  for (std::size_t i = n; i < pending_.size(); ++i) socket_.release(pending_[i].addr);
  bump(counters_.tx_dropped, pending_.size() - n);
  pending_.clear();
  socket_.flush_tx();
}

}  // namespace vswitch
