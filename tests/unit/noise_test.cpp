// The Noise core against a published known answer, and its refusals.
//
// Known answer: the Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b vector of the cacophony project
// (https://github.com/centromere/cacophony, public domain), as distributed in
// mcginty/snow tests/vectors/cacophony.txt (commit 8ac60f51). Two handshake messages, the
// handshake hash, then four transport messages (initiator -> responder first).
#include <gtest/gtest.h>

#include <sodium.h>

#include "hex.hpp"
#include "vswitch/noise.hpp"

namespace vswitch::noise {
namespace {

using test::from_hex;
using test::to_hex;

const char* kPrologue = "4a6f686e2047616c74";
const char* kPsk = "54686973206973206d7920417573747269616e20706572737065637469766521";
const char* kInitStatic = "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1";
const char* kInitEphemeral = "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a";
const char* kRespStatic = "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893";
const char* kRespEphemeral = "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b";
const char* kRespStaticPublic = "31e0303fd6418d2f8c0e78b91f22e8caed0fbe48656dcf4767e4834f701b8f62";
const char* kHandshakeHash =
    "ed837c9084f2f0333a7ec60b9bcacd9921394858de8ced118b5966d1147ba390"
    "084dab42326c565a309c29317a6079be30aa1d790d25a517b43287426cb1d36a";
struct Message {
  const char* payload;
  const char* ciphertext;
};
const Message kMessages[] = {
    {"4c756477696720766f6e204d69736573",
     "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944b6fe0240b839afac809de1630eaf99d8"
     "f9b941394f0512c0554633bbb021d15176135c0a20e7fdb9a9ed066f22f054b47625b1d5061cb27d6a17f053273db7c2"
     "5216a5addc506ee321bc0618feb5849d"},
    {"4d757272617920526f746862617264",
     "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f1448088438f627e69fc120006f746b9d420bf4056"
     "cf8481ab32d9e904ffaeeaa56a5290"},
    {"462e20412e20486179656b", "07fc0034398a5f1010322be193d62f94bebf2948a20b3e15d681fe"},
    {"4361726c204d656e676572", "2ea5400f5b8a16971c8b67bde75aeb7987d454b1c0beeb2566932d"},
    {"4a65616e2d426170746973746520536179", "96eef918ef51639fc0e156da1823c4f71b33fac5af983f5da9384f7da20d86ed91"},
    {"457567656e2042f6686d20766f6e2042617765726b",
     "f02766a56496e1fbf32e05274baebf6d693c8f3e4c6e0dc7ebdc5ac170f15dae433b92f469"},
};

template <std::size_t N>
std::array<std::uint8_t, N> array_of(const char* hex) {
  const auto v = from_hex(hex);
  std::array<std::uint8_t, N> out{};
  std::copy_n(v.begin(), N, out.begin());
  return out;
}

// Transport encryption as Noise defines it (ChaChaPoly, little-endian counter nonce, empty AD).
std::vector<std::uint8_t> transport_seal(const Key& key, std::uint64_t n, const std::vector<std::uint8_t>& pt) {
  std::uint8_t nonce[12] = {};
  for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<std::uint8_t>(n >> (8 * i));
  std::vector<std::uint8_t> out(pt.size() + kTagSize);
  unsigned long long len = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), &len, pt.data(), pt.size(), nullptr, 0, nullptr, nonce,
                                            key.data());
  return out;
}

class NoiseVector : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_GE(sodium_init(), 0); }
  std::vector<std::uint8_t> prologue = from_hex(kPrologue);
  std::array<std::uint8_t, 32> psk = array_of<32>(kPsk);
  std::array<std::uint8_t, 32> init_static = array_of<32>(kInitStatic);
  std::array<std::uint8_t, 32> resp_static = array_of<32>(kRespStatic);
  KeyPair init_e = KeyPair::from_private(array_of<32>(kInitEphemeral));
  KeyPair resp_e = KeyPair::from_private(array_of<32>(kRespEphemeral));
};

TEST_F(NoiseVector, ResponderPublicKeyMatches) {
  EXPECT_EQ(to_hex(KeyPair::from_private(resp_static).public_key), kRespStaticPublic);
}

TEST_F(NoiseVector, HandshakeAndTransportMatchByteForByte) {
  const PublicKey rs = array_of<32>(kRespStaticPublic);
  Initiator initiator(init_static, rs, psk, prologue);
  Responder responder(resp_static, rs, prologue);

  const auto p0 = from_hex(kMessages[0].payload);
  std::vector<std::uint8_t> m0(message1_size(p0.size()));
  ASSERT_TRUE(initiator.write_message1(p0, m0, &init_e));
  EXPECT_EQ(to_hex(m0), kMessages[0].ciphertext);

  PublicKey client_static{};
  std::vector<std::uint8_t> got0(p0.size());
  ASSERT_TRUE(responder.read_message1(m0, client_static, got0));
  EXPECT_EQ(got0, p0);
  EXPECT_EQ(to_hex(client_static), to_hex(KeyPair::from_private(init_static).public_key));

  const auto p1 = from_hex(kMessages[1].payload);
  std::vector<std::uint8_t> m1(message2_size(p1.size()));
  ASSERT_TRUE(responder.write_message2(psk, p1, m1, &resp_e));
  EXPECT_EQ(to_hex(m1), kMessages[1].ciphertext);
  std::vector<std::uint8_t> got1(p1.size());
  ASSERT_TRUE(initiator.read_message2(m1, got1));
  EXPECT_EQ(got1, p1);

  EXPECT_EQ(to_hex(initiator.handshake_hash()), kHandshakeHash);
  EXPECT_EQ(to_hex(responder.handshake_hash()), kHandshakeHash);

  Key i_send, i_recv, r_send, r_recv;
  initiator.split(i_send, i_recv);
  responder.split(r_send, r_recv);
  EXPECT_TRUE(sodium_memcmp(i_send.data(), r_recv.data(), kKeySize) == 0);
  EXPECT_TRUE(sodium_memcmp(i_recv.data(), r_send.data(), kKeySize) == 0);
  for (std::size_t m = 2; m < std::size(kMessages); ++m) {
    const bool from_initiator = m % 2 == 0;
    const std::uint64_t n = (m - 2) / 2;
    EXPECT_EQ(to_hex(transport_seal(from_initiator ? i_send : r_send, n, from_hex(kMessages[m].payload))),
              kMessages[m].ciphertext)
        << "transport message " << m;
  }
}

TEST_F(NoiseVector, EveryFlippedBitOfMessage1IsRefused) {
  const PublicKey rs = array_of<32>(kRespStaticPublic);
  Initiator initiator(init_static, rs, psk, prologue);
  const auto p0 = from_hex(kMessages[0].payload);
  std::vector<std::uint8_t> m0(message1_size(p0.size()));
  ASSERT_TRUE(initiator.write_message1(p0, m0, &init_e));
  for (std::size_t bit = 0; bit < m0.size() * 8; ++bit) {
    auto bad = m0;
    bad[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    Responder responder(resp_static, rs, prologue);
    PublicKey client_static{};
    std::vector<std::uint8_t> payload(p0.size());
    EXPECT_FALSE(responder.read_message1(bad, client_static, payload)) << "bit " << bit;
  }
}

TEST_F(NoiseVector, EveryFlippedBitOfMessage2IsRefused) {
  const PublicKey rs = array_of<32>(kRespStaticPublic);
  const auto p0 = from_hex(kMessages[0].payload);
  const auto p1 = from_hex(kMessages[1].payload);
  Initiator reference(init_static, rs, psk, prologue);
  std::vector<std::uint8_t> m0(message1_size(p0.size()));
  ASSERT_TRUE(reference.write_message1(p0, m0, &init_e));
  Responder responder(resp_static, rs, prologue);
  PublicKey client_static{};
  std::vector<std::uint8_t> got0(p0.size());
  ASSERT_TRUE(responder.read_message1(m0, client_static, got0));
  std::vector<std::uint8_t> m1(message2_size(p1.size()));
  ASSERT_TRUE(responder.write_message2(psk, p1, m1, &resp_e));
  for (std::size_t bit = 0; bit < m1.size() * 8; ++bit) {
    auto bad = m1;
    bad[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    Initiator initiator(init_static, rs, psk, prologue);
    std::vector<std::uint8_t> m(message1_size(p0.size()));
    ASSERT_TRUE(initiator.write_message1(p0, m, &init_e));
    std::vector<std::uint8_t> payload(p1.size());
    EXPECT_FALSE(initiator.read_message2(bad, payload)) << "bit " << bit;
  }
}

TEST_F(NoiseVector, WrongPskOrWrongServerKeyFails) {
  const PublicKey rs = array_of<32>(kRespStaticPublic);
  const auto p0 = from_hex(kMessages[0].payload);
  // A client pinning another server key: the server cannot even decrypt the client's identity.
  PublicKey other = KeyPair::generate().public_key;
  Initiator wrong_pin(init_static, other, psk, prologue);
  std::vector<std::uint8_t> m0(message1_size(p0.size()));
  ASSERT_TRUE(wrong_pin.write_message1(p0, m0));
  Responder responder(resp_static, rs, prologue);
  PublicKey client_static{};
  std::vector<std::uint8_t> payload(p0.size());
  EXPECT_FALSE(responder.read_message1(m0, client_static, payload));

  // Different PSKs: message 2 does not verify at the client.
  Initiator initiator(init_static, rs, psk, prologue);
  ASSERT_TRUE(initiator.write_message1(p0, m0));
  Responder r2(resp_static, rs, prologue);
  ASSERT_TRUE(r2.read_message1(m0, client_static, payload));
  std::array<std::uint8_t, 32> other_psk{};
  std::vector<std::uint8_t> m1(message2_size(0));
  ASSERT_TRUE(r2.write_message2(other_psk, {}, m1));
  EXPECT_FALSE(initiator.read_message2(m1, {}));
}

TEST(Noise, LowOrderServerKeyIsRefused) {
  ASSERT_GE(sodium_init(), 0);
  const PublicKey zero{};
  KeyPair client = KeyPair::generate();
  const std::array<std::uint8_t, 32> psk{};
  Initiator initiator(client.private_key.bytes(), zero, psk, {});
  std::vector<std::uint8_t> m0(message1_size(0));
  EXPECT_FALSE(initiator.write_message1({}, m0));
}

TEST(Noise, HmacMatchesRfc2104Construction) {
  ASSERT_GE(sodium_init(), 0);
  // HMAC with a key longer than the block is keyed by the key's hash: both must agree.
  std::vector<std::uint8_t> long_key(200, 0xab);
  std::array<std::uint8_t, 64> hashed{};
  crypto_generichash(hashed.data(), 64, long_key.data(), long_key.size(), nullptr, 0);
  const std::uint8_t msg[] = {1, 2, 3};
  std::array<std::uint8_t, 64> a{}, b{};
  hmac(long_key, msg, a);
  hmac(hashed, msg, b);
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace vswitch::noise
