// Result<T>: a value or an error message with context, for setup code (sockets, TAP, control
// socket). main() turns an error into one clear line and a non-zero exit.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

namespace vswitch {

struct Error {
  std::string message;
};

// "what: strerror(errno)" for the errno of the call that just failed.
inline Error errno_error(const std::string& what, int err = errno) {
  return Error{what + ": " + std::strerror(err)};
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// For calls that produce nothing but may fail.
struct Ok {};
using Status = Result<Ok>;

}  // namespace vswitch
