#include "afxdp_worker.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cstring>
#include <thread>

namespace vswitch {
namespace {

constexpr std::size_t slot_of(PortIndex index) { return index & 0xffff; }

}  // namespace

void PortRoutes::learn(PortIndex port, const underlay::UnderlayRoute& route) noexcept {
  Entry& e = routes_[slot_of(port)];
  e.port = port;
  e.route = route;
}

const underlay::UnderlayRoute* PortRoutes::find(PortIndex port) const noexcept {
  const std::size_t slot = slot_of(port);
  if (slot >= routes_.size() || routes_[slot].port != port) return nullptr;
  return &routes_[slot].route;
}

AfxdpWorker::AfxdpWorker(XskSocket socket, int kernel_socket, std::uint32_t batch, bool busy_poll)
    : socket_(std::move(socket)), kernel_socket_(kernel_socket), batch_(batch), busy_poll_(busy_poll) {
  pending_.reserve(kMaxPending);
}

void AfxdpWorker::run(SharedSwitch& sw, PortRoutes& routes, const std::atomic<bool>& stop) noexcept {
  while (!stop.load(std::memory_order_relaxed)) {
    socket_.reap_completions();
    socket_.refill();
    std::uint32_t idx = 0;
    const std::uint32_t n = xsk_ring_cons__peek(&socket_.rx(), batch_, &idx);
    if (n == 0) {
      if (socket_.tx_pending() > 0) socket_.flush_tx();  // the device refused some last time
      if (busy_poll_) {
        recvfrom(socket_.fd(), nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);  // drives NAPI
      } else {
        pollfd pfd{socket_.fd(), POLLIN, 0};
        poll(&pfd, 1, 100);  // also wakes the driver when the fill ring asks for it
      }
      continue;
    }
    process(sw, routes, idx, n);
    xsk_ring_cons__release(&socket_.rx(), n);
    submit_tx();
  }
}

void AfxdpWorker::process(SharedSwitch& sw, PortRoutes& routes, std::uint32_t idx,
                          std::uint32_t n) noexcept {
  bump(counters_.rx, n);
  bump(counters_.batches, 1);
  // The kernel copied these packets in on another core (or the NIC did): start pulling the
  // headers into this core's cache for the whole batch before the first one is parsed.
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::uint8_t* data = socket_.data(xsk_ring_cons__rx_desc(&socket_.rx(), idx + i)->addr);
    __builtin_prefetch(data);
    __builtin_prefetch(data + 64);  // the tunnel and inner Ethernet headers end past 64 bytes
  }
  std::lock_guard lock(sw.mutex);
  const TimePoint now = Clock::now();
  for (std::uint32_t i = 0; i < n; ++i) {
    const xdp_desc* d = xsk_ring_cons__rx_desc(&socket_.rx(), idx + i);
    handle(sw.core, routes, d->addr, d->len, now);
  }
}

void AfxdpWorker::handle(SwitchCore& core, PortRoutes& routes, std::uint64_t addr, std::uint32_t len,
                         TimePoint now) noexcept {
  std::uint8_t* const packet = socket_.data(addr);
  const std::span<const std::uint8_t> frame(packet, len);
  underlay::Packet p;
  if (underlay::parse(frame, p) != underlay::ParseError::none) {
    core.count_drop(DropReason::bad_underlay);
    socket_.release(addr);
    return;
  }
  const auto payload = frame.subspan(p.header_size, p.payload_size);
  std::uint8_t reply[SwitchCore::kReplyBufferSize];
  const Verdict v = core.receive(underlay::source_endpoint(frame, p), payload, now, reply);
  bool chunk_reused = false;
  if (v.ingress != kNoPort || v.action == Verdict::Action::reply) {
    // The way back to the sender: remembered for its port, and where a reply goes.
    const underlay::UnderlayRoute back = underlay::reply_route(frame, p);
    if (v.ingress != kNoPort) routes.learn(v.ingress, back);
    if (v.action == Verdict::Action::reply && !build(back, {reply, v.reply_size}, nullptr))
      core.count_drop(DropReason::no_frame);
  }
  if (v.action == Verdict::Action::unicast || v.action == Verdict::Action::flood) {
    core.for_each_egress(v, [&](const Port& port, const protocol::DataHeader& header) {
      const underlay::UnderlayRoute* route = routes.find(port.index);
      if (route == nullptr) {
        send_via_kernel(port, header, v.frame);
      } else if (v.action == Verdict::Action::flood) {
        if (!build(*route, payload, &header)) core.count_drop(DropReason::no_frame);
      } else if (forward_in_place(*route, header, addr, p)) {
        chunk_reused = true;
      } else {
        core.count_drop(DropReason::no_frame);
      }
    });
  }
  if (!chunk_reused) socket_.release(addr);
}

bool AfxdpWorker::forward_in_place(const underlay::UnderlayRoute& route, const protocol::DataHeader& header,
                                   std::uint64_t addr, const underlay::Packet& p) noexcept {
  // Keep the message where it is and put the egress headers right in front of it; the chunk's
  // headroom absorbs a longer header (e.g. IPv4 in, IPv6 out).
  const std::size_t hs = route.header_size();
  if (hs > p.header_size + (addr - socket_.chunk_of(addr))) return false;
  const std::uint64_t start = addr + p.header_size - hs;
  std::uint8_t* out = socket_.data(start);
  protocol::encode_data_header(header, {out + hs, protocol::kDataHeaderSize});
  underlay::write_headers(route, {out, hs + p.payload_size}, p.payload_size);
  queue_tx(start, hs + p.payload_size);
  bump(counters_.tx_in_place, 1);
  return true;
}

void AfxdpWorker::send_via_kernel(const Port& port, const protocol::DataHeader& header,
                                  std::span<const std::uint8_t> frame) noexcept {
  // Rare: the port's packets reached us through the kernel socket only.
  std::uint8_t encoded[protocol::kDataHeaderSize];
  protocol::encode_data_header(header, encoded);
  iovec iov[2] = {{encoded, sizeof encoded}, {const_cast<std::uint8_t*>(frame.data()), frame.size()}};
  msghdr msg{};
  msg.msg_name = const_cast<sockaddr*>(port.endpoint.sockaddr_ptr());
  msg.msg_namelen = port.endpoint.size();
  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  if (sendmsg(kernel_socket_, &msg, MSG_DONTWAIT) >= 0) bump(counters_.tx_kernel, 1);
  else bump(counters_.tx_dropped, 1);
}

bool AfxdpWorker::build(const underlay::UnderlayRoute& route, std::span<const std::uint8_t> payload,
                        const protocol::DataHeader* data_header) noexcept {
  std::uint64_t chunk = 0;
  const std::size_t hs = route.header_size();
  if (hs + payload.size() > socket_.frame_size() || !socket_.alloc(chunk)) return false;
  std::uint8_t* out = socket_.data(chunk);
  std::memcpy(out + hs, payload.data(), payload.size());
  if (data_header != nullptr) protocol::encode_data_header(*data_header, {out + hs, protocol::kDataHeaderSize});
  underlay::write_headers(route, {out, hs + payload.size()}, payload.size());
  queue_tx(chunk, hs + payload.size());
  bump(counters_.tx_copied, 1);
  return true;
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

void AfxdpWorker::say_goodbye(SharedSwitch& sw, PortRoutes& routes) noexcept {
  {
    std::lock_guard lock(sw.mutex);
    sw.core.for_each_port_bye([&](const Port& port, std::span<const std::uint8_t> bye) {
      if (const auto* route = routes.find(port.index)) build(*route, bye, nullptr);
    });
  }
  submit_tx();
  // Give copy-mode transmission a moment to complete before the socket closes.
  for (int i = 0; i < 20 && socket_.reap_completions() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

}  // namespace vswitch
