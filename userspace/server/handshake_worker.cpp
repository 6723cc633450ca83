#include "handshake_worker.hpp"

#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "vswitch/data_plane.hpp"
#include "vswitch/keys.hpp"
#include "vswitch/log.hpp"

namespace vswitch {
namespace v2 = protocol::v2;
namespace {

constexpr auto kUnderLoadSticky = std::chrono::seconds(1);
constexpr int kNice = 10;  // about a tenth of a core's share against a busy nice-0 thread
constexpr auto kMinInitiationInterval = std::chrono::milliseconds(20);  // 50 a second per member
constexpr std::size_t kPopBatch = 64;

}  // namespace

std::size_t HandshakeWorker::KeyHash::operator()(const noise::PublicKey& k) const noexcept {
  std::size_t h = 0;
  std::memcpy(&h, k.data(), sizeof h);  // public keys are uniformly distributed
  return h;
}

HandshakeWorker::HandshakeWorker(SharedSwitch& sw, const HandshakeConfig& config,
                                 std::optional<handshake::ServerHandshake> key,
                                 std::shared_ptr<const MemberDirectory> members)
    : sw_(sw),
      config_(config),
      key_(std::move(key)),
      limiter_(SourceRateLimiter::Config{}),
      members_(std::move(members)),
      ring_(config.queue_capacity) {}

HandshakeWorker::~HandshakeWorker() { stop(); }

void HandshakeWorker::start() { thread_ = std::thread([this] { run(); }); }

void HandshakeWorker::stop() noexcept {
  {
    std::lock_guard lock(queue_mutex_);
    stop_ = true;
  }
  queue_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool HandshakeWorker::submit(const Endpoint& from, std::span<const std::uint8_t> msg) noexcept {
  std::lock_guard lock(queue_mutex_);
  if (count_ == ring_.size()) {
    bump(sw_.handshakes.queue_full);
    return false;
  }
  Item& item = ring_[(head_ + count_) % ring_.size()];
  item.from = from;
  item.size = static_cast<std::uint16_t>(std::min(msg.size(), item.bytes.size()));
  std::memcpy(item.bytes.data(), msg.data(), item.size);
  ++count_;
  queue_cv_.notify_one();
  return true;
}

std::size_t HandshakeWorker::depth() const noexcept {
  std::lock_guard lock(queue_mutex_);
  return count_;
}

void HandshakeWorker::set_members(std::shared_ptr<const MemberDirectory> members) {
  std::lock_guard lock(members_mutex_);
  members_ = std::move(members);
}

std::shared_ptr<const MemberDirectory> HandshakeWorker::members() const {
  std::lock_guard lock(members_mutex_);
  return members_;
}

void HandshakeWorker::run() {
  // Handshakes yield to forwarding: where this thread shares a core with a datapath (the socket
  // datapath's loop, an AF_XDP worker, the NIC's softirq), a flood of initiations, each a
  // Diffie-Hellman until the under-load mode starts, takes the CPU the switch does not use
  // rather than half of it. (Per-thread nice; failure just leaves the default.)
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), kNice);
  std::vector<Item> batch(kPopBatch);
  const MemberDirectory* seen_members = nullptr;
  for (;;) {
    std::size_t n = 0;
    std::size_t depth = 0;
    {
      std::unique_lock lock(queue_mutex_);
      queue_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_ || count_ > 0; });
      if (stop_) return;
      depth = count_;
      while (n < batch.size() && count_ > 0) {
        batch[n++] = ring_[head_];
        head_ = (head_ + 1) % ring_.size();
        --count_;
      }
    }
    const TimePoint now = Clock::now();
    // Forget the initiation history of keys a reload removed (bounded by the members file).
    if (const auto members = this->members(); members.get() != seen_members) {
      seen_members = members.get();
      std::erase_if(member_state_, [&](const auto& entry) { return members == nullptr || !members->has_key(entry.first); });
    }
    bool under_load = depth >= config_.under_load_depth;
    if (under_load) last_under_load_ = now;
    else under_load = last_under_load_ != TimePoint{} && now - last_under_load_ < kUnderLoadSticky;
    for (std::size_t i = 0; i < n; ++i) handle(batch[i], under_load, now);
  }
}

void HandshakeWorker::handle(const Item& item, bool under_load, TimePoint now) {
  const std::span<const std::uint8_t> msg(item.bytes.data(), item.size);
  if (item.size >= 2 && msg[0] == v2::kVersion) {
    if (msg[1] == VSWITCH_V2_INITIATION && item.size == v2::initiation::kSize) return on_initiation(item, under_load, now);
  } else if (item.size >= 2 && msg[0] == protocol::kVersion) {
    switch (msg[1]) {
      case VSWITCH_V1_HELLO: return on_hello(item, now);
      case VSWITCH_V1_BYE: return on_v1_bye(item, now);
      case VSWITCH_V1_DATA:
      case VSWITCH_V1_KEEPALIVE: return on_unknown_session(item, now);
      default: break;
    }
  }
  std::lock_guard lock(sw_.mutex);
  sw_.state.core.count_drop(DropReason::bad_type);
}

void HandshakeWorker::send(const Endpoint& to, std::span<const std::uint8_t> msg) noexcept {
  if (::sendto(reply_fd_, msg.data(), msg.size(), MSG_DONTWAIT, to.sockaddr_ptr(), to.size()) < 0)
    VS_DEBUG("handshake reply to %s: %s", to.to_string().c_str(), std::strerror(errno));
}

void HandshakeWorker::refuse(HandshakeRefusal reason, const Endpoint& from, const char* detail) {
  sw_.handshakes.refuse(reason);
  std::uint64_t held_back = 0;
  if (!refusal_log_[static_cast<std::size_t>(reason)].admit(Clock::now(), held_back)) return;
  VS_INFO("refused a handshake from %s: %s%s%s%s", from.to_string().c_str(), std::string(to_string(reason)).c_str(),
          *detail != 0 ? ": " : "", detail, held_back_note(held_back).c_str());
}

std::array<LogRateLimit, kHandshakeRefusalCount> HandshakeWorker::make_refusal_budgets() {
  return [&]<std::size_t... I>(std::index_sequence<I...>) {
    return std::array<LogRateLimit, kHandshakeRefusalCount>{((void)I, LogRateLimit(1, 5))...};
  }(std::make_index_sequence<kHandshakeRefusalCount>());
}

CipherSuite HandshakeWorker::choose_suite(std::uint8_t offered, bool& ok) const noexcept {
  const bool gcm = config_.allow_gcm && (offered & suite_bit(CipherSuite::aes256_gcm)) != 0 && aes256gcm_available();
  ok = true;
  if (gcm) return CipherSuite::aes256_gcm;
  if (!config_.require_gcm && (offered & suite_bit(CipherSuite::chacha20_poly1305)) != 0)
    return CipherSuite::chacha20_poly1305;
  ok = false;
  return CipherSuite::chacha20_poly1305;
}

void HandshakeWorker::on_initiation(const Item& item, bool under_load, TimePoint now) {
  const std::span<const std::uint8_t, v2::initiation::kSize> msg(item.bytes.data(), v2::initiation::kSize);
  if (!key_) return reply_version_mismatch(item, protocol::ByeReason::insecure_only,
                                           load_be32(msg.subspan(v2::initiation::kSender)), now);
  const auto macs = key_->check_macs(msg, item.from, now);
  if (macs == handshake::ServerHandshake::MacCheck::bad_mac1) return refuse(HandshakeRefusal::bad_mac1, item.from, "");
  if (under_load) {
    if (macs != handshake::ServerHandshake::MacCheck::mac1_and_mac2) {
      if (!limiter_.allow(item.from, now)) {
        bump(sw_.handshakes.replies_suppressed);
        return;
      }
      std::array<std::uint8_t, v2::cookie_reply::kSize> reply{};
      key_->create_cookie_reply(msg, item.from, now, reply);
      send(item.from, reply);
      bump(sw_.handshakes.cookies_sent);
      return;
    }
    if (!limiter_.allow(item.from, now)) return refuse(HandshakeRefusal::rate_limited, item.from, "");
  }
  auto in = key_->consume_initiation(msg);
  if (!in) return refuse(HandshakeRefusal::bad_handshake, item.from, "it does not decrypt with this server's key");
  const auto members = this->members();
  const Member* member = members ? members->find(in->client, in->payload.network) : nullptr;
  if (member == nullptr) {
    const std::string detail = "key " + key_to_base64(in->client) + " is not a member of network " +
                               std::to_string(in->payload.network);
    return refuse(HandshakeRefusal::not_member, item.from, detail.c_str());
  }
  MemberState& ms = member_state_[in->client];
  if (std::memcmp(in->payload.timestamp.data(), ms.last_timestamp.data(), ms.last_timestamp.size()) <= 0)
    return refuse(HandshakeRefusal::stale_timestamp, item.from, member->name.c_str());
  if (ms.last_initiation != TimePoint{} && now - ms.last_initiation < kMinInitiationInterval)
    return refuse(HandshakeRefusal::too_frequent, item.from, member->name.c_str());
  ms.last_timestamp = in->payload.timestamp;
  ms.last_initiation = now;
  bool suite_ok = false;
  const CipherSuite suite = choose_suite(in->payload.suites, suite_ok);
  if (!suite_ok) return refuse(HandshakeRefusal::no_common_suite, item.from, member->name.c_str());
  const std::uint16_t mtu = std::min(in->payload.mtu, config_.mtu);

  std::uint32_t index = 0;
  Keypair* kp = nullptr;
  {
    std::lock_guard lock(sw_.mutex);
    kp = sw_.state.sessions.allocate(index);
  }
  if (kp == nullptr) return refuse(HandshakeRefusal::tables_full, item.from, member->name.c_str());
  handshake::SessionKeys keys;
  std::array<std::uint8_t, v2::response::kSize> response{};
  const std::array<std::uint8_t, 32> psk{};
  // Noise, then the keypair's key schedules, all before the switch lock.
  const bool made = key_->create_response(*in, index, {static_cast<std::uint8_t>(suite), mtu}, psk, response, keys) &&
                    SwitchState::key_keypair(*kp, keys);
  PortEvent event{};
  bool installed = false;
  {
    std::lock_guard lock(sw_.mutex);
    if (made) {
      installed = sw_.state.install_secure(kp, index, keys, in->client, member->name, in->payload.network, now, event);
    } else {
      sw_.state.sessions.release_unpublished(kp, index);
    }
  }
  if (!made) return refuse(HandshakeRefusal::bad_handshake, item.from, member->name.c_str());
  if (!installed) return refuse(HandshakeRefusal::tables_full, item.from, member->name.c_str());
  send(item.from, response);
  bump(sw_.handshakes.accepted);
  std::uint64_t held_back = 0;
  if (event.kind == PortEvent::Kind::joined && join_log_.admit(now, held_back))
    VS_INFO("member %s: handshake from %s for network %llu (%s, mtu %u), port %u%s", member->name.c_str(),
            item.from.to_string().c_str(), static_cast<unsigned long long>(in->payload.network),
            std::string(to_string(suite)).c_str(), mtu, event.port, held_back_note(held_back).c_str());
  else if (event.kind != PortEvent::Kind::joined)
    VS_DEBUG("member %s: new session from %s (port %u)", member->name.c_str(), item.from.to_string().c_str(), event.port);
}

void HandshakeWorker::on_hello(const Item& item, TimePoint now) {
  const std::span<const std::uint8_t> msg(item.bytes.data(), item.size);
  protocol::Hello hello{};
  if (const auto e = protocol::decode(msg, hello); e != protocol::DecodeError::none) {
    std::lock_guard lock(sw_.mutex);
    sw_.state.core.count_drop(e == protocol::DecodeError::truncated ? DropReason::truncated : DropReason::bad_field);
    return;
  }
  if (key_) return reply_version_mismatch(item, protocol::ByeReason::authentication_required, hello.sender_index, now);
  if (!tokens_.valid(item.from, hello, now)) {
    if (hello.token != 0) refuse(HandshakeRefusal::bad_token, item.from, "");
    if (!limiter_.allow(item.from, now)) {
      bump(sw_.handshakes.replies_suppressed);
      return;
    }
    std::uint8_t reply[protocol::kChallengeSize];
    protocol::encode(protocol::Challenge{hello.sender_index, tokens_.make(item.from, hello, now)}, reply);
    send(item.from, reply);
    bump(sw_.handshakes.challenges_sent);
    return;
  }
  const std::uint16_t mtu = std::min(hello.mtu, config_.mtu);
  PortEvent event{};
  std::uint32_t index = 0;
  {
    std::lock_guard lock(sw_.mutex);
    if (Keypair* kp = sw_.state.install_plain(item.from, hello.sender_index, hello.network_id, mtu, now, event))
      index = kp->local_index.load(std::memory_order_relaxed);
  }
  if (index == 0) return refuse(HandshakeRefusal::tables_full, item.from, "");
  std::uint8_t reply[protocol::kWelcomeSize];
  protocol::encode(protocol::Welcome{hello.sender_index, index, hello.network_id, mtu}, reply);
  send(item.from, reply);
  if (event.kind == PortEvent::Kind::joined) {
    bump(sw_.handshakes.accepted);
    if (std::uint64_t held_back = 0; join_log_.admit(now, held_back))
      VS_INFO("port %u joined network %llu from %s (mtu %u, INSECURE)%s", event.port,
              static_cast<unsigned long long>(hello.network_id), item.from.to_string().c_str(), mtu,
              held_back_note(held_back).c_str());
  }
}

void HandshakeWorker::on_v1_bye(const Item& item, TimePoint now) {
  (void)now;
  protocol::Bye bye{};
  std::vector<PortEvent> events;
  {
    std::lock_guard lock(sw_.mutex);
    if (key_) {
      sw_.state.core.count_drop(DropReason::version_mismatch);
      return;
    }
    if (protocol::decode(std::span<const std::uint8_t>(item.bytes.data(), item.size), bye) != protocol::DecodeError::none) {
      sw_.state.core.count_drop(DropReason::bad_field);
      return;
    }
    Keypair* kp = sw_.state.sessions.find(bye.receiver_index);
    if (kp == nullptr || !kp->plaintext) {
      sw_.state.core.count_drop(DropReason::unknown_session);
      return;
    }
    if (!(sw_.state.sessions.peer(kp->port).endpoint == item.from)) {
      sw_.state.core.count_drop(DropReason::endpoint_mismatch);
      return;
    }
    sw_.state.remove_port(kp->port, PortEvent::Kind::left, events);
  }
  log_events(events);
}

void HandshakeWorker::on_unknown_session(const Item& item, TimePoint now) {
  if (key_ || item.size < protocol::kDataHeaderSize) return;
  // Tell the sender to join again (the server restarted, or the port timed out), within its
  // per-source budget: an unauthenticated answer must not be a lever for spoofed floods.
  if (!limiter_.allow(item.from, now)) {
    bump(sw_.handshakes.replies_suppressed);
    return;
  }
  std::uint8_t reply[protocol::kByeSize];
  const std::uint32_t index = load_be32(std::span<const std::uint8_t>(item.bytes.data() + 4, 4));
  protocol::encode(protocol::Bye{index, protocol::ByeReason::unknown_session}, reply);
  send(item.from, reply);
  bump(sw_.handshakes.unknown_session_replies);
}

void HandshakeWorker::reply_version_mismatch(const Item& item, protocol::ByeReason reason, std::uint32_t index,
                                             TimePoint now) {
  {
    std::lock_guard lock(sw_.mutex);
    sw_.state.core.count_drop(DropReason::version_mismatch);
  }
  if (std::uint64_t held_back = 0; version_log_.admit(now, held_back)) {
    if (reason == protocol::ByeReason::authentication_required)
      VS_WARN("client %s speaks the insecure protocol (v1, --insecure); this server requires keys: give the "
              "client --server-key and --key-file, and list its key in the members file%s",
              item.from.to_string().c_str(), held_back_note(held_back).c_str());
    else
      VS_WARN("client %s tries to authenticate (protocol v2); this server runs --insecure: start it with "
              "--key-file and --members%s",
              item.from.to_string().c_str(), held_back_note(held_back).c_str());
  }
  if (!limiter_.allow(item.from, now)) {
    bump(sw_.handshakes.replies_suppressed);
    return;
  }
  std::uint8_t reply[protocol::kByeSize];
  protocol::encode(protocol::Bye{index, reason}, reply);
  send(item.from, reply);
  bump(sw_.handshakes.version_replies);
}

}  // namespace vswitch
