// Errors raised by native code. Native code never exits the process: every
// failure is a C++ exception that the addon layer turns into a typed JS error.
#pragma once
#include <stdexcept>
#include <string>

namespace hnas {

// Stable codes shared with TypeScript (src/native/errors.ts maps them to
// ERR_HNAS_* codes). Keep the numbers in sync; they are pinned by a test.
enum class ErrorCode : int {
  kInvalidArgument = 1,  // a bad value from the caller (shape, option, range)
  kUnsupported = 2,      // a valid request the engine cannot serve
  kNonFinite = 3,        // NaN or Inf found in inputs, parameters or results
  kOutOfMemory = 4,      // an allocation failed
  kInternal = 5,         // a broken invariant inside the engine
};

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

[[noreturn]] inline void fail(ErrorCode code, const std::string& message) {
  throw Error(code, message);
}

}  // namespace hnas

#define HNAS_CHECK(cond, code, msg)                        \
  do {                                                     \
    if (!(cond)) ::hnas::fail(::hnas::ErrorCode::code, msg); \
  } while (0)
