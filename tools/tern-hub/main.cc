// tern-hub: the fleet hub's command line. All the work happens in src/hub/.
//   tern-hub serve --data DIR --listen HOST:PORT [--store URL] [--keys DIR] [--threads N]
//                  [--port-file F]
//   tern-hub keys create --data DIR --name NAME [--role admin|enroll]
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "hub/hub.h"

namespace {

bool SplitHostPort(const std::string& listen, std::string* host, uint16_t* port) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size()) return false;
  *host = listen.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  const std::string p = listen.substr(colon + 1);
  if (p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) return false;
  unsigned long v = std::stoul(p);
  if (v > 65535) return false;
  *port = static_cast<uint16_t>(v);
  return !host->empty();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tern-hub: fleet hub for over-the-air model distribution"};
  app.require_subcommand(1);

  tern::hub::HubOptions options;
  std::string listen = "127.0.0.1:8700";
  uint64_t max_upload_mb = 4096;
  uint64_t manifest_ttl_days = 365;
  auto* serve = app.add_subcommand("serve", "Run the hub");
  serve->add_option("--data", options.data_dir, "Data folder (created at first start)")->required();
  serve->add_option("--listen", listen, "HOST:PORT to listen on (port 0: any free port)");
  serve->add_option("--store", options.store_url, "Store URL (default: sqlite file in DATA)");
  serve->add_option("--threads", options.http.threads, "Server threads")->check(CLI::Range(1, 256));
  serve->add_option("--max-upload-mb", max_upload_mb, "Largest blob upload, MiB");
  int64_t manifest_ttl_s = 0;
  serve
      ->add_option("--manifest-ttl-days", manifest_ttl_days,
                   "Validity of signed manifests; they are re-signed after half of it")
      ->check(CLI::Range(1, 3650));
  serve
      ->add_option("--manifest-ttl-s", manifest_ttl_s,
                   "Validity in seconds (tests); wins over days")
      ->check(CLI::Range(int64_t{2}, int64_t{3650} * 86400));
  serve->add_option("--tls-cert", options.http.tls_cert_file,
                    "PEM certificate (chain) to serve HTTPS with");
  serve->add_option("--tls-key", options.http.tls_key_file, "PEM private key of --tls-cert");
  serve->add_option("--keys", options.key_dir,
                    "Key folder from `tern keys export` (default: the hub's own keys in DATA)");
  serve->add_option("--port-file", options.port_file, "Write the bound port to this file");
  serve->add_option("--evaluate-every-ms", options.evaluate_interval_ms,
                    "How often rollout gates are evaluated")
      ->check(CLI::Range(int64_t{10}, int64_t{3600000}));
  serve->add_option("--poll-interval-s", options.api.poll_interval_s,
                    "Retry-After for assignment polls (jittered by 20%)")
      ->check(CLI::Range(int64_t{1}, int64_t{86400}));

  std::string key_data, key_store, key_name, key_role = "admin";
  auto* keys = app.add_subcommand("keys", "Manage API keys");
  keys->require_subcommand(1);
  auto* create = keys->add_subcommand("create", "Create an API key and print its token once");
  create->add_option("--data", key_data, "Data folder")->required();
  create->add_option("--store", key_store, "Store URL (default: sqlite file in DATA)");
  create->add_option("--name", key_name, "A name for the key")->required();
  create->add_option("--role", key_role, "admin or enroll (device registration only)")
      ->check(CLI::IsMember({"admin", "enroll"}));

  CLI11_PARSE(app, argc, argv);

  if (*create) {
    auto token = tern::hub::CreateApiKey(key_data, key_store, key_name, key_role);
    if (!token.ok()) {
      std::fprintf(stderr, "tern-hub: %s\n", token.status().ToString().c_str());
      return 1;
    }
    std::printf("%s\n", token->c_str());
    return 0;
  }

  if (!SplitHostPort(listen, &options.http.host, &options.http.port)) {
    std::fprintf(stderr, "tern-hub: --listen expects HOST:PORT, got %s\n", listen.c_str());
    return 2;
  }
  options.api.max_blob_bytes = max_upload_mb << 20;
  options.api.manifest_ttl_s =
      manifest_ttl_s > 0 ? manifest_ttl_s : static_cast<int64_t>(manifest_ttl_days) * 86400;
  auto hub = tern::hub::Hub::Start(options);
  if (!hub.ok()) {
    std::fprintf(stderr, "tern-hub: %s\n", hub.status().ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "tern-hub: listening on %s:%u, data in %s\n", options.http.host.c_str(),
               static_cast<unsigned>((*hub)->port()), options.data_dir.c_str());
  (*hub)->Run();
  std::fprintf(stderr, "tern-hub: stopped\n");
  return 0;
}
