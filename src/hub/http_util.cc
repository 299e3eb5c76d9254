#include "hub/http_util.h"

#include <charconv>

namespace tern::hub {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool ParseU64(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Result<std::string> PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return InvalidArgument("bad percent escape");
      int hi = HexValue(s[i + 1]);
      int lo = HexValue(s[i + 2]);
      if (hi < 0 || lo < 0) return InvalidArgument("bad percent escape");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Result<ParsedTarget> ParseTarget(std::string_view target, size_t max_length) {
  if (target.size() > max_length) return InvalidArgument("request target too long");
  if (target.empty() || target.front() != '/') return InvalidArgument("request target must be a path");
  for (char c : target) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u == 0x7f || c == '\\' || c == '#') {
      return InvalidArgument("request target holds a forbidden character");
    }
  }
  ParsedTarget out;
  std::string_view path = target;
  std::string_view query;
  if (auto q = target.find('?'); q != std::string_view::npos) {
    path = target.substr(0, q);
    query = target.substr(q + 1);
  }
  // Segments: between slashes; the leading '/' starts the first.
  path.remove_prefix(1);
  if (!path.empty()) {
    size_t pos = 0;
    while (true) {
      size_t slash = path.find('/', pos);
      std::string_view raw = path.substr(pos, slash == std::string_view::npos ? path.npos : slash - pos);
      if (raw.empty()) return InvalidArgument("empty path segment");
      TERN_ASSIGN_OR_RETURN(std::string seg, PercentDecode(raw, false));
      if (seg == "." || seg == "..") return InvalidArgument("dot segments are not allowed");
      for (char c : seg) {
        auto u = static_cast<unsigned char>(c);
        if (c == '/' || c == '\\' || u < 0x20 || u == 0x7f) {
          return InvalidArgument("path segment holds a forbidden character");
        }
      }
      out.path.push_back(std::move(seg));
      if (slash == std::string_view::npos) break;
      pos = slash + 1;
    }
  }
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    TERN_ASSIGN_OR_RETURN(std::string key, PercentDecode(pair.substr(0, eq), true));
    std::string value;
    if (eq != std::string_view::npos) {
      TERN_ASSIGN_OR_RETURN(value, PercentDecode(pair.substr(eq + 1), true));
    }
    out.query[std::move(key)] = std::move(value);
  }
  return out;
}

RangeKind EvaluateRange(std::string_view header, uint64_t size, ByteRange* range) {
  header = Trim(header);
  if (header.empty()) return RangeKind::kNone;
  constexpr std::string_view kPrefix = "bytes=";
  if (header.substr(0, kPrefix.size()) != kPrefix) return RangeKind::kNone;
  std::string_view spec = Trim(header.substr(kPrefix.size()));
  if (spec.find(',') != std::string_view::npos) return RangeKind::kNone;
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return RangeKind::kNone;
  std::string_view a = Trim(spec.substr(0, dash));
  std::string_view b = Trim(spec.substr(dash + 1));
  uint64_t first = 0, last = 0;
  if (a.empty()) {
    // Suffix range: the last N bytes.
    uint64_t n = 0;
    if (!ParseU64(b, &n)) return RangeKind::kNone;
    if (n == 0 || size == 0) return RangeKind::kUnsatisfiable;
    if (n > size) n = size;
    range->first = size - n;
    range->length = n;
    return RangeKind::kSatisfiable;
  }
  if (!ParseU64(a, &first)) return RangeKind::kNone;
  if (b.empty()) {
    last = size == 0 ? 0 : size - 1;
  } else {
    if (!ParseU64(b, &last)) return RangeKind::kNone;
    if (last < first) return RangeKind::kNone;  // syntactically invalid: ignore
    if (size > 0 && last >= size) last = size - 1;
  }
  if (first >= size) return RangeKind::kUnsatisfiable;
  range->first = first;
  range->length = last - first + 1;
  return RangeKind::kSatisfiable;
}

bool IfNoneMatchMatches(std::string_view header, std::string_view etag) {
  header = Trim(header);
  if (header.empty()) return false;
  if (header == "*") return true;
  auto strip_weak = [](std::string_view t) {
    if (t.substr(0, 2) == "W/") t.remove_prefix(2);
    return t;
  };
  std::string_view want = strip_weak(etag);
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view tag = Trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    if (strip_weak(tag) == want) return true;
  }
  return false;
}

HttpResponse JsonResponse(int status, const nlohmann::json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  r.body.push_back('\n');
  r.SetHeader("Content-Type", "application/json");
  return r;
}

HttpResponse ErrorResponse(int status, const std::string& message) {
  return JsonResponse(status, {{"error", message}});
}

}  // namespace tern::hub
