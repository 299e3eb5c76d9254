#include "hub/hub.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "fleet/canonical_json.h"
#include "fleet/file_util.h"
#include "fleet/metadata.h"

namespace tern::hub {
namespace {

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

Result<std::unique_ptr<Store>> OpenMigrated(const std::string& data_dir, const std::string& url) {
  TERN_RETURN_IF_ERROR(fleet::MakeDirs(data_dir, 0700));
  TERN_ASSIGN_OR_RETURN(auto store, OpenStore(url, data_dir));
  TERN_RETURN_IF_ERROR(store->Migrate());
  return store;
}

}  // namespace

Hub::~Hub() {
  {
    std::lock_guard<std::mutex> lock(evaluator_mu_);
    evaluator_stop_ = true;
  }
  evaluator_cv_.notify_all();
  if (evaluator_.joinable()) evaluator_.join();
  change_watch_.reset();  // it signals long_poll_
  // Parked long-polls hold server sessions: answer them while the server still exists.
  if (long_poll_) long_poll_->Shutdown();
}

void Hub::EvaluateLoop(int64_t interval_ms) {
  std::unique_lock<std::mutex> lock(evaluator_mu_);
  while (!evaluator_cv_.wait_for(lock, std::chrono::milliseconds(interval_ms),
                                 [this] { return evaluator_stop_; })) {
    lock.unlock();
    fl_->Tick();  // federated rounds' timers (secure aggregation steps, deadlines)
    auto changed = rollouts_->Tick();
    if (!changed.ok()) {
      std::fprintf(stderr, "tern-hub: rollout evaluation: %s\n",
                   changed.status().ToString().c_str());
    }
    Status refreshed = RefreshManifests();
    if (!refreshed.ok()) {
      std::fprintf(stderr, "tern-hub: manifest refresh: %s\n", refreshed.ToString().c_str());
    }
    lock.lock();
  }
}

Result<std::string> Hub::Resign(const ModelVersionRecord& v, int64_t counter) const {
  auto env = fleet::ParseJson(v.manifest_json);
  if (!env.ok() || !env->is_object() || !env->contains("signed"))
    return Internal("stored manifest of " + v.model + " " + v.version + " is unreadable");
  TERN_ASSIGN_OR_RETURN(fleet::TargetsMetadata t,
                        fleet::TargetsMetadata::FromJson((*env)["signed"]));
  t.version = counter;
  t.expires = clock_() + manifest_ttl_s_;
  TERN_ASSIGN_OR_RETURN(fleet::Json signed_env, keys_->SignTargets(t));
  return signed_env.dump();
}

Status Hub::RefreshManifests() {
  TERN_ASSIGN_OR_RETURN(bool moved, keys_->Reload());
  if (moved) {
    std::fprintf(stderr, "tern-hub: now on root v%lld\n",
                 static_cast<long long>(keys_->root_version()));
  }
  const int64_t now = clock_();
  // The scan reads every manifest; a fraction of the validity is often enough (at least once a
  // minute), except right after a rotation, which must reach agents at once.
  const int64_t scan_every = std::clamp<int64_t>(manifest_ttl_s_ / 8, 1, 60);
  if (!moved && now - last_scan_ < scan_every) return Status::Ok();
  last_scan_ = now;
  bool changed = false;
  TERN_ASSIGN_OR_RETURN(std::vector<std::string> models, store_->ListModels());
  for (const auto& model : models) {
    TERN_ASSIGN_OR_RETURN(std::vector<ModelVersionRecord> versions, store_->ListVersions(model));
    std::vector<const ModelVersionRecord*> due;
    for (const auto& v : versions) {
      fleet::Json env = fleet::Json::parse(v.manifest_json, nullptr, false);
      if (!env.is_object() || !env.contains("signed") || !env["signed"].is_object()) continue;
      auto expires = fleet::ParseTime(env["signed"].value("expires", ""));
      std::string keyid;
      if (env.contains("signatures") && env["signatures"].is_array() &&
          !env["signatures"].empty() && env["signatures"][0].is_object()) {
        keyid = env["signatures"][0].value("keyid", "");
      }
      if (!expires.ok() || *expires - now < manifest_ttl_s_ / 2 ||
          !keys_->CertifiesTargetsKey(keyid)) {
        due.push_back(&v);
      }
    }
    // Oldest counter first, so versions re-signed together keep their order.
    std::sort(due.begin(), due.end(), [](const auto* a, const auto* b) {
      return a->manifest_version < b->manifest_version;
    });
    for (const ModelVersionRecord* v : due) {
      // Only when nobody (a replica, a rollback order) re-signed it since it was read.
      TERN_ASSIGN_OR_RETURN(auto done, store_->ResignModelVersion(
                                           model, v->version, v->manifest_version + 1,
                                           [&](int64_t counter) { return Resign(*v, counter); }));
      changed = changed || done.has_value();
    }
  }
  if (changed) long_poll_->Notify();
  return Status::Ok();
}

Result<std::unique_ptr<Hub>> Hub::Start(const HubOptions& options) {
  if (options.data_dir.empty()) return InvalidArgument("--data is required");
  std::unique_ptr<Hub> hub(new Hub());
  TERN_ASSIGN_OR_RETURN(hub->store_, OpenMigrated(options.data_dir, options.store_url));
  TERN_ASSIGN_OR_RETURN(BlobStore blobs, BlobStore::Open(options.data_dir));
  hub->blobs_ = std::make_unique<BlobStore>(std::move(blobs));
  if (options.key_dir.empty()) {
    TERN_ASSIGN_OR_RETURN(HubKeys keys, HubKeys::OpenOrCreate(options.data_dir, Now()));
    hub->keys_ = std::make_unique<HubKeys>(std::move(keys));
  } else {
    TERN_ASSIGN_OR_RETURN(HubKeys keys, HubKeys::Open(options.key_dir));
    hub->keys_ = std::make_unique<HubKeys>(std::move(keys));
  }

  TERN_ASSIGN_OR_RETURN(int64_t key_count, hub->store_->CountApiKeys());
  if (key_count == 0) {
    // First start: one admin key, handed over through a private file. The file is written
    // before the key is stored, so a crash in between only means a new key next start.
    std::string token = HubApi::NewAdminToken();
    TERN_RETURN_IF_ERROR(
        fleet::WriteFileAtomic(options.data_dir + "/admin.key", token + "\n", 0600));
    TERN_RETURN_IF_ERROR(
        hub->store_->InsertApiKey("admin", "admin", HubApi::TokenHash(token), Now()));
  }

  hub->metrics_ = std::make_unique<RequestMetrics>();
  hub->long_poll_ = std::make_unique<LongPoll>();
  // Assignments also change through other replicas on a shared store: their changes wake this
  // hub's long-polls too.
  auto wake = [poll = hub->long_poll_.get()] { poll->Notify(); };
  TERN_ASSIGN_OR_RETURN(hub->change_watch_, hub->store_->WatchChanges(wake));
  std::function<int64_t()> clock = options.api.clock ? options.api.clock : Now;
  hub->rollouts_ = std::make_unique<RolloutService>(
      hub->store_.get(), clock, [poll = hub->long_poll_.get()] { poll->Notify(); });
  hub->clock_ = clock;
  hub->manifest_ttl_s_ = options.api.manifest_ttl_s;
  hub->rollouts_->set_resigner([raw = hub.get()](const ModelVersionRecord& v, int64_t counter) {
    return raw->Resign(v, counter);
  });
  hub->fl_ = std::make_unique<FlService>(hub->store_.get(), hub->blobs_.get(), hub->keys_.get(),
                                         clock, options.api.manifest_ttl_s,
                                         options.data_dir + "/fl");
  hub->fl_->Restore();
  FleetServices fleet{hub->rollouts_.get(), hub->long_poll_.get(), hub->metrics_.get(),
                      hub->fl_.get()};
  hub->api_ = std::make_unique<HubApi>(hub->store_.get(), hub->blobs_.get(), hub->keys_.get(),
                                       fleet, options.api);
  TERN_ASSIGN_OR_RETURN(hub->server_, HttpServer::Start(options.http, hub->api_.get()));
  const int64_t interval = std::max<int64_t>(options.evaluate_interval_ms, 10);
  hub->evaluator_ = std::thread([raw = hub.get(), interval] { raw->EvaluateLoop(interval); });
  if (!options.port_file.empty()) {
    TERN_RETURN_IF_ERROR(
        fleet::WriteFileAtomic(options.port_file, std::to_string(hub->port()) + "\n", 0644));
  }
  return hub;
}

Result<std::string> CreateApiKey(const std::string& data_dir, const std::string& store_url,
                                 const std::string& name, const std::string& role) {
  if (role != "admin" && role != "enroll") return InvalidArgument("role must be admin or enroll");
  TERN_ASSIGN_OR_RETURN(auto store, OpenMigrated(data_dir, store_url));
  std::string token = role == "admin" ? HubApi::NewAdminToken() : HubApi::NewEnrollToken();
  TERN_RETURN_IF_ERROR(store->InsertApiKey(name, role, HubApi::TokenHash(token), Now()));
  return token;
}

}  // namespace tern::hub
