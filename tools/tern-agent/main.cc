// tern-agent: the device daemon (src/agent). Argument parsing only.
//
//   tern-agent run --config agent.json [flags]     serve and follow the hub until SIGTERM
//   tern-agent run ... --once                      one sync round, then exit (exit code below)
//   tern-agent infer --socket PATH in_0.pb ... --out DIR   run the served model once
//
// --once exit codes: 0 installed, up to date, deferred, skipped or nothing published;
// 2 rolled back; 4 refused (verification failed); 1 error.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "agent/agent.h"
#include "agent/server.h"
#include "fleet/file_util.h"

namespace {

int Infer(const std::string& socket, const std::vector<std::string>& inputs,
          const std::string& out) {
  std::vector<std::string> tensors;
  for (const auto& path : inputs) {
    auto bytes = tern::fleet::ReadFile(path, 64u << 20);
    if (!bytes.ok()) {
      std::fprintf(stderr, "tern-agent: %s\n", bytes.status().ToString().c_str());
      return 1;
    }
    tensors.push_back(*bytes);
  }
  auto reply = tern::agent::SocketRequest(socket, tern::agent::EncodeRunRequest(tensors));
  auto outputs = reply.ok() ? tern::agent::DecodeRunReply(*reply)
                            : tern::Result<std::vector<std::string>>(reply.status());
  if (!outputs.ok()) {
    std::fprintf(stderr, "tern-agent: %s\n", outputs.status().ToString().c_str());
    return 1;
  }
  for (size_t i = 0; i < outputs->size(); ++i) {
    std::string path = out + "/output_" + std::to_string(i) + ".pb";
    tern::Status st = tern::fleet::WriteFileAtomic(path, (*outputs)[i]);
    if (!st.ok()) {
      std::fprintf(stderr, "tern-agent: %s\n", st.ToString().c_str());
      return 1;
    }
    std::printf("%s\n", path.c_str());
  }
  return 0;
}

int ExitCode(tern::agent::SyncOutcome o) {
  using tern::agent::SyncOutcome;
  if (o == SyncOutcome::kRolledBack) return 2;
  if (o == SyncOutcome::kRefused) return 4;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tern-agent: pulls verified models from a tern-hub and serves them locally"};
  app.require_subcommand(1);
  tern::agent::AgentConfig config;
  std::string config_file;
  bool once = false, no_serve = false;
  auto* run = app.add_subcommand("run", "Serve the active model and follow the hub");
  run->add_option("--config", config_file, "JSON config file (docs/agent.md)");
  run->add_option("--hub", config.hub_url, "Hub URL, e.g. http://127.0.0.1:8700");
  run->add_option("--ca-file", config.ca_file, "PEM CA bundle for an https hub (default: system)");
  run->add_option("--state", config.state_dir, "State folder");
  run->add_option("--root", config.root_file, "Initial root.json (provisioned out of band)");
  run->add_option("--enroll-key-file", config.enroll_key_file, "File holding the enroll key");
  run->add_option("--model", config.model, "Model to follow until the hub assigns one");
  run->add_option("--version", config.version, "Version to install (default: latest)");
  run->add_option("--socket", config.socket_path,
                  "Unix socket to serve on (default STATE/agent.sock)");
  run->add_option("--poll", config.poll_interval_s, "Seconds between syncs");
  run->add_option("--long-poll", config.long_poll_s,
                  "Seconds to hold a long-poll on the assignment (0: plain polling)");
  run->add_option("--telemetry-interval", config.telemetry_interval_s, "Seconds between reports");
  run->add_option("--conditions-file", config.conditions.conditions_file,
                  "JSON {\"metered\": bool, \"charging\": bool} written by the host");
  run->add_flag("--once", once, "One sync round, then exit");
  run->add_flag("--no-serve", no_serve, "Do not open the inference socket");
  bool unmetered = false, charging = false;
  run->add_flag("--require-unmetered", unmetered, "Download only on an unmetered network");
  run->add_flag("--require-charging", charging, "Download only while charging");

  std::string socket, out = ".";
  std::vector<std::string> inputs;
  auto* infer = app.add_subcommand("infer", "Run the served model on input_K.pb files");
  infer->add_option("--socket", socket, "The agent's socket")->required();
  infer->add_option("--out", out, "Folder for output_K.pb");
  infer->add_option("inputs", inputs, "Serialized TensorProtos, in input order");
  CLI11_PARSE(app, argc, argv);

  if (infer->parsed()) return Infer(socket, inputs, out);

  // Flags win over the file: load the file into a fresh config, then re-apply what was given.
  if (!config_file.empty()) {
    tern::agent::AgentConfig from_file;
    tern::Status st = tern::agent::LoadConfigFile(config_file, &from_file);
    if (!st.ok()) {
      std::fprintf(stderr, "tern-agent: %s\n", st.ToString().c_str());
      return 1;
    }
    for (auto* opt : run->get_options()) {
      if (opt->count() == 0) continue;
      const std::string name = opt->get_name();
      if (name == "--hub") from_file.hub_url = config.hub_url;
      if (name == "--ca-file") from_file.ca_file = config.ca_file;
      if (name == "--state") from_file.state_dir = config.state_dir;
      if (name == "--root") from_file.root_file = config.root_file;
      if (name == "--enroll-key-file") from_file.enroll_key_file = config.enroll_key_file;
      if (name == "--model") from_file.model = config.model;
      if (name == "--version") from_file.version = config.version;
      if (name == "--socket") from_file.socket_path = config.socket_path;
      if (name == "--poll") from_file.poll_interval_s = config.poll_interval_s;
      if (name == "--long-poll") from_file.long_poll_s = config.long_poll_s;
      if (name == "--telemetry-interval")
        from_file.telemetry_interval_s = config.telemetry_interval_s;
      if (name == "--conditions-file")
        from_file.conditions.conditions_file = config.conditions.conditions_file;
    }
    config = from_file;
  }
  if (unmetered) config.conditions.require_unmetered = true;
  if (charging) config.conditions.require_charging = true;
  if (const char* crash = std::getenv("TERN_AGENT_CRASH_AT")) config.crash_at = crash;
  if (const char* offset = std::getenv("TERN_AGENT_TIME_OFFSET"))
    config.time_offset_s = std::atoll(offset);

  // SIGTERM/SIGINT are taken by one thread with sigwait, so no handler runs inside the agent.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  tern::agent::Agent agent(config);
  tern::Status st = agent.Init();
  if (!st.ok()) {
    std::fprintf(stderr, "tern-agent: %s\n", st.ToString().c_str());
    return 1;
  }
  if (once) {
    auto r = agent.SyncAndReport();
    agent.FlushTelemetry();
    if (!r.ok()) return 1;
    std::printf("%s\n", tern::agent::SyncOutcomeName(*r));
    return ExitCode(*r);
  }
  if (!no_serve) {
    st = agent.StartServing();
    if (!st.ok()) {
      std::fprintf(stderr, "tern-agent: %s\n", st.ToString().c_str());
      return 1;
    }
  }
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    agent.Stop();
  });
  agent.RunLoop();
  waiter.join();
  return 0;
}
