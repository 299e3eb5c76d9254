#include "fleet/fl_wire.h"

#include <cmath>
#include <cstring>

#include "fleet/crypto.h"

namespace tern::fleet {

Status ReadNumber(const Json& j, const char* key, double lo, double hi, double* out) {
  if (!j.is_object()) return InvalidArgument("expected a JSON object");
  auto it = j.find(key);
  if (it == j.end()) return Status::Ok();
  if (!it->is_number()) return InvalidArgument(std::string("\"") + key + "\" must be a number");
  const double v = it->get<double>();
  if (!std::isfinite(v) || v < lo || v > hi)
    return InvalidArgument(std::string("\"") + key + "\" is out of range");
  *out = v;
  return Status::Ok();
}

Status ReadInt(const Json& j, const char* key, int64_t lo, int64_t hi, int64_t* out) {
  if (!j.is_object()) return InvalidArgument("expected a JSON object");
  auto it = j.find(key);
  if (it == j.end()) return Status::Ok();
  if (!it->is_number_integer())
    return InvalidArgument(std::string("\"") + key + "\" must be a whole number");
  const int64_t v = it->get<int64_t>();
  if (v < lo || v > hi) return InvalidArgument(std::string("\"") + key + "\" is out of range");
  *out = v;
  return Status::Ok();
}

Status ReadBool(const Json& j, const char* key, bool* out) {
  if (!j.is_object()) return InvalidArgument("expected a JSON object");
  auto it = j.find(key);
  if (it == j.end()) return Status::Ok();
  if (!it->is_boolean()) return InvalidArgument(std::string("\"") + key + "\" must be true/false");
  *out = it->get<bool>();
  return Status::Ok();
}

namespace {

template <typename T>
Status ReadIntAs(const Json& j, const char* key, int64_t lo, int64_t hi, T* out) {
  int64_t v = static_cast<int64_t>(*out);
  TERN_RETURN_IF_ERROR(ReadInt(j, key, lo, hi, &v));
  *out = static_cast<T>(v);
  return Status::Ok();
}

Status ReadFloat(const Json& j, const char* key, double lo, double hi, float* out) {
  double v = *out;
  TERN_RETURN_IF_ERROR(ReadNumber(j, key, lo, hi, &v));
  *out = static_cast<float>(v);
  return Status::Ok();
}

}  // namespace

Json ClientPlanToJson(const fl::ClientPlan& p) {
  return Json{{"epochs", p.epochs},      {"batch", p.batch},     {"learning_rate", p.learning_rate},
              {"momentum", p.momentum},  {"prox_mu", p.prox_mu}, {"clip_norm", p.clip_norm},
              {"max_steps", p.max_steps}};
}

Result<fl::ClientPlan> ClientPlanFromJson(const Json& j, fl::ClientPlan p) {
  TERN_RETURN_IF_ERROR(ReadIntAs(j, "epochs", 1, 1000, &p.epochs));
  TERN_RETURN_IF_ERROR(ReadInt(j, "batch", 1, 1 << 20, &p.batch));
  TERN_RETURN_IF_ERROR(ReadFloat(j, "learning_rate", 0, 100, &p.learning_rate));
  TERN_RETURN_IF_ERROR(ReadFloat(j, "momentum", 0, 0.999999, &p.momentum));
  TERN_RETURN_IF_ERROR(ReadFloat(j, "prox_mu", 0, 1e6, &p.prox_mu));
  TERN_RETURN_IF_ERROR(ReadFloat(j, "clip_norm", 0, 1e9, &p.clip_norm));
  TERN_RETURN_IF_ERROR(ReadInt(j, "max_steps", 0, int64_t{1} << 40, &p.max_steps));
  return p;
}

Json DeviceStateToJson(const fl::DeviceState& s) {
  return Json{{"idle", s.idle},
              {"charging", s.charging},
              {"unmetered", s.unmetered},
              {"examples", s.examples}};
}

Result<fl::DeviceState> DeviceStateFromJson(const Json& j) {
  // A state that says nothing is not eligible: only what the device reports counts.
  fl::DeviceState s{false, false, false, 0};
  TERN_RETURN_IF_ERROR(ReadBool(j, "idle", &s.idle));
  TERN_RETURN_IF_ERROR(ReadBool(j, "charging", &s.charging));
  TERN_RETURN_IF_ERROR(ReadBool(j, "unmetered", &s.unmetered));
  TERN_RETURN_IF_ERROR(ReadInt(j, "examples", 0, int64_t{1} << 40, &s.examples));
  return s;
}

Json SecAggConfigToJson(const fl::SecAggConfig& c) {
  return Json{{"num_clients", c.num_clients},
              {"threshold", c.threshold},
              {"vector_length", c.vector_length},
              {"modulus_bits", c.modulus_bits},
              {"neighbors", c.neighbors},
              {"graph_seed", Base64Encode(c.graph_seed.data(), c.graph_seed.size())},
              {"round_id", c.round_id}};
}

Result<fl::SecAggConfig> SecAggConfigFromJson(const Json& j) {
  fl::SecAggConfig c;
  constexpr int64_t kMax = int64_t{1} << 31;
  TERN_RETURN_IF_ERROR(ReadIntAs(j, "num_clients", 2, kMax, &c.num_clients));
  TERN_RETURN_IF_ERROR(ReadIntAs(j, "threshold", 1, kMax, &c.threshold));
  TERN_RETURN_IF_ERROR(ReadIntAs(j, "vector_length", 1, kMax, &c.vector_length));
  TERN_RETURN_IF_ERROR(ReadIntAs(j, "modulus_bits", 1, 32, &c.modulus_bits));
  TERN_RETURN_IF_ERROR(ReadIntAs(j, "neighbors", 0, kMax, &c.neighbors));
  TERN_RETURN_IF_ERROR(ReadIntAs(j, "round_id", 0, int64_t{1} << 62, &c.round_id));
  auto seed = j.find("graph_seed");
  if (seed != j.end()) {
    if (!seed->is_string()) return InvalidArgument("\"graph_seed\" must be base64");
    TERN_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, Base64Decode(seed->get<std::string>()));
    if (bytes.size() != c.graph_seed.size()) return InvalidArgument("\"graph_seed\" is 32 bytes");
    std::memcpy(c.graph_seed.data(), bytes.data(), bytes.size());
  }
  return c;
}

std::string FloatsToBase64(const std::vector<float>& values) {
  // Hosts are little-endian (x86-64, ARM64), as the wire is.
  return Base64Encode(reinterpret_cast<const uint8_t*>(values.data()),
                      values.size() * sizeof(float));
}

Result<std::vector<float>> FloatsFromBase64(const std::string& text, size_t max_values) {
  if (text.size() > (max_values * sizeof(float) + 2) / 3 * 4 + 4)
    return InvalidArgument("too many values");
  TERN_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, Base64Decode(text));
  if (bytes.size() % sizeof(float)) return InvalidArgument("not a whole number of float32 values");
  std::vector<float> v(bytes.size() / sizeof(float));
  if (!bytes.empty())
    std::memcpy(v.data(), bytes.data(), bytes.size());  // empty: data() may be null
  return v;
}

uint64_t FlTrainingSeed(const std::string& task, int64_t round, int64_t attempt,
                        const std::string& device) {
  const std::string key =
      task + "/" + std::to_string(round) + "/" + std::to_string(attempt) + "/" + device;
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace tern::fleet
