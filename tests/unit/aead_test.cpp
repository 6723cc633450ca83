// The transport AEAD's two implementations give the same bytes: payloads from kEvpMinBytes on
// take OpenSSL, smaller ones libsodium, and each must match a direct libsodium computation and
// open what the other sealed.
#include "vswitch/aead.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

using namespace vswitch;

namespace {

// libsodium directly, as the reference: the nonce layouts of docs/protocol.md.
std::vector<std::uint8_t> reference(CipherSuite suite, const std::array<std::uint8_t, 32>& key,
                                    std::span<const std::uint8_t> ad, std::uint64_t counter,
                                    std::vector<std::uint8_t> data) {
  std::uint8_t nonce[12] = {};
  std::vector<std::uint8_t> tag(16);
  // libsodium declares its buffers non-null, which an empty vector's data() may not be.
  data.reserve(1);
  if (suite == CipherSuite::aes256_gcm) {
    for (int i = 0; i < 8; ++i) nonce[11 - i] = static_cast<std::uint8_t>(counter >> (8 * i));
    crypto_aead_aes256gcm_encrypt_detached(data.data(), tag.data(), nullptr, data.data(), data.size(), ad.data(),
                                           ad.size(), nullptr, nonce, key.data());
  } else {
    for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<std::uint8_t>(counter >> (8 * i));
    crypto_aead_chacha20poly1305_ietf_encrypt_detached(data.data(), tag.data(), nullptr, data.data(), data.size(),
                                                       ad.data(), ad.size(), nullptr, nonce, key.data());
  }
  data.insert(data.end(), tag.begin(), tag.end());
  return data;
}

class Aead : public ::testing::TestWithParam<CipherSuite> {
 protected:
  void SetUp() override {
    ASSERT_GE(sodium_init(), 0);
    if (GetParam() == CipherSuite::aes256_gcm && !aes256gcm_available()) GTEST_SKIP() << "no AES-NI";
    randombytes_buf(key.data(), key.size());
    randombytes_buf(ad.data(), ad.size());
    ASSERT_TRUE(sealer.set(GetParam(), key));
    ASSERT_TRUE(opener.set(GetParam(), key));
  }
  std::array<std::uint8_t, 32> key{};
  std::array<std::uint8_t, 16> ad{};
  TransportKey sealer, opener;
};

}  // namespace

TEST_P(Aead, BothImplementationsGiveTheReferenceBytes) {
  for (std::size_t size : {std::size_t{0}, std::size_t{60}, kEvpMinBytes - 1, kEvpMinBytes, std::size_t{1418},
                           std::size_t{4000}, std::size_t{9050}}) {
    std::vector<std::uint8_t> data(size);
    if (size != 0) randombytes_buf(data.data(), data.size());  // an empty vector's data() may be null
    const std::uint64_t counter = 0x0102030405060708ULL + size;
    const auto want = reference(GetParam(), key, ad, counter, data);
    std::vector<std::uint8_t> msg = data;
    msg.resize(size + 16);
    sealer.seal(ad, counter, std::span(msg).first(size), msg.data() + size);
    EXPECT_EQ(msg, want) << "size " << size;
    ASSERT_TRUE(opener.open(ad, counter, std::span(msg).first(size), msg.data() + size)) << "size " << size;
    EXPECT_TRUE(std::equal(data.begin(), data.end(), msg.begin())) << "size " << size;
  }
}

TEST_P(Aead, EveryImplementationRefusesWhatDoesNotAuthenticate) {
  for (std::size_t size : {std::size_t{60}, std::size_t{1400}}) {
    std::vector<std::uint8_t> msg(size + 16, 0x33);
    sealer.seal(ad, 7, std::span(msg).first(size), msg.data() + size);
    for (std::size_t byte : {std::size_t{0}, size - 1, size, size + 15}) {
      auto bad = msg;
      bad[byte] ^= 0x80;
      EXPECT_FALSE(opener.open(ad, 7, std::span(bad).first(size), bad.data() + size)) << size << "/" << byte;
    }
    auto copy = msg;
    EXPECT_FALSE(opener.open(ad, 8, std::span(copy).first(size), copy.data() + size));  // another nonce
    auto other_ad = ad;
    other_ad[0] ^= 1;
    copy = msg;
    EXPECT_FALSE(opener.open(other_ad, 7, std::span(copy).first(size), copy.data() + size));
  }
}

// Contexts are taken with a try-lock: several at once (all busy) fall back to libsodium,
// and the bytes are the same.
TEST_P(Aead, ConcurrentSealersGetTheSameBytes) {
  std::vector<std::uint8_t> data(1400, 0x5a);
  const auto want = reference(GetParam(), key, ad, 42, data);
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 6; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        std::vector<std::uint8_t> msg = data;
        msg.resize(1416);
        sealer.seal(ad, 42, std::span(msg).first(1400), msg.data() + 1400);
        if (msg != want) ++wrong;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(Suites, Aead, ::testing::Values(CipherSuite::chacha20_poly1305, CipherSuite::aes256_gcm),
                         [](const ::testing::TestParamInfo<CipherSuite>& p) { return p.param == CipherSuite::aes256_gcm ? "AesGcm" : "ChaCha"; });
