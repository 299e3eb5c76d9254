// tern-agent's configuration: a JSON file (every key optional except the hub, state folder and
// model), overridable by command-line flags in tools/tern-agent. See docs/agent.md.
#pragma once

#include <cstdint>
#include <string>

#include "tern/status.h"

namespace tern::agent {

/// When the agent may download model files. The host (a phone app, a system service) writes
/// `conditions_file` as {"metered": bool, "charging": bool}; a condition that is required but
/// cannot be read counts as not met, so a device never spends a metered link by accident.
struct DownloadConditions {
  bool require_unmetered = false;
  bool require_charging = false;
  std::string conditions_file;
};

/// Federated learning on the device (docs/agent.md, "Federated learning"): off unless a data
/// folder is configured (or the host application hands the agent a data source).
struct FlConfig {
  /// Examples in the backend-test layout: DIR/test_data_set_*/input_0.pb (inputs) and
  /// input_1.pb (labels), as `tern train` reads them.
  std::string data_dir;
  /// JSON {"idle": bool, "charging": bool, "metered": bool} written by the host. Unset: the
  /// download conditions file; neither set: a dedicated device (always idle, charging,
  /// unmetered). A key that cannot be read counts as not met.
  std::string state_file;
  std::string task;                  ///< take part only in this task (empty: any)
  int max_checkin_interval_s = 300;  ///< caps the hub's "come back later"
};

struct AgentConfig {
  std::string hub_url;     ///< e.g. http://127.0.0.1:8700 or https://hub.example:8700
  std::string ca_file;     ///< PEM CA bundle that signs the hub's TLS certificate ("": system)
  std::string state_dir;   ///< slots, trust state, device token, telemetry queue
  std::string root_file;   ///< the initial root.json, provisioned out of band
  std::string enroll_key;  ///< tern_enr_… (or enroll_key_file)
  std::string enroll_key_file;
  std::string device_name;
  std::string model;  ///< used until the hub hands out assignments
  std::string version = "latest";
  std::string socket_path;            ///< default STATE/agent.sock
  std::string providers = "cpu,ref";  ///< session providers, in order of preference

  int poll_interval_s = 60;
  int long_poll_s = 55;
  bool delta_updates = true;  ///< ask the hub for a zstd patch against the active model  ///< long-poll wait on the assignment (0: plain polling only)
  int http_timeout_s = 30;
  int max_attempts = 5;  ///< per request, with exponential backoff and jitter
  int backoff_initial_ms = 200;
  int backoff_max_ms = 10000;

  double probe_atol = 1e-4;
  double probe_rtol = 1e-3;
  int probe_latency_budget_ms = 2000;  ///< slowest probe run allowed in the health check
  int max_trial_attempts = 2;          ///< health checks of one install before rolling back

  int telemetry_interval_s = 60;
  int telemetry_max_reports = 256;  ///< on-disk queue bound; the oldest are dropped

  DownloadConditions conditions;
  FlConfig fl;
  /// Shifts the agent's clock, in seconds (tests of expiry; TERN_AGENT_TIME_OFFSET).
  int64_t time_offset_s = 0;
  /// Step at which to _exit(3), for crash tests (TERN_AGENT_CRASH_AT); empty: never.
  std::string crash_at;

  Status Validate() const;
};

/// Reads a JSON config file into `config` (keys not present keep their values).
Status LoadConfigFile(const std::string& path, AgentConfig* config);

/// Whether downloads may start now under `conditions`; `why` says what is missing.
bool DownloadAllowed(const DownloadConditions& conditions, std::string* why);

}  // namespace tern::agent
