#include "port_client.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "vswitch/log.hpp"
#include "vswitch/protocol.hpp"

namespace vswitch {
namespace {

std::uint32_t random_index() {
  std::uint32_t v = 0;
  while (v == 0)
    if (getrandom(&v, sizeof v, 0) != sizeof v) v = static_cast<std::uint32_t>(Clock::now().time_since_epoch().count());
  return v;
}

constexpr std::size_t kMaxFrame = protocol::max_frame_size(protocol::kMaxMtu);
constexpr std::size_t kGroBuffer = 65536;

std::size_t rx_messages(const ClientOffloads& o) {
  return !o.batching ? 1 : o.udp_gro ? PortClient::kGroBatch : PortClient::kBatch;
}

}  // namespace

PortClient::PortClient(TapDevice& tap, const ClientConfig& config)
    : tap_(tap),
      config_(config),
      rx_(rx_messages(config.offloads),
          config.offloads.udp_gro ? kGroBuffer : protocol::kDataHeaderSize + kMaxFrame + 1, config.offloads.udp_gro),
      // A GRO message of 64 KB holds at most ~1,100 datagrams of 60 bytes; room for a round
      // of them before the coalescer must flush early.
      to_tap_(tap, config.offloads, config.offloads.udp_gro ? 1024 : kBatch),
      stop_event_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  for (std::size_t q = 0; q < tap.queues(); ++q) {
    to_server_.push_back(std::make_unique<TapToServer>(tap, q, config.offloads, kMaxFrame));
    to_server_.back()->enable_gso(config.offloads.udp_gso);
  }
}

PortClient::~PortClient() { stop_transmit(); }

void PortClient::publish_session() noexcept {
  tx_server_index_.store(server_index_, std::memory_order_relaxed);
  tx_counter_.store(0, std::memory_order_relaxed);
  tx_socket_.store(socket_.get(), std::memory_order_release);  // last: the rest is visible with it
}

void PortClient::transmit_loop(std::size_t queue) noexcept {
  TapToServer& to_server = *to_server_[queue];
  pollfd fds[2] = {{tap_.queue_fd(queue), POLLIN, 0}, {stop_event_.get(), POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) {
      VS_ERROR("poll (transmit): %s", std::strerror(errno));
      return;
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents == 0) continue;
    const int socket = tx_socket_.load(std::memory_order_acquire);
    const std::uint32_t index = tx_server_index_.load(std::memory_order_relaxed);
    // Traffic proves the session to NAT boxes as well as a keepalive would.
    if (to_server.pump(socket, index, tx_counter_) != 0) tx_active_.store(true, std::memory_order_relaxed);
  }
}

void PortClient::stop_transmit() noexcept {
  if (transmit_threads_.empty()) return;
  // The count stays set (nobody reads it), so every thread's poll sees it.
  const std::uint64_t one = 1;
  if (::write(stop_event_.get(), &one, sizeof one) < 0) VS_ERROR("eventfd: %s", std::strerror(errno));
  for (auto& t : transmit_threads_) t.join();
  transmit_threads_.clear();
}

bool PortClient::ensure_socket() {
  if (socket_.valid()) return true;
  auto s = open_connected_udp_socket(config_.server);
  if (!s) {
    // No route yet, for instance: keep trying from the joining timer, say so once per change.
    if (s.error().message != last_socket_error_) VS_WARN("%s; retrying", s.error().message.c_str());
    last_socket_error_ = s.error().message;
    return false;
  }
  last_socket_error_.clear();
  socket_ = std::move(s).value();
  gro_ = config_.offloads.udp_gro && enable_udp_gro(socket_.get());
  if (config_.offloads.udp_gro && !gro_) VS_INFO("UDP GRO unavailable on this kernel; receiving datagram by datagram");
  return true;
}

void PortClient::send_control(std::span<const std::uint8_t> msg) {
  if (!ensure_socket()) return;
  if (::send(socket_.get(), msg.data(), msg.size(), 0) < 0) {
    ++stats_.send_errors;
    VS_DEBUG("send to server: %s", std::strerror(errno));
  } else {
    ++stats_.control_tx;
  }
}

void PortClient::send_hello(TimePoint now) {
  std::uint8_t buf[protocol::kHelloSize];
  protocol::encode(protocol::Hello{my_index_, config_.network, config_.mtu}, buf);
  send_control(buf);
  next_hello_ = now + config_.hello_interval;
  if (now >= next_unreachable_log_ && now - joining_since_ >= std::chrono::seconds(3)) {
    VS_WARN("no answer from server %s for %.0f s; still trying every %.0f s",
            config_.server.to_string().c_str(), seconds_between(joining_since_, now),
            std::chrono::duration<double>(config_.hello_interval).count());
    next_unreachable_log_ = now + std::chrono::seconds(30);
  }
}

void PortClient::start_joining(TimePoint now, const char* why) {
  if (state_ == State::joined) VS_WARN("%s; joining again", why);
  tx_socket_.store(-1, std::memory_order_release);
  state_ = State::joining;
  my_index_ = random_index();
  joining_since_ = now;
  next_unreachable_log_ = now + std::chrono::seconds(3);
  send_hello(now);
}

TimePoint PortClient::next_deadline() const {
  if (state_ == State::joining) return next_hello_;
  return std::min(next_keepalive_, last_heard_ + 3 * config_.keepalive);
}

void PortClient::on_timer(TimePoint now) {
  if (state_ == State::joining) {
    if (now >= next_hello_) send_hello(now);
    return;
  }
  if (now - last_heard_ >= 3 * config_.keepalive) {
    start_joining(now, "server silent for three keepalive intervals");
    return;
  }
  if (now >= next_keepalive_) {
    next_keepalive_ = now + config_.keepalive;
    if (tx_active_.exchange(false, std::memory_order_relaxed)) return;  // data did the job
    std::uint8_t buf[protocol::kKeepaliveSize];
    protocol::encode_keepalive({server_index_, tx_counter_.fetch_add(1, std::memory_order_relaxed)}, buf);
    send_control(buf);
  }
}

void PortClient::on_udp_readable(TimePoint now) {
  for (int round = 0; round < 16; ++round) {
    const int n = rx_.receive(socket_.get());
    if (n < 0) {
      if (errno == ECONNREFUSED) {
        if (state_ == State::joined) start_joining(now, "server refused (not running?)");
        continue;  // the error is consumed; keep draining
      }
      return;
    }
    stats_.udp_rx_messages += static_cast<std::uint64_t>(n);
    for (int i = 0; i < n; ++i) {
      const auto idx = static_cast<std::size_t>(i);
      if (rx_.truncated(idx)) {
        ++stats_.udp_rx;
        ++stats_.dropped_bad_message;
        continue;
      }
      for_each_datagram(rx_, idx, [&](std::span<std::uint8_t> datagram) {
        ++stats_.udp_rx;
        handle_message(datagram, now);
      });
    }
    // Frames point into the receive buffers: write them before the next receive reuses those.
    to_tap_.flush();
    if (static_cast<std::size_t>(n) < rx_.count()) return;
  }
}

void PortClient::handle_message(std::span<std::uint8_t> msg, TimePoint now) {
  protocol::MessageType type{};
  if (protocol::check_prefix(msg, type) != protocol::DecodeError::none) {
    ++stats_.dropped_bad_message;
    return;
  }
  switch (type) {
    case protocol::MessageType::data:
    case protocol::MessageType::keepalive: {
      protocol::DataHeader h{};
      protocol::decode(msg, h);
      if (state_ != State::joined || h.receiver_index != my_index_) {
        ++stats_.dropped_stale_index;
        return;
      }
      last_heard_ = now;
      if (type == protocol::MessageType::keepalive) return;
      if (msg.size() < protocol::kDataHeaderSize + protocol::kEthernetHeaderSize) {
        ++stats_.dropped_bad_message;
        return;
      }
      to_tap_.add(msg.subspan(protocol::kDataHeaderSize));
      return;
    }
    case protocol::MessageType::welcome: {
      protocol::Welcome w{};
      if (protocol::decode(msg, w) != protocol::DecodeError::none) {
        ++stats_.dropped_bad_message;
        return;
      }
      if (w.receiver_index != my_index_ || w.network_id != config_.network) {
        ++stats_.dropped_stale_index;
        return;
      }
      if (state_ == State::joined && w.sender_index == server_index_) return;  // duplicate
      if (w.mtu < config_.mtu) {
        VS_WARN("server grants MTU %u (asked %u); lowering %s", w.mtu, config_.mtu, tap_.name().c_str());
        if (auto s = tap_.set_mtu(w.mtu); !s) VS_WARN("%s", s.error().message.c_str());
        config_.mtu = w.mtu;
      }
      state_ = State::joined;
      server_index_ = w.sender_index;
      publish_session();
      last_heard_ = now;
      next_keepalive_ = now + config_.keepalive;
      ++stats_.joins;
      VS_INFO("joined network %llu on %s as port %u (mtu %u)",
              static_cast<unsigned long long>(config_.network), config_.server.to_string().c_str(),
              server_index_, w.mtu);
      return;
    }
    case protocol::MessageType::bye: {
      protocol::Bye b{};
      if (protocol::decode(msg, b) != protocol::DecodeError::none) {
        ++stats_.dropped_bad_message;
        return;
      }
      // A server that does not know our session cannot know our index either: its
      // BYE(unknown_session) echoes the index it could not find, which is its own for us.
      const bool unknown = b.reason == protocol::ByeReason::unknown_session;
      if (b.receiver_index != (unknown ? server_index_ : my_index_)) {
        ++stats_.dropped_stale_index;
        return;
      }
      if (state_ == State::joined)
        start_joining(now, b.reason == protocol::ByeReason::leaving ? "server is shutting down"
                                                                    : "server does not know this port");
      return;
    }
    case protocol::MessageType::hello: ++stats_.dropped_bad_message; return;
  }
}

int PortClient::run(SignalFd& signals) {
  if (!stop_event_.valid()) {
    VS_ERROR("eventfd: %s", std::strerror(errno));
    return 1;
  }
  start_joining(Clock::now(), "");
  const bool inline_transmit = !config_.offloads.tx_thread && to_server_.size() == 1;
  if (!inline_transmit)
    for (std::size_t q = 0; q < to_server_.size(); ++q) transmit_threads_.emplace_back([this, q] { transmit_loop(q); });
  for (;;) {
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_deadline() - Clock::now());
    pollfd fds[3] = {{signals.fd(), POLLIN, 0}, {inline_transmit ? tap_.fd() : -1, POLLIN, 0}, {socket_.get(), POLLIN, 0}};
    const int rc = ::poll(fds, socket_.valid() ? 3 : 2, std::max<int>(0, static_cast<int>(wait.count()) + 1));
    if (rc < 0 && errno != EINTR) {
      VS_ERROR("poll: %s", std::strerror(errno));
      stop_transmit();
      return 1;
    }
    const TimePoint now = Clock::now();
    if (fds[0].revents != 0) {
      const int sig = signals.read();
      if (sig == SIGUSR1) log_stats("counters");
      else if (sig != 0) break;
    }
    if (socket_.valid() && fds[2].revents != 0) on_udp_readable(now);
    if (fds[1].revents != 0 && to_server_[0]->pump(tx_socket_.load(std::memory_order_relaxed), server_index_, tx_counter_) != 0)
      tx_active_.store(true, std::memory_order_relaxed);
    on_timer(Clock::now());
  }
  stop_transmit();
  if (state_ == State::joined) {
    std::uint8_t buf[protocol::kByeSize];
    protocol::encode(protocol::Bye{server_index_, protocol::ByeReason::leaving}, buf);
    send_control(buf);
  }
  log_stats("leaving");
  return 0;
}

void PortClient::log_stats(const char* when) const {
  using ull = unsigned long long;
  TapTxStats t;
  UdpTxStats u;
  std::string per_queue;
  for (const auto& q : to_server_) {
    const TapTxStats& s = q->stats();
    bump(t.frames, read(s.frames));
    bump(t.super_frames, read(s.super_frames));
    bump(t.datagrams, read(s.datagrams));
    bump(t.send_errors, read(s.send_errors));
    bump(t.dropped_not_joined, read(s.dropped_not_joined));
    bump(t.dropped_bad_vnet, read(s.dropped_bad_vnet));
    bump(u.trains, read(q->udp_stats().trains));
    bump(u.train_datagrams, read(q->udp_stats().train_datagrams));
    bump(u.gso_fallbacks, read(q->udp_stats().gso_fallbacks));
    per_queue += (per_queue.empty() ? "" : " ") + std::to_string(read(s.frames));
  }
  const TapRxStats& r = to_tap_.stats();
  const CoalescerStats& c = to_tap_.coalescer_stats();
  if (to_server_.size() > 1) VS_INFO("%s: tap->server reads per queue: %s", when, per_queue.c_str());
  const double trains = double(read(u.trains));
  VS_INFO("%s: tap->server: reads %llu (super-frames %llu), datagrams %llu (in %llu UDP GSO trains of %.1f, "
          "gso fallbacks %llu), send errors %llu, dropped (not joined %llu, bad vnet header %llu)",
          when, ull(read(t.frames)), ull(read(t.super_frames)), ull(read(t.datagrams)), ull(read(u.trains)),
          trains > 0 ? double(read(u.train_datagrams)) / trains : 0.0, ull(read(u.gso_fallbacks)),
          ull(read(t.send_errors)), ull(read(t.dropped_not_joined)), ull(read(t.dropped_bad_vnet)));
  VS_INFO("%s: server->tap: datagrams %llu in %llu receives (udp gro %s), frames %llu, tap writes %llu "
          "(coalesced %llu super-frames of %.1f, bad checksum %llu), write errors %llu",
          when, ull(stats_.udp_rx), ull(stats_.udp_rx_messages), gro_ ? "on" : "off", ull(r.frames), ull(r.writes),
          ull(c.super_frames), c.super_frames ? double(c.merged_segments) / double(c.super_frames) : 0.0,
          ull(c.bad_checksum), ull(r.write_errors));
  VS_INFO("%s: session: joins %llu, control sent %llu (errors %llu), dropped (bad %llu, stale %llu)", when,
          ull(stats_.joins), ull(stats_.control_tx), ull(stats_.send_errors), ull(stats_.dropped_bad_message),
          ull(stats_.dropped_stale_index));
}

}  // namespace vswitch
