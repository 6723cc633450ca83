#include "vswitch/keypair.hpp"

namespace vswitch {

namespace v2 = protocol::v2;

bool Keypair::accept_counter(std::uint64_t counter) noexcept {
  while (replay_lock_.test_and_set(std::memory_order_acquire)) {
  }
  const bool ok = replay_.check_and_update(counter);
  replay_lock_.clear(std::memory_order_release);
  return ok;
}

void Keypair::reset() noexcept {
  send.wipe();
  receive.wipe();
  send_counter_.store(0, std::memory_order_relaxed);
  replay_.reset();
  remote_index = 0;
  plaintext = false;
  port = kNoPort;
  initiator = false;
  created = {};
}

std::size_t seal(const Keypair& keypair, MessageKind kind, std::uint64_t counter, std::span<std::uint8_t> message,
                 std::size_t payload_size) noexcept {
  if (keypair.plaintext) {
    const protocol::DataHeader h{keypair.remote_index, counter};
    if (payload_size == 0) return protocol::encode_keepalive(h, message);
    protocol::encode_data_header(h, message);
    return protocol::kDataHeaderSize + payload_size;
  }
  const std::size_t size = v2::kOverhead + payload_size;
  const v2::MessageType type = kind == MessageKind::control ? v2::MessageType::control : v2::MessageType::data;
  v2::write_data_header({type, keypair.remote_index, counter}, size, message);
  keypair.send.seal(message.first(v2::kHeaderSize), counter, message.subspan(v2::kHeaderSize, payload_size),
                    message.data() + v2::kHeaderSize + payload_size);
  return size;
}

std::optional<std::span<std::uint8_t>> open(const Keypair& keypair, std::span<std::uint8_t> message) noexcept {
  if (keypair.plaintext) return message.subspan(protocol::kDataHeaderSize);
  if (message.size() < v2::kOverhead) return std::nullopt;
  const std::size_t payload = message.size() - v2::kOverhead;
  const std::uint64_t counter = load_be64(message.subspan(8));
  if (!keypair.receive.open(message.first(v2::kHeaderSize), counter, message.subspan(v2::kHeaderSize, payload),
                            message.data() + v2::kHeaderSize + payload))
    return std::nullopt;
  return message.subspan(v2::kHeaderSize, payload);
}

}  // namespace vswitch
