// Cast (target type in the `to` attribute) and CastLike (target type of input 1) between every
// numeric type, bool and string.
//  - float -> integer truncates toward zero; NaN gives 0 and out-of-range values saturate (ONNX
//    leaves both undefined). Integer -> integer wraps (two's complement). Anything -> bool is
//    "!= 0" (NaN is true).
//  - Rounding to float16/bfloat16 is round-to-nearest-even from the exact source value (double
//    sources go through a round-to-odd float so that there is no double rounding).
//  - float -> string is the shortest text that reads back to the same value ("0.1", "1e-05"),
//    with "NaN", "INF", "-INF" for the special values; integers print in decimal; bool prints
//    "1"/"0".
//  - string -> number accepts decimal and scientific text with an optional sign, and (case-
//    insensitively) "NaN", "INF", "+INF", "-INF", "Infinity"; text that is not a number is an
//    InvalidArgument error. string -> integer parses an integer, else a float that is truncated.
#include <charconv>
#include <cstring>

#include "ep/ref/elem_util.h"

namespace tern::ref {
namespace {

/// double -> float rounded to odd: exact values stay, inexact ones are truncated toward zero
/// with the last mantissa bit set. Rounding that result to a narrower float is then exact.
float RoundToOddFloat(double d) {
  float f = static_cast<float>(d);
  if (std::isnan(d) || static_cast<double>(f) == d) return f;
  if (std::isinf(d)) return f;
  if (std::fabs(static_cast<double>(f)) > std::fabs(d)) f = std::nextafter(f, 0.0f);
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  bits |= 1u;
  std::memcpy(&f, &bits, 4);
  return f;
}

template <typename T>
constexpr bool kIsHalf = std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>;

template <typename T>
std::string FloatToString(T v) {
  const double d = static_cast<double>(static_cast<AccT<T>>(v));
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "INF" : "-INF";
  char buf[64];
  if constexpr (kIsHalf<T>) {
    // Shortest precision whose text reads back to the same 16-bit value.
    const float f = static_cast<float>(v);
    for (int p = 1; p <= 9; ++p) {
      auto r = std::to_chars(buf, buf + sizeof(buf), f, std::chars_format::general, p);
      float back = 0;
      std::from_chars(buf, r.ptr, back);
      if (T(back).bits == v.bits) return std::string(buf, r.ptr);
    }
    auto r = std::to_chars(buf, buf + sizeof(buf), f);
    return std::string(buf, r.ptr);
  } else {
    auto r = std::to_chars(buf, buf + sizeof(buf), v);
    return std::string(buf, r.ptr);
  }
}

bool EqualsNoCase(const char* a, size_t n, const char* b) {
  if (std::strlen(b) != n) return false;
  for (size_t i = 0; i < n; ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != b[i]) return false;
  }
  return true;
}

/// Parses a string as a double; false when it is not a number.
bool ParseDouble(const std::string& s, double* out) {
  const char* p = s.data();
  const char* end = p + s.size();
  while (p < end && (*p == ' ' || *p == '\t')) ++p;
  while (end > p && (end[-1] == ' ' || end[-1] == '\t')) --end;
  bool neg = false;
  if (p < end && (*p == '+' || *p == '-')) {
    neg = *p == '-';
    ++p;
  }
  const size_t n = static_cast<size_t>(end - p);
  if (EqualsNoCase(p, n, "nan")) {
    *out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (EqualsNoCase(p, n, "inf") || EqualsNoCase(p, n, "infinity")) {
    *out = neg ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    return true;
  }
  if (n == 0 || *p == '+' || *p == '-') return false;
  double v = 0;
  auto r = std::from_chars(p, end, v);
  // Out-of-range text saturates to infinity (or zero) rather than failing.
  if (r.ec == std::errc::result_out_of_range) {
    bool big = false;
    for (const char* q = p; q < end; ++q)
      if (*q == 'e' || *q == 'E') big = q + 1 < end && q[1] != '-';
    v = big ? std::numeric_limits<double>::infinity() : 0.0;
  } else if (r.ec != std::errc() || r.ptr != end) {
    return false;
  }
  *out = neg ? -v : v;
  return true;
}

/// Converts a parsed double to T exactly as a double source would be cast.
template <typename D>
D FromDouble(double v);

/// Parses a string as T.
template <typename D>
bool ParseString(const std::string& s, D* out) {
  if constexpr (std::is_integral_v<D> && !std::is_same_v<D, bool>) {
    // Plain integers first: they may not be exact as doubles.
    const char* p = s.data();
    const char* end = p + s.size();
    if (p < end && *p == '+') ++p;
    D v{};
    auto r = std::from_chars(p, end, v);
    if (r.ec == std::errc() && r.ptr == end && p < end) {
      *out = v;
      return true;
    }
  }
  double d = 0;
  if (!ParseDouble(s, &d)) return false;
  *out = FromDouble<D>(d);
  return true;
}

/// One element from S to D (D != std::string, S != std::string).
template <typename S, typename D>
D ConvertNumber(S v) {
  if constexpr (std::is_same_v<S, D>) {
    return v;
  } else if constexpr (std::is_same_v<D, bool>) {
    return static_cast<AccT<S>>(v) != static_cast<AccT<S>>(0);
  } else if constexpr (kIsHalf<D>) {
    if constexpr (std::is_same_v<S, double>) {
      return D(RoundToOddFloat(v));
    } else if constexpr (std::is_same_v<S, int64_t> || std::is_same_v<S, uint64_t>) {
      // int64 -> double may round; go through an exactly rounded-to-odd float instead.
      return D(RoundToOddFloat(static_cast<double>(v)));
    } else {
      return D(static_cast<float>(static_cast<AccT<S>>(v)));
    }
  } else if constexpr (std::is_floating_point_v<D>) {
    return static_cast<D>(static_cast<AccT<S>>(v));
  } else if constexpr (kIsFloat<S>) {
    return SaturateToInt<D>(static_cast<AccT<S>>(v));
  } else {
    return static_cast<D>(v);  // integer or bool to integer: wraps
  }
}

template <typename D>
D FromDouble(double v) {
  return ConvertNumber<double, D>(v);
}

template <typename S, typename D>
Status CastElements(const KernelContext& ctx, const Tensor& in, Tensor* out) {
  const S* src = in.data<S>();
  D* dst = out->data<D>();
  const int64_t n = in.numel();
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_same_v<S, std::string> && std::is_same_v<D, std::string>) {
      dst[i] = src[i];
    } else if constexpr (std::is_same_v<D, std::string>) {
      if constexpr (kIsFloat<S>) {
        dst[i] = FloatToString(src[i]);
      } else if constexpr (std::is_same_v<S, bool>) {
        dst[i] = src[i] ? "1" : "0";
      } else {
        dst[i] = std::to_string(src[i]);
      }
    } else if constexpr (std::is_same_v<S, std::string>) {
      if (!ParseString<D>(src[i], &dst[i]))
        return ctx.Error(StatusCode::kInvalidArgument, "cannot convert string '" +
                                                           src[i].substr(0, 64) + "' to " +
                                                           DataTypeName(DataTypeOf<D>()));
    } else {
      dst[i] = ConvertNumber<S, D>(src[i]);
    }
  }
  return Status::Ok();
}

/// Cast when `like` is false (type from `to`), CastLike when true (type of input 1).
template <bool Like>
class CastKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    if constexpr (!Like) {
      if (!info.has_attr("to"))
        return info.Error(StatusCode::kInvalidModel, "missing attribute 'to'");
      const int64_t to = info.GetInt("to", 0);
      if (to < 0 || to > INT32_MAX || !IsValidDataType(static_cast<int32_t>(to)) ||
          !TypeInSet(kAllTypes, static_cast<DataType>(to)))
        return info.Error(StatusCode::kNotImplemented,
                          "unsupported target type 'to' = " + std::to_string(to));
      to_ = static_cast<DataType>(to);
    }
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(CheckTensorInputs(ctx, Like ? 2 : 1));
    const Tensor& x = ctx.input(0);
    const DataType to = Like ? ctx.input(1).dtype() : to_;
    if (!TypeInSet(kAllTypes, x.dtype())) return UnsupportedType(ctx, x.dtype());
    if (!TypeInSet(kAllTypes, to)) return UnsupportedType(ctx, to, "target");
    if (to == x.dtype()) return ctx.AliasInput(0, 0, x.shape());
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, to, x.shape()));
    return Visit<kAllTypes>(x.dtype(), [&](auto src_tag) -> Status {
      using S = decltype(src_tag);
      return Visit<kAllTypes>(to, [&](auto dst_tag) -> Status {
        using D = decltype(dst_tag);
        return CastElements<S, D>(ctx, x, out);
      });
    });
  }

 private:
  DataType to_ = DataType::kUndefined;
};

}  // namespace

void Register_cast(KernelRegistry& r) {
  r.Add("", "Cast", Create<CastKernel<false>>);
  r.Add("", "CastLike", Create<CastKernel<true>>);
}

}  // namespace tern::ref
