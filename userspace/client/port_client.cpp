#include "port_client.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "vswitch/log.hpp"
#include "vswitch/protocol.hpp"

namespace vswitch {
namespace {

constexpr std::size_t kMaxFrame = protocol::max_frame_size(protocol::kMaxMtu);
constexpr std::size_t kGroBuffer = 65536;

std::size_t rx_messages(const ClientOffloads& o) {
  return !o.batching ? 1 : o.udp_gro ? PortClient::kGroBatch : PortClient::kBatch;
}

// A DATA-family message (opened by the session's data path) or a handshake/control one.
bool is_data_family(std::span<const std::uint8_t> msg) {
  if (msg.size() < 2) return false;
  if (msg[0] == protocol::v2::kVersion) return msg[1] == VSWITCH_V2_DATA || msg[1] == VSWITCH_V2_CONTROL;
  return msg[0] == protocol::kVersion && (msg[1] == VSWITCH_V1_DATA || msg[1] == VSWITCH_V1_KEEPALIVE);
}

}  // namespace

PortClient::PortClient(TapDevice& tap, const ClientConfig& config, std::optional<handshake::ClientHandshake> handshake)
    : tap_(tap),
      config_(config),
      session_(config.session, std::move(handshake), epochs_),
      rx_(rx_messages(config.offloads),
          config.offloads.udp_gro ? kGroBuffer : protocol::v2::kOverhead + kMaxFrame + 1, config.offloads.udp_gro),
      // A GRO message of 64 KB holds at most ~1,100 datagrams of 60 bytes; room for a round
      // of them before the coalescer must flush early.
      to_tap_(tap, config.offloads, config.offloads.udp_gro ? 1024 : kBatch),
      stop_event_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  const std::size_t max_frame = protocol::max_frame_size(config.session.mtu);
  for (std::size_t q = 0; q < tap.queues(); ++q) {
    to_server_.push_back(std::make_unique<TapToServer>(tap, q, config.offloads, max_frame, session_.secure()));
    to_server_.back()->enable_gso(config.offloads.udp_gso);
  }
}

PortClient::~PortClient() { stop_transmit(); }

void PortClient::transmit_loop(std::size_t queue) noexcept {
  TapToServer& to_server = *to_server_[queue];
  EpochDomain::Reader* reader = epochs_.register_reader();
  pollfd fds[2] = {{tap_.queue_fd(queue), POLLIN, 0}, {stop_event_.get(), POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) {
      VS_ERROR("poll (transmit): %s", std::strerror(errno));
      return;
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents == 0) continue;
    EpochReaderScope online(reader);  // the keypair stays valid until this round ends
    to_server.pump(tx_socket_.load(std::memory_order_acquire), session_.tx_keypair());
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
    // No route yet, for instance: keep trying from the timer, say so once per change.
    if (s.error().message != last_socket_error_) VS_WARN("%s; retrying", s.error().message.c_str());
    last_socket_error_ = s.error().message;
    return false;
  }
  last_socket_error_.clear();
  socket_ = std::move(s).value();
  gro_ = config_.offloads.udp_gro && enable_udp_gro(socket_.get());
  if (config_.offloads.udp_gro && !gro_) VS_INFO("UDP GRO unavailable on this kernel; receiving datagram by datagram");
  tx_socket_.store(socket_.get(), std::memory_order_release);
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

void PortClient::deliver(ClientSession::Output& out) {
  for (const auto& m : out.messages) send_control(m);
  for (const auto& e : out.events) log_event(e);
  out.clear();
}

void PortClient::log_event(const ClientEvent& e) {
  const std::string server = config_.server.to_string();
  const auto net = static_cast<unsigned long long>(config_.session.network);
  switch (e.kind) {
    case ClientEvent::Kind::joined:
      VS_INFO("joined network %llu on %s (%s, mtu %u)", net, server.c_str(),
              session_.secure() ? std::string(to_string(session_.tx_keypair()->send.suite())).c_str() : "INSECURE",
              session_.mtu());
      return;
    case ClientEvent::Kind::rekeyed: VS_DEBUG("new session with %s", server.c_str()); return;
    case ClientEvent::Kind::mtu_lowered:
      VS_WARN("server grants MTU %llu; lowering %s", static_cast<unsigned long long>(e.value), tap_.name().c_str());
      if (auto s = tap_.set_mtu(static_cast<unsigned>(e.value)); !s) VS_WARN("%s", s.error().message.c_str());
      return;
    case ClientEvent::Kind::no_answer:
      if (session_.secure())
        VS_WARN("no answer from server %s for %llu s. Check that its public key is %s (--server-key), that "
                "this client's key %s is in its members file for network %llu, and that UDP to it is not blocked",
                server.c_str(), static_cast<unsigned long long>(e.value), config_.server_key.c_str(),
                config_.public_key.c_str(), net);
      else
        VS_WARN("no answer from server %s for %llu s; still trying", server.c_str(), static_cast<unsigned long long>(e.value));
      return;
    case ClientEvent::Kind::server_lost:
      VS_WARN("lost the server %s (%s); %s", server.c_str(), e.reason.c_str(),
              session_.secure() ? "a new handshake (the session stays in use until one completes)" : "joining again");
      return;
    case ClientEvent::Kind::server_goodbye:
      if (e.reason == "revoked")
        VS_ERROR("the server %s removed this client's key (%s) from network %llu; trying again", server.c_str(),
                 config_.public_key.c_str(), net);
      else if (e.reason == "shutdown")
        VS_WARN("server %s is shutting down; joining again", server.c_str());
      else
        VS_WARN("server %s ended the session (%s); joining again", server.c_str(), e.reason.c_str());
      return;
    case ClientEvent::Kind::cookie: VS_INFO("server %s is under load: retrying with its cookie", server.c_str()); return;
    case ClientEvent::Kind::expired: VS_WARN("the session expired without a new one; joining again"); return;
    case ClientEvent::Kind::needs_keys:
    case ClientEvent::Kind::needs_insecure: {
      const TimePoint now = Clock::now();
      if (now < next_hint_log_) return;
      next_hint_log_ = now + std::chrono::seconds(30);
      if (e.kind == ClientEvent::Kind::needs_keys)
        VS_ERROR("server %s requires authentication (protocol v2): run vport with --server-key and --key-file "
                 "instead of --insecure",
                 server.c_str());
      else
        VS_ERROR("server %s runs the insecure protocol v1 (--insecure) and cannot authenticate this client; "
                 "start it with --key-file and --members, or use --insecure on both sides",
                 server.c_str());
      return;
    }
  }
}

void PortClient::on_udp_readable(TimePoint now) {
  for (int round = 0; round < 16; ++round) {
    const int n = rx_.receive(socket_.get());
    if (n < 0) {
      if (errno == ECONNREFUSED) {
        session_.on_unreachable(now, out_);
        deliver(out_);
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
    deliver(out_);
    if (static_cast<std::size_t>(n) < rx_.count()) return;
  }
}

void PortClient::handle_message(std::span<std::uint8_t> msg, TimePoint now) {
  if (!is_data_family(msg)) {
    session_.on_control(msg, now, out_);
    return;
  }
  if (const auto frame = session_.on_data(msg, now, out_)) to_tap_.add(*frame);
}

int PortClient::run(SignalFd& signals) {
  if (!stop_event_.valid()) {
    VS_ERROR("eventfd: %s", std::strerror(errno));
    return 1;
  }
  ensure_socket();
  session_.start(Clock::now(), out_);
  deliver(out_);
  const bool inline_transmit = !config_.offloads.tx_thread && to_server_.size() == 1;
  if (!inline_transmit)
    for (std::size_t q = 0; q < to_server_.size(); ++q) transmit_threads_.emplace_back([this, q] { transmit_loop(q); });
  for (;;) {
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(session_.next_deadline() - Clock::now());
    const int timeout = static_cast<int>(std::clamp<std::int64_t>(wait.count() + 1, 0, 1000));
    pollfd fds[3] = {{signals.fd(), POLLIN, 0}, {inline_transmit ? tap_.fd() : -1, POLLIN, 0}, {socket_.get(), POLLIN, 0}};
    const int rc = ::poll(fds, socket_.valid() ? 3 : 2, timeout);
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
    if (fds[1].revents != 0) to_server_[0]->pump(tx_socket_.load(std::memory_order_relaxed), session_.tx_keypair());
    session_.on_timer(Clock::now(), out_);
    deliver(out_);
  }
  stop_transmit();
  if (const auto bye = session_.goodbye(); !bye.empty()) send_control(bye);
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
    bump(t.dropped_too_big, read(s.dropped_too_big));
    bump(u.trains, read(q->udp_stats().trains));
    bump(u.train_datagrams, read(q->udp_stats().train_datagrams));
    bump(u.gso_fallbacks, read(q->udp_stats().gso_fallbacks));
    per_queue += (per_queue.empty() ? "" : " ") + std::to_string(read(s.frames));
  }
  const TapRxStats& r = to_tap_.stats();
  const CoalescerStats& c = to_tap_.coalescer_stats();
  const ClientSession::Stats& ss = session_.stats();
  if (to_server_.size() > 1) VS_INFO("%s: tap->server reads per queue: %s", when, per_queue.c_str());
  const double trains = double(read(u.trains));
  VS_INFO("%s: tap->server: reads %llu (super-frames %llu), datagrams %llu (in %llu UDP GSO trains of %.1f, "
          "gso fallbacks %llu), send errors %llu, dropped (not joined %llu, bad vnet header %llu, too big %llu)",
          when, ull(read(t.frames)), ull(read(t.super_frames)), ull(read(t.datagrams)), ull(read(u.trains)),
          trains > 0 ? double(read(u.train_datagrams)) / trains : 0.0, ull(read(u.gso_fallbacks)),
          ull(read(t.send_errors)), ull(read(t.dropped_not_joined)), ull(read(t.dropped_bad_vnet)),
          ull(read(t.dropped_too_big)));
  VS_INFO("%s: server->tap: datagrams %llu in %llu receives (udp gro %s), frames %llu, tap writes %llu "
          "(coalesced %llu super-frames of %.1f, bad checksum %llu), write errors %llu",
          when, ull(stats_.udp_rx), ull(stats_.udp_rx_messages), gro_ ? "on" : "off", ull(r.frames), ull(r.writes),
          ull(c.super_frames), c.super_frames ? double(c.merged_segments) / double(c.super_frames) : 0.0,
          ull(c.bad_checksum), ull(r.write_errors));
  VS_INFO("%s: session: joins %llu, rekeys %llu, handshakes sent %llu, pings %llu, control sent %llu (errors %llu), "
          "dropped (bad %llu, stale %llu, replay %llu, truncated %llu)",
          when, ull(ss.joins), ull(ss.rekeys), ull(ss.handshakes_sent), ull(ss.pings_sent), ull(stats_.control_tx),
          ull(stats_.send_errors), ull(ss.dropped_bad), ull(ss.dropped_stale), ull(ss.dropped_replay),
          ull(stats_.dropped_bad_message));
}

}  // namespace vswitch
