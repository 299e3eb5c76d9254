// Canonical JSON: the exact bytes that signatures cover.
//
// Objects are written with their keys sorted by byte value (nlohmann::json keeps objects in a
// std::map, whose std::string order is memcmp order), no whitespace, strings as raw UTF-8 with
// only '"', '\\' and control characters escaped (control characters as \u00xx, lowercase), and
// integers in plain decimal. Floating-point numbers are refused: their text form is not unique,
// and signed metadata has no need for them. Invalid UTF-8 is refused too.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "tern/status.h"

namespace tern::fleet {

using Json = nlohmann::json;

/// The canonical form of `value`, or InvalidArgument for floats or invalid UTF-8.
Result<std::string> CanonicalJson(const Json& value);

/// Parses JSON text without throwing; InvalidArgument with the parser's message on error.
/// Depth is limited (`max_depth`) so hostile input cannot exhaust the stack.
Result<Json> ParseJson(std::string_view text, int max_depth = 64);

}  // namespace tern::fleet
