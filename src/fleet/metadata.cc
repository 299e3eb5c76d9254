#include "fleet/metadata.h"

#include <cstdio>
#include <cstring>
#include <ctime>
#include <set>

namespace tern::fleet {
namespace {

Status Bad(const std::string& what) { return InvalidArgument("metadata: " + what); }

Result<const Json*> Field(const Json& obj, const char* name, Json::value_t type) {
  auto it = obj.find(name);
  if (it == obj.end()) return Bad(std::string("missing \"") + name + "\"");
  bool ok = it->type() == type ||
            (type == Json::value_t::number_integer && it->is_number_unsigned());
  if (!ok) return Bad(std::string("\"") + name + "\" has the wrong type");
  return &*it;
}

Result<int64_t> IntField(const Json& obj, const char* name) {
  TERN_ASSIGN_OR_RETURN(const Json* v, Field(obj, name, Json::value_t::number_integer));
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    return Bad(std::string("\"") + name + "\" is out of range");
  }
  return v->get<int64_t>();
}

Result<std::string> StringField(const Json& obj, const char* name) {
  TERN_ASSIGN_OR_RETURN(const Json* v, Field(obj, name, Json::value_t::string));
  return v->get<std::string>();
}

Result<std::vector<std::string>> StringList(const Json& obj, const char* name) {
  TERN_ASSIGN_OR_RETURN(const Json* v, Field(obj, name, Json::value_t::array));
  std::vector<std::string> out;
  for (const auto& e : *v) {
    if (!e.is_string()) return Bad(std::string("\"") + name + "\" must hold strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

// The fields every signed body has.
struct Common {
  int64_t version;
  int64_t expires;
};

Result<Common> ParseCommon(const Json& body, const char* type) {
  if (!body.is_object()) return Bad("\"signed\" is not an object");
  TERN_ASSIGN_OR_RETURN(std::string t, StringField(body, "_type"));
  if (t != type) return Bad("expected _type \"" + std::string(type) + "\", got \"" + t + "\"");
  TERN_ASSIGN_OR_RETURN(int64_t spec, IntField(body, "spec_version"));
  if (spec != kSpecVersion) return Bad("unsupported spec_version " + std::to_string(spec));
  Common c{};
  TERN_ASSIGN_OR_RETURN(c.version, IntField(body, "version"));
  if (c.version < 1) return Bad("version must be at least 1");
  TERN_ASSIGN_OR_RETURN(std::string expires, StringField(body, "expires"));
  TERN_ASSIGN_OR_RETURN(c.expires, ParseTime(expires));
  return c;
}

Json RoleToJson(const RoleKeys& r) { return {{"keyids", r.keyids}, {"threshold", r.threshold}}; }

Result<RoleKeys> RoleFromJson(const Json& roles, const char* name,
                              const std::map<std::string, PublicKey>& keys) {
  TERN_ASSIGN_OR_RETURN(const Json* role, Field(roles, name, Json::value_t::object));
  RoleKeys r;
  TERN_ASSIGN_OR_RETURN(r.keyids, StringList(*role, "keyids"));
  TERN_ASSIGN_OR_RETURN(r.threshold, IntField(*role, "threshold"));
  std::set<std::string> unique(r.keyids.begin(), r.keyids.end());
  if (unique.size() != r.keyids.size()) return Bad(std::string("role ") + name + " repeats a key");
  if (r.threshold < 1 || r.threshold > static_cast<int64_t>(r.keyids.size())) {
    return Bad(std::string("role ") + name + " has an impossible threshold");
  }
  for (const auto& id : r.keyids) {
    if (!keys.count(id)) return Bad(std::string("role ") + name + " names unknown key " + id);
  }
  return r;
}

}  // namespace

std::string FormatTime(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<int64_t> ParseTime(std::string_view text) {
  // Exactly YYYY-MM-DDTHH:MM:SSZ.
  static constexpr char kShape[] = "dddd-dd-ddTdd:dd:ddZ";
  if (text.size() != sizeof(kShape) - 1) return Bad("bad time \"" + std::string(text) + "\"");
  for (size_t i = 0; i < text.size(); ++i) {
    bool ok = kShape[i] == 'd' ? (text[i] >= '0' && text[i] <= '9') : text[i] == kShape[i];
    if (!ok) return Bad("bad time \"" + std::string(text) + "\"");
  }
  auto num = [&](size_t pos, size_t len) {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) v = v * 10 + (text[i] - '0');
    return v;
  };
  std::tm tm{};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(5, 2) - 1;
  tm.tm_mday = num(8, 2);
  tm.tm_hour = num(11, 2);
  tm.tm_min = num(14, 2);
  tm.tm_sec = num(17, 2);
  std::tm copy = tm;
  int64_t t = static_cast<int64_t>(timegm(&tm));
  // timegm normalizes out-of-range fields (Feb 30 → Mar 2); refuse those.
  if (tm.tm_mon != copy.tm_mon || tm.tm_mday != copy.tm_mday || tm.tm_hour != copy.tm_hour ||
      tm.tm_min != copy.tm_min || tm.tm_sec != copy.tm_sec) {
    return Bad("time out of range \"" + std::string(text) + "\"");
  }
  return t;
}

Result<Json> SignEnvelope(const Json& signed_body, const std::vector<const KeyPair*>& keys) {
  TERN_ASSIGN_OR_RETURN(std::string canonical, CanonicalJson(signed_body));
  Json sigs = Json::array();
  for (const KeyPair* k : keys) {
    Signature sig = k->Sign(canonical);
    sigs.push_back({{"keyid", k->KeyId()}, {"sig", Base64Encode(sig.data(), sig.size())}});
  }
  return Json{{"signed", signed_body}, {"signatures", sigs}};
}

Status VerifyEnvelope(const Json& envelope, const std::map<std::string, PublicKey>& keys,
                      const std::vector<std::string>& allowed_keyids, int64_t threshold) {
  if (!envelope.is_object()) return Bad("envelope is not an object");
  if (envelope.size() != 2) return Bad("envelope must hold only \"signed\" and \"signatures\"");
  TERN_ASSIGN_OR_RETURN(const Json* body, Field(envelope, "signed", Json::value_t::object));
  TERN_ASSIGN_OR_RETURN(const Json* sigs, Field(envelope, "signatures", Json::value_t::array));
  if (threshold < 1) return Bad("threshold must be at least 1");
  TERN_ASSIGN_OR_RETURN(std::string canonical, CanonicalJson(*body));
  std::set<std::string> allowed(allowed_keyids.begin(), allowed_keyids.end());
  std::set<std::string> good;
  for (const auto& s : *sigs) {
    if (!s.is_object()) return Bad("a signature is not an object");
    TERN_ASSIGN_OR_RETURN(std::string keyid, StringField(s, "keyid"));
    TERN_ASSIGN_OR_RETURN(std::string sig_b64, StringField(s, "sig"));
    if (!allowed.count(keyid) || good.count(keyid)) continue;
    auto key = keys.find(keyid);
    if (key == keys.end()) continue;
    auto raw = Base64Decode(sig_b64);
    if (!raw.ok() || raw->size() != kSignatureBytes) continue;
    Signature sig{};
    std::memcpy(sig.data(), raw->data(), kSignatureBytes);
    if (VerifySignature(key->second, canonical, sig)) good.insert(keyid);
  }
  if (static_cast<int64_t>(good.size()) < threshold) {
    return Status(StatusCode::kFailedPrecondition,
                  "signature check failed: " + std::to_string(good.size()) + " valid of " +
                      std::to_string(threshold) + " required");
  }
  return Status::Ok();
}

// ---- root ----

Json RootMetadata::ToJson() const {
  Json jkeys = Json::object();
  for (const auto& [id, pk] : keys) jkeys[id] = {{"keytype", "ed25519"}, {"public", HexEncode(pk)}};
  return {{"_type", "root"},
          {"spec_version", kSpecVersion},
          {"version", version},
          {"expires", FormatTime(expires)},
          {"keys", jkeys},
          {"roles", {{"root", RoleToJson(root)}, {"targets", RoleToJson(targets)}}}};
}

Result<RootMetadata> RootMetadata::FromJson(const Json& body) {
  TERN_ASSIGN_OR_RETURN(Common c, ParseCommon(body, "root"));
  RootMetadata r;
  r.version = c.version;
  r.expires = c.expires;
  TERN_ASSIGN_OR_RETURN(const Json* jkeys, Field(body, "keys", Json::value_t::object));
  for (const auto& [id, k] : jkeys->items()) {
    if (!k.is_object()) return Bad("key " + id + " is not an object");
    TERN_ASSIGN_OR_RETURN(std::string type, StringField(k, "keytype"));
    if (type != "ed25519") return Bad("key " + id + " has unsupported type " + type);
    TERN_ASSIGN_OR_RETURN(std::string pub_hex, StringField(k, "public"));
    auto pub = HexDecode(pub_hex, kPublicKeyBytes);
    if (!pub.ok()) return Bad("key " + id + ": " + pub.status().message());
    PublicKey pk{};
    std::memcpy(pk.data(), pub->data(), kPublicKeyBytes);
    if (KeyIdOf(pk) != id) return Bad("key id " + id + " does not match its key");
    r.keys[id] = pk;
  }
  TERN_ASSIGN_OR_RETURN(const Json* roles, Field(body, "roles", Json::value_t::object));
  TERN_ASSIGN_OR_RETURN(r.root, RoleFromJson(*roles, "root", r.keys));
  TERN_ASSIGN_OR_RETURN(r.targets, RoleFromJson(*roles, "targets", r.keys));
  return r;
}

// ---- targets ----

Json TargetsMetadata::ToJson() const {
  Json vars = Json::array();
  for (const auto& v : variants) {
    Json jv = {{"name", v.name},         {"precision", v.precision},
               {"provider", v.provider}, {"cpu_features", v.cpu_features},
               {"size", v.size},         {"sha256", v.sha256}};
    if (!v.probe_sha256.empty()) {
      jv["probe_sha256"] = v.probe_sha256;
      jv["probe_size"] = v.probe_size;
    }
    vars.push_back(std::move(jv));
  }
  return {{"_type", "targets"},  {"spec_version", kSpecVersion},
          {"version", version},  {"expires", FormatTime(expires)},
          {"model", model},      {"model_version", model_version},
          {"variants", vars}};
}

Result<TargetsMetadata> TargetsMetadata::FromJson(const Json& body) {
  TERN_ASSIGN_OR_RETURN(Common c, ParseCommon(body, "targets"));
  TargetsMetadata t;
  t.version = c.version;
  t.expires = c.expires;
  TERN_ASSIGN_OR_RETURN(t.model, StringField(body, "model"));
  TERN_ASSIGN_OR_RETURN(t.model_version, StringField(body, "model_version"));
  TERN_ASSIGN_OR_RETURN(const Json* vars, Field(body, "variants", Json::value_t::array));
  std::set<std::string> names;
  for (const auto& jv : *vars) {
    if (!jv.is_object()) return Bad("a variant is not an object");
    TargetVariant v;
    TERN_ASSIGN_OR_RETURN(v.name, StringField(jv, "name"));
    TERN_ASSIGN_OR_RETURN(v.precision, StringField(jv, "precision"));
    TERN_ASSIGN_OR_RETURN(v.provider, StringField(jv, "provider"));
    TERN_ASSIGN_OR_RETURN(v.cpu_features, StringList(jv, "cpu_features"));
    TERN_ASSIGN_OR_RETURN(int64_t size, IntField(jv, "size"));
    if (size < 0) return Bad("variant " + v.name + " has a negative size");
    v.size = static_cast<uint64_t>(size);
    TERN_ASSIGN_OR_RETURN(v.sha256, StringField(jv, "sha256"));
    if (!IsSha256Hex(v.sha256)) return Bad("variant " + v.name + " has a malformed sha256");
    if (jv.contains("probe_sha256")) {
      TERN_ASSIGN_OR_RETURN(v.probe_sha256, StringField(jv, "probe_sha256"));
      if (!IsSha256Hex(v.probe_sha256)) return Bad("variant " + v.name + " has a malformed probe");
      TERN_ASSIGN_OR_RETURN(int64_t probe_size, IntField(jv, "probe_size"));
      if (probe_size < 0) return Bad("variant " + v.name + " has a negative probe size");
      v.probe_size = static_cast<uint64_t>(probe_size);
    }
    if (!names.insert(v.name).second) return Bad("variant name " + v.name + " repeats");
    t.variants.push_back(std::move(v));
  }
  if (t.variants.empty()) return Bad("a manifest needs at least one variant");
  return t;
}

}  // namespace tern::fleet
