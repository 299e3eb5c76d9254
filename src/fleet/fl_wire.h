// The federated-learning wire schema shared by tern-hub and tern-agent (docs/api.md, "Federated
// learning"): the client plan, the device state of a check-in, SecAgg round parameters and
// float vectors (little-endian float32, base64). Readers check every type and range, so a
// malformed body is an error value, never an exception.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fl/privacy/secagg.h"
#include "fl/task.h"
#include "fleet/canonical_json.h"

namespace tern::fleet {

Json ClientPlanToJson(const fl::ClientPlan& plan);
/// Keys not present keep `base`'s values.
Result<fl::ClientPlan> ClientPlanFromJson(const Json& j, fl::ClientPlan base = {});

Json DeviceStateToJson(const fl::DeviceState& state);
Result<fl::DeviceState> DeviceStateFromJson(const Json& j);

Json SecAggConfigToJson(const fl::SecAggConfig& config);
Result<fl::SecAggConfig> SecAggConfigFromJson(const Json& j);

/// float32 values as base64 of their little-endian bytes.
std::string FloatsToBase64(const std::vector<float>& values);
Result<std::vector<float>> FloatsFromBase64(const std::string& text, size_t max_values);

/// The seed a device shuffles its examples with in (task, round, attempt): FNV-1a of the four,
/// so a test can replay a device's training exactly.
uint64_t FlTrainingSeed(const std::string& task, int64_t round, int64_t attempt,
                        const std::string& device);

/// Typed readers for optional keys of an object: absent keeps `*out`; a wrong type or a value
/// outside [lo, hi] is an InvalidArgument naming the key.
Status ReadNumber(const Json& j, const char* key, double lo, double hi, double* out);
Status ReadInt(const Json& j, const char* key, int64_t lo, int64_t hi, int64_t* out);
Status ReadBool(const Json& j, const char* key, bool* out);

}  // namespace tern::fleet
