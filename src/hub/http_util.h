// HTTP helpers without Boost: request-target parsing that refuses path tricks, Range and
// If-None-Match evaluation, JSON responses.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "hub/http_types.h"
#include "tern/status.h"

namespace tern::hub {

struct ParsedTarget {
  std::vector<std::string> path;
  std::map<std::string, std::string> query;
};

/// Splits an origin-form target ("/v1/blobs/abc?x=1") into decoded segments and query.
/// Refuses (InvalidArgument): anything not starting with '/', empty segments ("//", a trailing
/// '/'), "." and ".." (raw or percent-encoded), encoded '/' or '\\', NUL and control bytes,
/// bad percent escapes, and targets longer than `max_length`.
Result<ParsedTarget> ParseTarget(std::string_view target, size_t max_length = 4096);

/// Percent-decoding; InvalidArgument on a bad escape. `plus_is_space` for query strings.
Result<std::string> PercentDecode(std::string_view s, bool plus_is_space);

struct ByteRange {
  uint64_t first = 0;
  uint64_t length = 0;
};
enum class RangeKind {
  kNone,          ///< no Range header, or one we ignore (syntax we don't serve): send 200
  kSatisfiable,   ///< send 206 with `range`
  kUnsatisfiable  ///< send 416
};
/// Evaluates a Range header against a representation of `size` bytes. Only a single
/// "bytes=" range is served; several ranges are answered with the whole body (RFC 9110 allows
/// ignoring Range).
RangeKind EvaluateRange(std::string_view header, uint64_t size, ByteRange* range);

/// True when an If-None-Match header matches `etag` (quoted, e.g. "\"abc\""): "*" or any listed
/// tag, compared weakly as RFC 9110 says for If-None-Match.
bool IfNoneMatchMatches(std::string_view header, std::string_view etag);

/// A JSON response with Content-Type application/json.
HttpResponse JsonResponse(int status, const nlohmann::json& body);
/// {"error": message} with `status`.
HttpResponse ErrorResponse(int status, const std::string& message);

}  // namespace tern::hub
