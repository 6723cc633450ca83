#include "vswitch/keys.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <type_traits>

#include "vswitch/key_file.hpp"

using namespace vswitch;

namespace {

std::array<std::uint8_t, 32> from_hex(std::string_view hex) {
  std::array<std::uint8_t, 32> out{};
  for (std::size_t i = 0; i < 32; ++i)
    out[i] = static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i * 2, 2)), nullptr, 16));
  return out;
}

PublicKey pub(std::string_view base64) {
  auto k = public_key_from_base64(base64);
  EXPECT_TRUE(k) << base64;
  return k.value_or(PublicKey{});
}

// RFC 7748 §6.1: Alice's and Bob's X25519 key pairs.
constexpr std::string_view kAlicePrivate = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
constexpr std::string_view kAlicePublic = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
constexpr std::string_view kBobPrivate = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
constexpr std::string_view kBobPublic = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";

}  // namespace

TEST(Keys, Rfc7748KnownAnswer) {
  const auto alice = PrivateKey::from_bytes(from_hex(kAlicePrivate));
  ASSERT_TRUE(alice);
  EXPECT_EQ(alice->public_key(), from_hex(kAlicePublic));
  const auto bob = PrivateKey::from_bytes(from_hex(kBobPrivate));
  ASSERT_TRUE(bob);
  EXPECT_EQ(bob->public_key(), from_hex(kBobPublic));

  // The same keys as wg prints them (`echo <hex> | xxd -r -p | base64`, then `wg pubkey`).
  const auto alice64 = private_key_from_base64("dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=");
  ASSERT_TRUE(alice64);
  EXPECT_EQ(key_to_base64(alice64->public_key()), "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=");
  EXPECT_EQ(key_to_base64(from_hex(kBobPublic)), "3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08=");
}

TEST(Keys, Base64RoundTrip) {
  std::array<std::uint8_t, 32> zero{}, ones{}, counting{};
  ones.fill(0xff);
  for (std::size_t i = 0; i < 32; ++i) counting[i] = static_cast<std::uint8_t>(i);
  EXPECT_EQ(key_to_base64(zero), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
  EXPECT_EQ(key_to_base64(ones), "//////////////////////////////////////////8=");
  EXPECT_EQ(key_to_base64(counting), "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
  for (int i = 0; i < 100; ++i) {
    PublicKey k;
    randombytes_buf(k.data(), k.size());
    const std::string text = key_to_base64(k);
    ASSERT_EQ(text.size(), kKeyBase64Size);
    EXPECT_EQ(public_key_from_base64(text), k);
    const auto priv = private_key_from_base64(text);
    ASSERT_TRUE(priv);
    EXPECT_EQ(key_to_base64(priv->bytes()), text);
  }
}

TEST(Keys, OnlyCanonicalBase64) {
  // Character 43 carries 4 bits of the last byte and 2 unused bits, which must be zero.
  constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string text(43, 'A');
  text += '=';
  for (int value = 0; value < 64; ++value) {
    text[42] = kAlphabet[static_cast<std::size_t>(value)];
    const auto k = public_key_from_base64(text);
    EXPECT_EQ(k.has_value(), value % 4 == 0) << text;
    if (k) {
      EXPECT_EQ((*k)[31], value >> 2);
    }
    EXPECT_EQ(private_key_from_base64(text).has_value(), k.has_value() && value != 0);
  }
}

TEST(Keys, RejectsWrongLengthsAndAlphabets) {
  const std::string good = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=";
  ASSERT_TRUE(public_key_from_base64(good));
  const std::string bad[] = {
      "",
      good.substr(0, 43),                              // padding missing
      good.substr(1),                                  // 43 characters
      good + "\n",                                     // trimming is the caller's
      " " + good,
      good + "=",
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",  // 44 characters but 31 bytes
      "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo=",  // URL-safe alphabet
      "hSDwCYkwp1R0i33ctD73Wg2-Og0mOBr066SpjqqbTmo=",
      "hSDwCYkwp1R0i33ctD73Wg2 Og0mOBr066SpjqqbTmo=",
      "hSDwCYkwp1R0i33ctD73Wg2=Og0mOBr066SpjqqbTmo=",
      std::string("hSDwCYkwp1R0i33ctD73Wg2\0Og0mOBr066SpjqqbTmo=", 44),
      "hSDwCYkwp1R0i33ctD73Wg2\xe9Og0mOBr066SpjqqbTmo=",  // libsodium 1.0.18 reads this as '/'
      "hSDwCYkwp1R0i33ctD73Wg2\x80Og0mOBr066SpjqqbTmo=",
      "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTm\xff=",
      "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",  // hex
  };
  for (const auto& text : bad) {
    EXPECT_FALSE(public_key_from_base64(text)) << "'" << text << "'";
    EXPECT_FALSE(private_key_from_base64(text)) << "'" << text << "'";
  }
}

TEST(Keys, WeakPublicKeys) {
  // The low-order points WireGuard's netns.sh feeds to `wg set` (0, 1, the two points of order
  // 8, p-1, and the non-canonical p and p+1), each also with bit 255 set, which X25519 ignores.
  const std::string_view weak[] = {
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAIA=",
      "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAIA=",
      "4Ot6fDtBuK4WVuP68Z/EatoJjeucMrH9hmIFFl9JuAA=", "4Ot6fDtBuK4WVuP68Z/EatoJjeucMrH9hmIFFl9JuIA=",
      "X5yVvKNQjCSx0LFVnIPvWwREXMRYHI6G2CJO3dCfEVc=", "X5yVvKNQjCSx0LFVnIPvWwREXMRYHI6G2CJO3dCfEdc=",
      "7P///////////////////////////////////////38=", "7P////////////////////////////////////////8=",
      "7f///////////////////////////////////////38=", "7f////////////////////////////////////////8=",
      "7v///////////////////////////////////////38=", "7v////////////////////////////////////////8=",
  };
  for (const auto text : weak) EXPECT_TRUE(is_weak_public_key(pub(text))) << text;

  // Ordinary keys, the base point (u = 9), and near misses of the table are fine.
  const std::string_view fine[] = {
      "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=", "3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08=",
      "CQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
      "4Ot6fDtBuK4WVuP68Z/EatoJjeucMrH9hmIFFl9JuAE=", "6////////////////////////////////////////38=",
  };
  for (const auto text : fine) EXPECT_FALSE(is_weak_public_key(pub(text))) << text;
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(is_weak_public_key(PrivateKey::generate().public_key()));
}

TEST(Keys, GenerateIsClampedAndFresh) {
  std::set<std::string> seen;
  for (int i = 0; i < 32; ++i) {
    const auto key = PrivateKey::generate();
    const auto b = key.bytes();
    EXPECT_EQ(b[0] & 7, 0);
    EXPECT_EQ(b[31] & 0x80, 0);
    EXPECT_EQ(b[31] & 0x40, 0x40);
    std::string text = key_to_base64(b);
    EXPECT_TRUE(seen.insert(text).second);
    // A generated key survives its own text form.
    const auto again = private_key_from_base64(text);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->public_key(), key.public_key());
  }
}

TEST(Keys, PrivateKeyIsMoveOnlyAndClampedOnUse) {
  static_assert(!std::is_copy_constructible_v<PrivateKey>);
  static_assert(!std::is_copy_assignable_v<PrivateKey>);
  static_assert(std::is_nothrow_move_constructible_v<PrivateKey>);

  std::array<std::uint8_t, 32> zero{};
  EXPECT_FALSE(PrivateKey::from_bytes(zero));
  // Zero is a valid public key spelling (and a weak one), but no private key.
  EXPECT_FALSE(private_key_from_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));

  // Unclamped bytes (as from `wg genpsk`) map to the same public key as their clamped form,
  // as under `wg pubkey`; the bytes themselves are kept as given.
  auto raw = from_hex(kAlicePrivate);
  raw[0] |= 7;
  raw[31] |= 0x80;
  auto unclamped = PrivateKey::from_bytes(raw);
  ASSERT_TRUE(unclamped);
  EXPECT_EQ(unclamped->public_key(), from_hex(kAlicePublic));
  EXPECT_EQ(unclamped->bytes()[0], raw[0]);

  auto moved = std::move(*unclamped);
  EXPECT_EQ(moved.public_key(), from_hex(kAlicePublic));
}

namespace {

class KeyFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vswitch-keys-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    for (const auto& f : files_) ::unlink(f.c_str());
    ::rmdir(dir_.c_str());
  }
  std::string write(const std::string& name, std::string_view content, mode_t mode = 0600) {
    const std::string path = dir_ + "/" + name;
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    EXPECT_EQ(::fchmod(fd, mode), 0);
    ::close(fd);
    files_.push_back(path);
    return path;
  }
  std::string dir_;
  std::vector<std::string> files_;
};

constexpr std::string_view kAlice64 = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=";

}  // namespace

TEST_F(KeyFile, LoadsWithOneTrailingLineEnd) {
  for (const std::string& content : {std::string(kAlice64), std::string(kAlice64) + "\n",
                                     std::string(kAlice64) + "\r\n", std::string(kAlice64) + " "}) {
    std::string warning;
    auto key = load_private_key_file(write("k", content), warning);
    ASSERT_TRUE(key) << key.error().message;
    EXPECT_EQ(key->public_key(), from_hex(kAlicePublic));
    EXPECT_EQ(warning, "");
  }
}

TEST_F(KeyFile, WarnsWhenOthersCanRead) {
  std::string warning;
  const auto path = write("k", std::string(kAlice64) + "\n", 0644);
  auto key = load_private_key_file(path, warning);
  ASSERT_TRUE(key);
  EXPECT_NE(warning.find("0644"), std::string::npos) << warning;
  EXPECT_NE(warning.find("chmod 600 " + path), std::string::npos) << warning;
  warning.clear();
  ASSERT_TRUE(load_private_key_file(write("g", std::string(kAlice64), 0640), warning));
  EXPECT_NE(warning.find("0640"), std::string::npos) << warning;
}

TEST_F(KeyFile, ClearErrors) {
  auto expect_error = [](const Result<PrivateKey>& r, std::string_view part) {
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find(part), std::string::npos) << r.error().message;
    // Never echo what was in the file: it may be a real key with a typo.
    EXPECT_EQ(r.error().message.find("dwdtCnMY"), std::string::npos) << r.error().message;
  };
  std::string warning;
  expect_error(load_private_key_file(dir_ + "/missing", warning), "No such file");
  expect_error(load_private_key_file(dir_, warning), "directory");
  expect_error(load_private_key_file(write("e", ""), warning), "empty");
  expect_error(load_private_key_file(write("n", "\n"), warning), "empty");
  expect_error(load_private_key_file(write("two", std::string(kAlice64) + "\n\n"), warning), "44 base64");
  expect_error(load_private_key_file(write("x", "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCp="), warning),
               "44 base64");
  expect_error(load_private_key_file(write("long", std::string(4096, 'A')), warning), "too long");
  const std::string zero = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  expect_error(load_private_key_file(write("z", zero), warning), "all-zero");
  if (::geteuid() != 0) {  // root reads anything
    const auto locked = write("locked", std::string(kAlice64), 0);
    expect_error(load_private_key_file(locked, warning), "Permission denied");
  }
}
