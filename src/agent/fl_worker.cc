#include "agent/fl_worker.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <thread>

#include "fl/secure_sum.h"
#include "fleet/crypto.h"
#include "fleet/file_util.h"
#include "fleet/fl_wire.h"

namespace tern::agent {
namespace {

using fleet::Json;

constexpr uint64_t kMaxModelBytes = 256ull << 20;

void Log(const std::string& line) { std::fprintf(stderr, "tern-agent: fl: %s\n", line.c_str()); }

std::string StringOr(const Json& j, const char* key) {
  auto it = j.is_object() ? j.find(key) : j.end();
  return j.is_object() && it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// Hub answers are checked, not trusted: a wrong type reads as false (nlohmann's value() throws).
bool BoolOr(const Json& j, const char* key) {
  bool v = false;
  return fleet::ReadBool(j, key, &v).ok() && v;
}

Status Failed(std::string m) { return Status(StatusCode::kFailedPrecondition, std::move(m)); }

}  // namespace

// What the worker knows of the round it was selected for.
struct FlWorker::Round {
  std::string task;
  int64_t round = 0, attempt = 0;
  double deadline = 0;  ///< on Clock()
  std::string base;     ///< "/v1/fl/tasks/TASK/"
};

FlWorker::FlWorker(const AgentConfig& config, const std::atomic<bool>* stop, CrashPoints crash,
                   std::unique_ptr<fl::DataSource> data)
    : config_(config), stop_(stop), crash_(std::move(crash)), client_(config, stop) {
  if (!data) data = std::make_unique<fl::FolderDataSource>(config.fl.data_dir);
  fl_client_ = std::make_unique<fl::FlClient>("", std::move(data));
}

FlWorker::~FlWorker() = default;

void FlWorker::set_device(std::string id, std::string token) {
  device_id_ = std::move(id);
  client_.set_token(std::move(token));
}

double FlWorker::Clock() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

fl::DeviceState FlWorker::State() {
  fl::DeviceState s;  // a dedicated device when the host says nothing
  const std::string& file =
      !config_.fl.state_file.empty() ? config_.fl.state_file : config_.conditions.conditions_file;
  if (!file.empty()) {
    auto text = fleet::ReadFile(file, 64 << 10);
    auto j = text.ok() ? fleet::ParseJson(*text) : Result<Json>(text.status());
    const Json state = j.ok() && j->is_object() ? *j : Json::object();
    auto flag = [&](const char* key, bool want) {
      auto it = state.find(key);
      return it != state.end() && it->is_boolean() && it->get<bool>() == want;
    };
    s.idle = flag("idle", true);
    s.charging = flag("charging", true);
    s.unmetered = flag("metered", false);
  }
  auto count = fl_client_->data().Count();
  s.examples = count.ok() ? *count : 0;
  return s;
}

Status FlWorker::Post(const std::string& path, const Json& body) {
  TERN_ASSIGN_OR_RETURN(HttpReply r, client_.Call("POST", path, body.dump()));
  if (r.status != 200)
    return Failed("POST " + path + ": HTTP " + std::to_string(r.status) + " " +
                  r.body.substr(0, 200));
  return Status::Ok();
}

Result<double> FlWorker::RunOnce() {
  const double cap = std::max(1, config_.fl.max_checkin_interval_s);
  Json body = {{"state", fleet::DeviceStateToJson(State())}};
  if (!config_.fl.task.empty()) body["task"] = config_.fl.task;
  TERN_ASSIGN_OR_RETURN(HttpReply r, client_.Call("POST", "/v1/fl/checkin", body.dump()));
  if (r.status == 404) return cap;  // a hub without federated learning
  if (r.status != 200)
    return IoError("check-in: HTTP " + std::to_string(r.status) + " " + r.body.substr(0, 200));
  TERN_ASSIGN_OR_RETURN(Json a, fleet::ParseJson(r.body));
  if (!a.is_object()) return IoError("check-in: not a JSON object");
  if (!BoolOr(a, "selected")) {
    double after = cap;
    (void)fleet::ReadNumber(a, "retry_after_s", 0, 1e9, &after);
    return std::clamp(after, 0.2, cap);
  }
  Status st = RunRound(a);
  if (!st.ok()) {
    Log("round not completed: " + st.ToString());
    fl_client_->Discard();
    // Tell the hub at once so the round need not wait for this device (best effort).
    int64_t round = 0, attempt = 0;
    (void)fleet::ReadInt(a, "round", 0, int64_t{1} << 40, &round);
    (void)fleet::ReadInt(a, "attempt", 0, 1 << 20, &attempt);
    const Json ra = {{"round", round}, {"attempt", attempt}};
    (void)Post("/v1/fl/tasks/" + StringOr(a, "task") + "/abandon", ra);
  }
  return 1.0;  // check in again soon: the hub says when the next round wants this device
}

Status FlWorker::RunRound(const Json& a) {
  Round r;
  r.task = StringOr(a, "task");
  TERN_RETURN_IF_ERROR(fleet::ReadInt(a, "round", 1, int64_t{1} << 40, &r.round));
  TERN_RETURN_IF_ERROR(fleet::ReadInt(a, "attempt", 1, 1 << 20, &r.attempt));
  double deadline_in = 0;
  TERN_RETURN_IF_ERROR(fleet::ReadNumber(a, "deadline_in_s", 0, 1e9, &deadline_in));
  r.deadline = Clock() + deadline_in;
  r.base = "/v1/fl/tasks/" + r.task + "/";
  if (r.task.empty() || r.task.find('/') != std::string::npos)
    return InvalidArgument("assignment without a task name");
  const Json model = a.contains("model") ? a["model"] : Json::object();
  const std::string sha = StringOr(model, "sha256");
  if (!fleet::IsSha256Hex(sha)) return InvalidArgument("assignment without a model sha256");
  Log("selected for " + r.task + " round " + std::to_string(r.round) + " attempt " +
      std::to_string(r.attempt));
  crash_.Hit("fl-selected");

  fl::Assignment asg;
  asg.task = r.task;
  asg.round = r.round;
  asg.attempt = static_cast<int>(r.attempt);
  TERN_ASSIGN_OR_RETURN(asg.algorithm, fl::ParseAlgorithm(StringOr(a, "algorithm")));
  if (asg.algorithm == fl::Algorithm::kScaffold) return NotImplemented("SCAFFOLD on devices");
  TERN_ASSIGN_OR_RETURN(asg.plan,
                        fleet::ClientPlanFromJson(a.contains("plan") ? a["plan"] : Json::object()));
  asg.deadline = r.deadline;
  eligibility_ = a.contains("eligibility") ? a["eligibility"] : Json::object();

  // The round's model: fetched into memory and checked; a trainer is built once per model.
  if (sha != trainer_sha_ || !trainer_) {
    TERN_ASSIGN_OR_RETURN(HttpReply blob, client_.Call("GET", "/v1/blobs/" + sha));
    if (blob.status != 200) return IoError("model blob: HTTP " + std::to_string(blob.status));
    if (blob.body.size() > kMaxModelBytes || fleet::HexEncode(fleet::Sha256(blob.body)) != sha)
      return IoError("model blob does not match its sha256");
    trainer_.reset();
    TERN_ASSIGN_OR_RETURN(trainer_, fl::LocalTrainer::Create(blob.body));
    trainer_sha_ = sha;
  }
  auto global = std::make_shared<fl::GlobalModel>();
  global->params = trainer_->initial_params();
  global->states = trainer_->initial_states();
  asg.model = global;

  const bool secure = BoolOr(a, "secure_aggregation");
  std::optional<fl::SecAggClient> sa;
  fl::Bytes shares;
  uint32_t cohort = 0;
  if (secure) {
    // Keys first (fast), then training, then the masked report: the hub waits for the masked
    // inputs until just before the deadline.
    TERN_ASSIGN_OR_RETURN(Json cfg, WaitFor(r, "config"));
    TERN_ASSIGN_OR_RETURN(
        fl::SecAggConfig config,
        fleet::SecAggConfigFromJson(cfg.contains("config") ? cfg["config"] : Json::object()));
    int64_t id = 0;
    TERN_RETURN_IF_ERROR(fleet::ReadInt(cfg, "id", 1, config.num_clients, &id));
    // The hub knows the round's deadline once selection closed: training must end in time for
    // the masked input, and the later steps may wait until the deadline itself.
    double deadline_in = -1, masked_in = -1;
    TERN_RETURN_IF_ERROR(fleet::ReadNumber(cfg, "deadline_in_s", 0, 1e9, &deadline_in));
    TERN_RETURN_IF_ERROR(fleet::ReadNumber(cfg, "masked_input_in_s", 0, 1e9, &masked_in));
    if (deadline_in >= 0) r.deadline = Clock() + deadline_in;
    if (masked_in >= 0) asg.deadline = Clock() + masked_in;
    const size_t length = trainer_->params().size + trainer_->states().size + 1;
    if (config.vector_length != length)
      return InvalidArgument("secure aggregation expects " + std::to_string(config.vector_length) +
                             " values, the model has " + std::to_string(length));
    TERN_ASSIGN_OR_RETURN(fl::SecAggClient client,
                          fl::SecAggClient::Create(config, static_cast<fl::ClientId>(id)));
    sa.emplace(std::move(client));
    cohort = config.num_clients;
    auto post = [&](const char* step, const fl::Bytes& m, Json extra) {
      extra["round"] = r.round;
      extra["attempt"] = r.attempt;
      extra["step"] = step;
      extra["message"] = fleet::Base64Encode(m.data(), m.size());
      return Post(r.base + "secagg", extra);
    };
    auto message = [&](const Json& j) -> Result<fl::Bytes> {
      return fleet::Base64Decode(StringOr(j, "message"));
    };
    TERN_ASSIGN_OR_RETURN(fl::Bytes adv, sa->AdvertiseKeys());
    TERN_RETURN_IF_ERROR(post("advertise", adv, Json::object()));
    crash_.Hit("fl-after-advertise");
    TERN_ASSIGN_OR_RETURN(Json keys_reply, WaitFor(r, "keys"));
    TERN_ASSIGN_OR_RETURN(fl::Bytes keys, message(keys_reply));
    TERN_ASSIGN_OR_RETURN(fl::Bytes share, sa->ShareKeys(keys));
    TERN_RETURN_IF_ERROR(post("share", share, Json::object()));
    crash_.Hit("fl-after-share");
    TERN_ASSIGN_OR_RETURN(Json shares_reply, WaitFor(r, "shares"));
    TERN_ASSIGN_OR_RETURN(shares, message(shares_reply));

    TERN_ASSIGN_OR_RETURN(fl::ClientUpdate u, Train(asg));
    TERN_ASSIGN_OR_RETURN(fl::FixedPointCodec codec, fl::SecureSumCodec(cohort));
    std::vector<uint32_t> encoded =
        fl::EncodeContribution(codec, u, static_cast<double>(u.examples));
    TERN_ASSIGN_OR_RETURN(fl::Bytes masked, sa->MaskedInput(shares, encoded));
    TERN_RETURN_IF_ERROR(
        post("masked", masked,
             {{"examples", u.examples}, {"steps", u.steps}, {"train_loss", u.train_loss}}));
    crash_.Hit("fl-after-masked");
    TERN_ASSIGN_OR_RETURN(Json unmask_reply, WaitFor(r, "unmask"));
    TERN_ASSIGN_OR_RETURN(fl::Bytes request, message(unmask_reply));
    TERN_ASSIGN_OR_RETURN(fl::Bytes unmask, sa->Unmask(request));
    TERN_RETURN_IF_ERROR(post("unmask", unmask, Json::object()));
    Log("round " + std::to_string(r.round) + ": masked update sent and unmasked (" +
        std::to_string(u.examples) + " examples, loss " + std::to_string(u.train_loss) + ")");
    return Status::Ok();
  }

  TERN_ASSIGN_OR_RETURN(fl::ClientUpdate u, Train(asg));
  TERN_RETURN_IF_ERROR(Post(r.base + "report", {{"round", r.round},
                                                {"attempt", r.attempt},
                                                {"examples", u.examples},
                                                {"steps", u.steps},
                                                {"train_loss", u.train_loss},
                                                {"delta", fleet::FloatsToBase64(u.delta)},
                                                {"states", fleet::FloatsToBase64(u.states)}}));
  fl_client_->Commit(r.round, static_cast<int>(r.attempt));
  Log("round " + std::to_string(r.round) + ": update sent (" + std::to_string(u.examples) +
      " examples, loss " + std::to_string(u.train_loss) + ")");
  return Status::Ok();
}

Result<fl::ClientUpdate> FlWorker::Train(const fl::Assignment& a) {
  fl::EligibilityRules rules;  // what the hub asked of this device
  rules.require_idle = rules.require_charging = rules.require_unmetered = false;
  const Json& e = eligibility_;
  (void)fleet::ReadBool(e, "require_idle", &rules.require_idle);
  (void)fleet::ReadBool(e, "require_charging", &rules.require_charging);
  (void)fleet::ReadBool(e, "require_unmetered", &rules.require_unmetered);
  fl::StepGuard device = fl::DeviceGuard(
      a.deadline, [this] { return Clock(); }, [this] { return State(); }, rules);
  fl::StepGuard guard = [this, device](int64_t steps) -> Status {
    if (stop_ && *stop_) return Failed("the agent is stopping");
    return device(steps);
  };
  return fl_client_->Train(a, *trainer_, guard,
                           fleet::FlTrainingSeed(a.task, a.round, a.attempt, device_id_));
}

Result<Json> FlWorker::WaitFor(const Round& r, const std::string& step) {
  const std::string path = r.base + "secagg?round=" + std::to_string(r.round) +
                           "&attempt=" + std::to_string(r.attempt) + "&step=" + step;
  for (;;) {
    if (stop_ && *stop_) return Failed("the agent is stopping");
    if (Clock() > r.deadline) return Failed("deadline passed waiting for " + step);
    TERN_ASSIGN_OR_RETURN(HttpReply reply, client_.Call("GET", path));
    if (reply.status != 200)
      return Failed(step + ": HTTP " + std::to_string(reply.status) + " " +
                    reply.body.substr(0, 200));
    TERN_ASSIGN_OR_RETURN(Json j, fleet::ParseJson(reply.body));
    if (BoolOr(j, "ready")) return j;
    int64_t ms = 250;
    (void)fleet::ReadInt(j, "retry_after_ms", 10, 10000, &ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  }
}

}  // namespace tern::agent
