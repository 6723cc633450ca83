#include "port_client.hpp"

#include <poll.h>
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

}  // namespace

PortClient::PortClient(TapDevice& tap, const ClientConfig& config)
    : tap_(tap),
      config_(config),
      tap_buffers_(kBatch * kMaxFrame),
      tap_sizes_(kBatch),
      tap_buffer_size_(kMaxFrame),
      rx_(kBatch, protocol::kDataHeaderSize + kMaxFrame + 1),
      tx_(kBatch) {}

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
  return true;
}

void PortClient::send_control(std::span<const std::uint8_t> msg) {
  if (!ensure_socket()) return;
  if (::send(socket_.get(), msg.data(), msg.size(), 0) < 0) {
    ++stats_.send_errors;
    VS_DEBUG("send to server: %s", std::strerror(errno));
  } else {
    ++stats_.udp_tx;
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
    std::uint8_t buf[protocol::kKeepaliveSize];
    protocol::encode_keepalive({server_index_, tx_counter_++}, buf);
    send_control(buf);
    next_keepalive_ = now + config_.keepalive;
  }
}

void PortClient::on_tap_readable() {
  std::size_t count = 0;
  while (count < kBatch) {
    std::uint8_t* buf = &tap_buffers_[count * tap_buffer_size_];
    const ssize_t n = ::read(tap_.fd(), buf, tap_buffer_size_);
    if (n < 0) break;  // EAGAIN: drained
    if (static_cast<std::size_t>(n) < protocol::kEthernetHeaderSize) continue;
    tap_sizes_[count++] = static_cast<std::size_t>(n);
  }
  stats_.tap_rx_frames += count;
  if (count == 0) return;
  if (state_ != State::joined || !socket_.valid()) {
    stats_.dropped_not_joined += count;
    return;
  }
  for (std::size_t i = 0; i < count; ++i) {
    std::uint8_t header[protocol::kDataHeaderSize];
    protocol::encode_data_header({server_index_, tx_counter_++}, header);
    tx_.add(nullptr, header, {&tap_buffers_[i * tap_buffer_size_], tap_sizes_[i]});
  }
  const std::size_t refused = tx_.flush(socket_.get());
  stats_.send_errors += refused;
  stats_.udp_tx += count - refused;
  // Traffic proves the session to NAT boxes as well as a keepalive would.
  next_keepalive_ = Clock::now() + config_.keepalive;
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
    for (int i = 0; i < n; ++i) {
      ++stats_.udp_rx;
      if (rx_.truncated(static_cast<std::size_t>(i))) {
        ++stats_.dropped_bad_message;
        continue;
      }
      handle_message(rx_.data(static_cast<std::size_t>(i)), now);
    }
    if (static_cast<std::size_t>(n) < kBatch) return;
  }
}

void PortClient::handle_message(std::span<const std::uint8_t> msg, TimePoint now) {
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
      const auto frame = protocol::data_frame(msg);
      if (::write(tap_.fd(), frame.data(), frame.size()) < 0)
        ++stats_.tap_write_errors;
      else
        ++stats_.tap_tx_frames;
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
      tx_counter_ = 0;
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
  start_joining(Clock::now(), "");
  for (;;) {
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_deadline() - Clock::now());
    pollfd fds[3] = {{signals.fd(), POLLIN, 0}, {tap_.fd(), POLLIN, 0}, {socket_.get(), POLLIN, 0}};
    const int rc = ::poll(fds, socket_.valid() ? 3 : 2, std::max<int>(0, static_cast<int>(wait.count()) + 1));
    if (rc < 0 && errno != EINTR) {
      VS_ERROR("poll: %s", std::strerror(errno));
      return 1;
    }
    const TimePoint now = Clock::now();
    if (fds[0].revents != 0 && signals.read() != 0) break;
    if (socket_.valid() && fds[2].revents != 0) on_udp_readable(now);
    if (fds[1].revents != 0) on_tap_readable();
    on_timer(Clock::now());
  }
  if (state_ == State::joined) {
    std::uint8_t buf[protocol::kByeSize];
    protocol::encode(protocol::Bye{server_index_, protocol::ByeReason::leaving}, buf);
    send_control(buf);
  }
  VS_INFO("leaving: tap rx %llu tx %llu, udp rx %llu tx %llu, dropped (not joined %llu, bad %llu, stale %llu), "
          "errors (tap write %llu, send %llu), joins %llu",
          static_cast<unsigned long long>(stats_.tap_rx_frames), static_cast<unsigned long long>(stats_.tap_tx_frames),
          static_cast<unsigned long long>(stats_.udp_rx), static_cast<unsigned long long>(stats_.udp_tx),
          static_cast<unsigned long long>(stats_.dropped_not_joined),
          static_cast<unsigned long long>(stats_.dropped_bad_message),
          static_cast<unsigned long long>(stats_.dropped_stale_index),
          static_cast<unsigned long long>(stats_.tap_write_errors),
          static_cast<unsigned long long>(stats_.send_errors), static_cast<unsigned long long>(stats_.joins));
  return 0;
}

}  // namespace vswitch
