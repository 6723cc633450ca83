// libFuzzer target for the key parsers: arbitrary bytes go to public_key_from_base64 and
// private_key_from_base64. Whatever they accept must be the one canonical spelling of its key:
// encoding it again gives back the identical 44 characters. Memory errors are caught by the
// sanitizers; the invariants below by abort().
#include <cstdlib>
#include <string>
#include <string_view>

#include "vswitch/keys.hpp"

using namespace vswitch;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto pub = public_key_from_base64(text);
  const auto priv = private_key_from_base64(text);
  if (pub) {
    check(size == kKeyBase64Size);
    check(key_to_base64(*pub) == text);
    is_weak_public_key(*pub);  // must not crash on any point
  }
  if (priv) {
    check(pub.has_value());  // one format for both: a private key text is a public key text
    std::string again = key_to_base64(priv->bytes());
    check(again == text);
    check(key_to_base64(priv->public_key()).size() == kKeyBase64Size);
  }
  return 0;
}
