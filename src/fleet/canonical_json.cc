#include "fleet/canonical_json.h"

#include <cstdint>

namespace tern::fleet {
namespace {

// Returns false on invalid UTF-8 (overlong forms, surrogates, code points above U+10FFFF).
bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

Status AppendString(const std::string& s, std::string* out) {
  if (!ValidUtf8(s)) return InvalidArgument("canonical JSON: string is not valid UTF-8");
  out->push_back('"');
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out->push_back('\\');
      out->push_back(ch);
    } else if (c < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out->append("\\u00");
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    } else {
      out->push_back(ch);
    }
  }
  out->push_back('"');
  return Status::Ok();
}

Status Append(const Json& v, std::string* out, int depth) {
  if (depth > 128) return InvalidArgument("canonical JSON: nesting too deep");
  switch (v.type()) {
    case Json::value_t::null: out->append("null"); return Status::Ok();
    case Json::value_t::boolean: out->append(v.get<bool>() ? "true" : "false"); return Status::Ok();
    case Json::value_t::number_integer: out->append(std::to_string(v.get<int64_t>())); return Status::Ok();
    case Json::value_t::number_unsigned:
      out->append(std::to_string(v.get<uint64_t>()));
      return Status::Ok();
    case Json::value_t::number_float:
      return InvalidArgument("canonical JSON: floating-point numbers are not allowed");
    case Json::value_t::string: return AppendString(v.get_ref<const std::string&>(), out);
    case Json::value_t::array: {
      out->push_back('[');
      bool first = true;
      for (const auto& e : v) {
        if (!first) out->push_back(',');
        first = false;
        TERN_RETURN_IF_ERROR(Append(e, out, depth + 1));
      }
      out->push_back(']');
      return Status::Ok();
    }
    case Json::value_t::object: {
      // nlohmann::json's object_t is std::map<std::string, ...>: iteration is in byte order.
      out->push_back('{');
      bool first = true;
      for (const auto& [key, value] : v.items()) {
        if (!first) out->push_back(',');
        first = false;
        TERN_RETURN_IF_ERROR(AppendString(key, out));
        out->push_back(':');
        TERN_RETURN_IF_ERROR(Append(value, out, depth + 1));
      }
      out->push_back('}');
      return Status::Ok();
    }
    case Json::value_t::binary:
    case Json::value_t::discarded: break;
  }
  return InvalidArgument("canonical JSON: unsupported value type");
}

}  // namespace

Result<std::string> CanonicalJson(const Json& value) {
  std::string out;
  TERN_RETURN_IF_ERROR(Append(value, &out, 0));
  return out;
}

Result<Json> ParseJson(std::string_view text, int max_depth) {
  // nlohmann's parser is iterative, so depth only costs memory; the limit keeps that bounded.
  bool too_deep = false;
  Json::parser_callback_t limit = [&](int depth, Json::parse_event_t event, Json&) {
    if ((event == Json::parse_event_t::object_start ||
         event == Json::parse_event_t::array_start) && depth >= max_depth) {
      too_deep = true;
    }
    return !too_deep;
  };
  Json j = Json::parse(text.begin(), text.end(), limit, /*allow_exceptions=*/false);
  if (too_deep) return InvalidArgument("JSON nesting deeper than " + std::to_string(max_depth));
  if (j.is_discarded()) return InvalidArgument("malformed JSON");
  return j;
}

}  // namespace tern::fleet
