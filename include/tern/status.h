// Status and Result<T>: errors are values with a message that names the node, op and tensor.
// Nothing in libtern throws across its boundary or aborts on bad input.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <variant>

namespace tern {

/// Error categories; stable numbers, mirrored by the C API's tern_status codes.
enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument = 1,   ///< bad input tensor, wrong shape or type, bad option
  kInvalidModel = 2,      ///< corrupt, truncated or inconsistent model
  kNotImplemented = 3,    ///< unknown op, unsupported type or attribute
  kOutOfRange = 4,        ///< index out of range
  kResourceExhausted = 5, ///< allocation limit or size overflow
  kIoError = 6,           ///< file could not be read or written
  kInternal = 7,          ///< a bug in Tern
  kFailedPrecondition = 8 ///< e.g. strict mode forbids a fallback
};

const char* StatusCodeName(StatusCode code);

/// A success or an error with a message. Cheap to return when ok (one pointer).
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message);
  static Status Ok() { return Status(); }

  bool ok() const { return state_ == nullptr; }
  StatusCode code() const { return state_ ? state_->code : StatusCode::kOk; }
  const std::string& message() const;
  /// "InvalidModel: message"
  std::string ToString() const;
  /// Returns a copy whose message is prefixed with `context: `.
  Status WithContext(const std::string& context) const;

 private:
  struct State {
    StatusCode code;
    std::string message;
  };
  std::shared_ptr<const State> state_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status InvalidModel(std::string m) { return {StatusCode::kInvalidModel, std::move(m)}; }
inline Status NotImplemented(std::string m) { return {StatusCode::kNotImplemented, std::move(m)}; }
inline Status OutOfRange(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
inline Status ResourceExhausted(std::string m) {
  return {StatusCode::kResourceExhausted, std::move(m)};
}
inline Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

/// A value or an error.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT
  bool ok() const { return v_.index() == 0; }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<1>(v_);
  }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace tern

#define TERN_CONCAT_INNER(a, b) a##b
#define TERN_CONCAT(a, b) TERN_CONCAT_INNER(a, b)

/// Returns the status from the enclosing function when it is an error.
#define TERN_RETURN_IF_ERROR(expr)            \
  do {                                        \
    ::tern::Status _tern_st = (expr);         \
    if (!_tern_st.ok()) return _tern_st;      \
  } while (0)

#define TERN_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()

/// `TERN_ASSIGN_OR_RETURN(auto x, MakeX());`
#define TERN_ASSIGN_OR_RETURN(lhs, expr) \
  TERN_ASSIGN_OR_RETURN_IMPL(TERN_CONCAT(_tern_r_, __LINE__), lhs, expr)
