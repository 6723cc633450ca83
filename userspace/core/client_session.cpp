#include "vswitch/client_session.hpp"

#include <sodium.h>

#include <algorithm>

namespace vswitch {
namespace v2 = protocol::v2;
namespace {

std::uint32_t random_index() {
  std::uint32_t v = 0;
  while (v == 0) v = randombytes_random();
  return v;
}

}  // namespace

ClientSession::ClientSession(const ClientSessionConfig& config, std::optional<handshake::ClientHandshake> handshake,
                             EpochDomain& epochs)
    : config_(config), handshake_(std::move(handshake)), epochs_(epochs) {
  for (auto& kp : pool_) free_.push_back(&kp);
}

Keypair* ClientSession::take_keypair() {
  if (free_.empty()) reclaim();
  if (free_.empty()) return nullptr;
  Keypair* kp = free_.back();
  free_.pop_back();
  return kp;
}

void ClientSession::retire(Keypair*& kp) noexcept {
  if (kp == nullptr) return;
  if (tx_.load(std::memory_order_relaxed) == kp) tx_.store(nullptr, std::memory_order_release);
  kp->local_index.store(0, std::memory_order_seq_cst);
  retired_.emplace_back(kp, epochs_.advance());
  kp = nullptr;
}

void ClientSession::reclaim() noexcept {
  for (std::size_t i = 0; i < retired_.size();) {
    if (epochs_.safe(retired_[i].second)) {
      retired_[i].first->reset();
      free_.push_back(retired_[i].first);
      retired_[i] = retired_.back();
      retired_.pop_back();
    } else {
      ++i;
    }
  }
}

Keypair* ClientSession::find(std::uint32_t index) const noexcept {
  if (current_ != nullptr && current_->local_index.load(std::memory_order_relaxed) == index) return current_;
  if (previous_ != nullptr && previous_->local_index.load(std::memory_order_relaxed) == index) return previous_;
  return nullptr;
}

Duration ClientSession::retry_interval(TimePoint now) const noexcept {
  return now - joining_since_ < kRetryFastFor ? config_.retry : config_.slow_retry;
}

void ClientSession::start(TimePoint now, Output& out) { begin_joining(now, out); }

void ClientSession::begin_joining(TimePoint now, Output& out) {
  attempting_ = true;
  joining_since_ = now;
  next_no_answer_event_ = now + std::chrono::seconds(3);
  attempt_index_ = random_index();
  token_ = 0;
  send_attempt(now, out);
}

void ClientSession::send_attempt(TimePoint now, Output& out) {
  std::vector<std::uint8_t> msg;
  if (handshake_) {
    attempt_index_ = random_index();  // a fresh index per initiation, as WireGuard
    v2::InitiationPayload p;
    p.timestamp = handshake::tai64n(std::chrono::system_clock::now());
    p.network = config_.network;
    p.suites = config_.suites;
    p.mtu = config_.mtu;
    msg.resize(v2::initiation::kSize);
    handshake_->create_initiation(attempt_index_, p, now, std::span<std::uint8_t, v2::initiation::kSize>(msg));
  } else {
    // The same index and token until the join completes: the token binds them.
    msg.resize(protocol::kHelloSize);
    protocol::encode(protocol::Hello{attempt_index_, config_.network, config_.mtu, token_}, msg);
  }
  out.messages.push_back(std::move(msg));
  ++stats_.handshakes_sent;
  // Jitter, so that clients restarted together do not stay in step.
  next_attempt_ = now + retry_interval(now) + std::chrono::milliseconds(randombytes_uniform(334));
}

TimePoint ClientSession::next_deadline() const noexcept {
  TimePoint t = TimePoint::max();
  if (attempting_) t = std::min(t, next_attempt_);
  if (joined_ && current_ != nullptr) {
    t = std::min(t, last_ping_ + config_.keepalive);
    t = std::min(t, last_rx_ + 3 * config_.keepalive);
    if (handshake_) t = std::min(t, current_->created + (attempting_ ? kRejectAfterTime : kRekeyAfterTime));
  }
  if (!retired_.empty()) t = std::min(t, last_now_ + std::chrono::milliseconds(100));
  return t;
}

void ClientSession::on_timer(TimePoint now, Output& out) {
  last_now_ = now;
  reclaim();
  if (attempting_ && now >= next_attempt_) {
    if (!joined_ && now >= next_no_answer_event_) {
      out.events.push_back({ClientEvent::Kind::no_answer,
                            static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(now - joining_since_).count()),
                            {}});
      next_no_answer_event_ = now + std::chrono::seconds(30);
    }
    send_attempt(now, out);
  }
  if (!joined_ || current_ == nullptr) return;
  if (handshake_) {
    const Duration age = now - current_->created;
    if (age >= kRejectAfterTime) {
      out.events.push_back({ClientEvent::Kind::expired, 0, {}});
      retire(current_);
      retire(previous_);
      joined_ = false;
      begin_joining(now, out);
      return;
    }
    if (!attempting_ && (age >= kRekeyAfterTime || current_->sent() >= kRekeyAfterMessages)) {
      attempting_ = true;
      send_attempt(now, out);
    }
  }
  if (now - last_rx_ >= 3 * config_.keepalive) {
    out.events.push_back({ClientEvent::Kind::server_lost, 0, "silent for three keepalive intervals"});
    if (handshake_) {
      // Keep the session (the path may come back); a new handshake replaces it if the server lost it.
      last_rx_ = now;
      if (!attempting_) {
        attempting_ = true;
        joining_since_ = now;
        send_attempt(now, out);
      }
    } else {
      retire(current_);
      retire(previous_);
      joined_ = false;
      begin_joining(now, out);
    }
    return;
  }
  // Every interval, also while frames arrive: a port that only receives sends nothing else, and
  // the server removes a port it has not heard from for --port-timeout.
  if (now - last_ping_ >= config_.keepalive) send_ping(now, out);
}

void ClientSession::send_ping(TimePoint now, Output& out) {
  const auto counter = current_->take_counters(1);
  if (!counter) return;
  std::vector<std::uint8_t> msg(v2::kOverhead + v2::kPingSize);
  std::size_t n = 0;
  if (current_->plaintext) {
    n = seal(*current_, MessageKind::keepalive, *counter, msg, 0);
  } else {
    const std::size_t body =
        v2::encode(v2::Control{v2::ControlOp::ping, ++ping_sequence_, {}}, std::span(msg).subspan(v2::kHeaderSize));
    n = seal(*current_, MessageKind::control, *counter, msg, body);
  }
  msg.resize(n);
  out.messages.push_back(std::move(msg));
  last_ping_ = now;
  ++stats_.pings_sent;
}

void ClientSession::on_control(std::span<const std::uint8_t> msg, TimePoint now, Output& out) {
  last_now_ = now;
  if (msg.size() < 2) {
    ++stats_.dropped_bad;
    return;
  }
  if (msg[0] == v2::kVersion) {
    v2::MessageType type{};
    if (!handshake_ || v2::classify(msg, type) != protocol::DecodeError::none) {
      ++stats_.dropped_bad;
      return;
    }
    if (type == v2::MessageType::response) return on_response(msg, now, out);
    if (type == v2::MessageType::cookie_reply && handshake_->consume_cookie_reply(msg, now)) {
      out.events.push_back({ClientEvent::Kind::cookie, 0, {}});
      next_attempt_ = now;  // retry at once, now with mac2
      return;
    }
    ++stats_.dropped_bad;
    return;
  }
  protocol::MessageType type{};
  if (msg[0] != protocol::kVersion || protocol::check_prefix(msg, type) != protocol::DecodeError::none) {
    ++stats_.dropped_bad;
    return;
  }
  if (type == protocol::MessageType::bye) return on_v1_bye(msg, now, out);
  if (handshake_) {
    ++stats_.dropped_bad;  // v1 join messages mean nothing to a secure client
    return;
  }
  if (type == protocol::MessageType::welcome) return on_welcome(msg, now, out);
  if (type == protocol::MessageType::challenge) {
    protocol::Challenge c{};
    if (protocol::decode(msg, c) != protocol::DecodeError::none || !attempting_ || c.receiver_index != attempt_index_) {
      ++stats_.dropped_stale;
      return;
    }
    token_ = c.token;
    send_attempt(now, out);
    return;
  }
  ++stats_.dropped_bad;
}

void ClientSession::on_v1_bye(std::span<const std::uint8_t> msg, TimePoint now, Output& out) {
  protocol::Bye b{};
  if (protocol::decode(msg, b) != protocol::DecodeError::none) {
    ++stats_.dropped_bad;
    return;
  }
  // Version hints name the attempt they answer; they only produce a log line.
  if (b.reason == protocol::ByeReason::authentication_required || b.reason == protocol::ByeReason::insecure_only) {
    if (!attempting_ || b.receiver_index != attempt_index_) {
      ++stats_.dropped_stale;
      return;
    }
    if (b.reason == protocol::ByeReason::authentication_required && !handshake_)
      out.events.push_back({ClientEvent::Kind::needs_keys, 0, {}});
    else if (b.reason == protocol::ByeReason::insecure_only && handshake_)
      out.events.push_back({ClientEvent::Kind::needs_insecure, 0, {}});
    return;
  }
  if (handshake_ || !joined_ || current_ == nullptr) {
    ++stats_.dropped_stale;  // an unauthenticated BYE never ends a secure session
    return;
  }
  // A server that does not know our session cannot know our index either: its
  // BYE(unknown_session) echoes the index it could not find, which is its own for us.
  const bool unknown = b.reason == protocol::ByeReason::unknown_session;
  if (b.receiver_index != (unknown ? current_->remote_index : current_->local_index.load(std::memory_order_relaxed))) {
    ++stats_.dropped_stale;
    return;
  }
  out.events.push_back({ClientEvent::Kind::server_goodbye, 0,
                        b.reason == protocol::ByeReason::leaving ? "the server is shutting down"
                                                                 : "the server does not know this port"});
  retire(current_);
  retire(previous_);
  joined_ = false;
  begin_joining(now, out);
}

void ClientSession::on_welcome(std::span<const std::uint8_t> msg, TimePoint now, Output& out) {
  protocol::Welcome w{};
  if (protocol::decode(msg, w) != protocol::DecodeError::none) {
    ++stats_.dropped_bad;
    return;
  }
  if (w.receiver_index != attempt_index_ || w.network_id != config_.network) {
    ++stats_.dropped_stale;
    return;
  }
  if (joined_ && current_ != nullptr && current_->remote_index == w.sender_index) return;  // duplicate
  if (!attempting_) {
    ++stats_.dropped_stale;
    return;
  }
  Keypair* kp = take_keypair();
  if (kp == nullptr) return;  // all still in their grace period: the next WELCOME will do
  kp->plaintext = true;
  kp->remote_index = w.sender_index;
  kp->created = now;
  kp->initiator = true;
  kp->local_index.store(attempt_index_, std::memory_order_release);
  if (w.mtu < config_.mtu) {
    out.events.push_back({ClientEvent::Kind::mtu_lowered, w.mtu, {}});
    config_.mtu = w.mtu;
  }
  install(kp, now, out);
}

void ClientSession::on_response(std::span<const std::uint8_t> msg, TimePoint now, Output& out) {
  handshake::ClientHandshake::Refusal why{};
  auto keys = handshake_->consume_response(msg, why);
  if (!keys) {
    if (why == handshake::ClientHandshake::Refusal::not_pending || why == handshake::ClientHandshake::Refusal::wrong_index)
      ++stats_.dropped_stale;
    else
      ++stats_.dropped_bad;
    return;
  }
  Keypair* kp = take_keypair();
  if (kp == nullptr) return;
  if (!kp->send.set(keys->suite, keys->send.bytes()) || !kp->receive.set(keys->suite, keys->receive.bytes())) {
    kp->reset();
    free_.push_back(kp);
    ++stats_.dropped_bad;  // the server chose a suite this CPU cannot run
    return;
  }
  kp->plaintext = false;
  kp->remote_index = keys->remote_index;
  kp->created = now;
  kp->initiator = true;
  kp->local_index.store(keys->local_index, std::memory_order_release);
  if (keys->mtu < config_.mtu) {
    out.events.push_back({ClientEvent::Kind::mtu_lowered, keys->mtu, {}});
    config_.mtu = keys->mtu;
  }
  install(kp, now, out);
  // Confirm the session to the server at once: it sends nothing with it before our first packet.
  if (const auto counter = kp->take_counters(1)) {
    std::vector<std::uint8_t> keepalive(v2::kOverhead);
    seal(*kp, MessageKind::keepalive, *counter, keepalive, 0);
    out.messages.push_back(std::move(keepalive));
  }
}

void ClientSession::install(Keypair* kp, TimePoint now, Output& out) {
  const bool was_joined = joined_;
  retire(previous_);
  previous_ = current_;
  current_ = kp;
  tx_.store(kp, std::memory_order_release);
  joined_ = true;
  attempting_ = false;
  last_rx_ = last_ping_ = now;
  if (was_joined) {
    ++stats_.rekeys;
    out.events.push_back({ClientEvent::Kind::rekeyed, kp->remote_index, {}});
  } else {
    ++stats_.joins;
    out.events.push_back({ClientEvent::Kind::joined, kp->remote_index, {}});
  }
}

std::optional<std::span<std::uint8_t>> ClientSession::on_data(std::span<std::uint8_t> msg, TimePoint now,
                                                               Output& out) noexcept {
  if (msg.size() < protocol::kDataHeaderSize) {
    ++stats_.dropped_bad;
    return std::nullopt;
  }
  MessageKind kind = MessageKind::frame;
  if (handshake_) {
    v2::MessageType type{};
    if (v2::classify(msg, type) != protocol::DecodeError::none ||
        (type != v2::MessageType::data && type != v2::MessageType::control)) {
      ++stats_.dropped_bad;
      return std::nullopt;
    }
    kind = type == v2::MessageType::control ? MessageKind::control
           : msg.size() == v2::kOverhead   ? MessageKind::keepalive
                                           : MessageKind::frame;
  } else {
    protocol::MessageType type{};
    if (protocol::check_prefix(msg, type) != protocol::DecodeError::none ||
        (type != protocol::MessageType::data && type != protocol::MessageType::keepalive)) {
      ++stats_.dropped_bad;
      return std::nullopt;
    }
    kind = type == protocol::MessageType::keepalive ? MessageKind::keepalive : MessageKind::frame;
  }
  Keypair* kp = find(load_be32(msg.subspan(4)));
  if (kp == nullptr) {
    ++stats_.dropped_stale;
    return std::nullopt;
  }
  const auto payload = open(*kp, msg);
  if (!payload) {
    ++stats_.dropped_bad;
    return std::nullopt;
  }
  if (!kp->plaintext && !kp->accept_counter(load_be64(msg.subspan(8)))) {
    ++stats_.dropped_replay;
    return std::nullopt;
  }
  last_rx_ = now;
  if (kind == MessageKind::keepalive) return std::nullopt;
  if (kind == MessageKind::control) {
    v2::Control c;
    if (v2::decode(*payload, c) != protocol::DecodeError::none) {
      ++stats_.dropped_bad;
      return std::nullopt;
    }
    if (c.op == v2::ControlOp::bye) {
      try {
        out.events.push_back({ClientEvent::Kind::server_goodbye, 0, std::string(v2::to_string(c.reason))});
        retire(current_);
        retire(previous_);
        joined_ = false;
        begin_joining(now, out);
      } catch (...) {  // out of memory for the event: the session ends all the same
        joined_ = false;
        attempting_ = true;
        next_attempt_ = now;
      }
    }
    return std::nullopt;
  }
  if (payload->size() < protocol::kEthernetHeaderSize) {
    ++stats_.dropped_bad;
    return std::nullopt;
  }
  return payload;
}

void ClientSession::on_unreachable(TimePoint now, Output& out) {
  if (!handshake_) {
    if (!joined_) return;
    out.events.push_back({ClientEvent::Kind::server_lost, 0, "the server refused (ICMP unreachable)"});
    retire(current_);
    retire(previous_);
    joined_ = false;
    begin_joining(now, out);
    return;
  }
  // Unauthenticated: only an earlier handshake attempt, never the end of the session.
  if (!attempting_) {
    out.events.push_back({ClientEvent::Kind::server_lost, 0, "the server refused (ICMP unreachable)"});
    attempting_ = true;
    joining_since_ = now;
    next_attempt_ = now;
  }
}

std::vector<std::uint8_t> ClientSession::goodbye() {
  if (!joined_ || current_ == nullptr) return {};
  std::vector<std::uint8_t> msg(v2::kOverhead + v2::kByeSize);
  if (current_->plaintext) {
    msg.resize(protocol::kByeSize);
    protocol::encode(protocol::Bye{current_->remote_index, protocol::ByeReason::leaving}, msg);
    return msg;
  }
  const auto counter = current_->take_counters(1);
  if (!counter) return {};
  const std::size_t body = v2::encode(v2::Control{v2::ControlOp::bye, 0, v2::ByeReason::shutdown},
                                      std::span(msg).subspan(v2::kHeaderSize));
  msg.resize(seal(*current_, MessageKind::control, *counter, msg, body));
  return msg;
}

}  // namespace vswitch
