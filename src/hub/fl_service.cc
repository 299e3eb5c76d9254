#include "hub/fl_service.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>
#include <random>
#include <set>

#include "fl/coordinator.h"
#include "fl/local_trainer.h"
#include "fl/secure_sum.h"
#include "fleet/crypto.h"
#include "fleet/file_util.h"
#include "fleet/fl_wire.h"
#include "hub/publish.h"

namespace tern::hub {

using fleet::Json;

namespace {

constexpr uint64_t kMaxModelBytes = 256ull << 20;  ///< models the hub trains over (ONNX)
constexpr int64_t kRetryMs = 250;                  ///< poll hint while a SecAgg step is open

// [A-Za-z0-9][A-Za-z0-9._+-]{0,63}: task names appear in version names and paths.
bool ValidTaskName(const std::string& s) {
  if (s.empty() || s.size() > 64 || !std::isalnum(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '+' ||
           c == '-';
  });
}

FlReply Error(int status, const std::string& message) { return {status, {{"error", message}}}; }

FlReply FromStatus(const Status& st) {
  switch (st.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kInvalidModel:
      return Error(400, st.message());
    case StatusCode::kOutOfRange:
      return Error(404, st.message());
    case StatusCode::kFailedPrecondition:
    case StatusCode::kNotImplemented:
      return Error(409, st.message());
    default:
      return Error(500, st.message());
  }
}

std::string StringOr(const Json& j, const char* key, const std::string& fallback = "") {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

const Json& Section(const Json& j, const char* key) {
  static const Json kEmpty = Json::object();
  auto it = j.find(key);
  return it != j.end() ? *it : kEmpty;
}

const char* PhaseName(fl::Coordinator::Phase p) {
  switch (p) {
    case fl::Coordinator::Phase::kSelecting:
      return "selecting";
    case fl::Coordinator::Phase::kReporting:
      return "reporting";
    case fl::Coordinator::Phase::kDone:
      return "done";
    case fl::Coordinator::Phase::kFailed:
      return "failed";
  }
  return "?";
}

struct TaskSpec {
  fl::FlTask task;
  std::string model, version, variant, publish_model;
  enum class Secure { kNone, kSecAgg, kSecAggPlus } secure = Secure::kSecAgg;
  double step_timeout_s = 0;  ///< SecAgg step timeout (0: a tenth of the deadline)
};

Result<TaskSpec> ParseTaskSpec(const Json& b) {
  if (!b.is_object()) return InvalidArgument("expected a JSON object");
  TaskSpec s;
  s.task.name = StringOr(b, "name");
  if (!ValidTaskName(s.task.name)) return InvalidArgument("\"name\" must be a name like mnist-1");
  s.model = StringOr(b, "model");
  s.version = StringOr(b, "version");
  if (s.model.empty() || s.version.empty())
    return InvalidArgument("\"model\" and \"version\" name the registry version to start from");
  s.variant = StringOr(b, "variant");
  s.publish_model = StringOr(b, "publish_model", s.model);
  TERN_ASSIGN_OR_RETURN(s.task.algorithm, fl::ParseAlgorithm(StringOr(b, "algorithm", "fedavg")));
  if (s.task.algorithm == fl::Algorithm::kScaffold)
    return Status(StatusCode::kNotImplemented,
                  "SCAFFOLD is not offered to devices yet (its control variates need the client "
                  "state across rounds)");
  const std::string secure = StringOr(b, "secure_aggregation", "secagg");
  if (secure == "none") {
    s.secure = TaskSpec::Secure::kNone;
  } else if (secure == "secagg+") {
    s.secure = TaskSpec::Secure::kSecAggPlus;
  } else if (secure != "secagg") {
    return InvalidArgument("\"secure_aggregation\" is none, secagg or secagg+");
  }
  TERN_ASSIGN_OR_RETURN(s.task.plan, fleet::ClientPlanFromJson(Section(b, "plan")));
  const Json& e = Section(b, "eligibility");
  fl::EligibilityRules& el = s.task.eligibility;
  TERN_RETURN_IF_ERROR(fleet::ReadBool(e, "require_idle", &el.require_idle));
  TERN_RETURN_IF_ERROR(fleet::ReadBool(e, "require_charging", &el.require_charging));
  TERN_RETURN_IF_ERROR(fleet::ReadBool(e, "require_unmetered", &el.require_unmetered));
  TERN_RETURN_IF_ERROR(fleet::ReadInt(e, "min_examples", 0, int64_t{1} << 40, &el.min_examples));
  const Json& r = Section(b, "round");
  fl::RoundConfig& rc = s.task.round;
  int64_t goal = rc.goal_count, min_reports = rc.min_reports, attempts = rc.max_attempts;
  TERN_RETURN_IF_ERROR(fleet::ReadInt(r, "goal_count", 1, 1 << 20, &goal));
  TERN_RETURN_IF_ERROR(fleet::ReadInt(r, "min_reports", 1, 1 << 20, &min_reports));
  TERN_RETURN_IF_ERROR(fleet::ReadInt(r, "max_attempts", 1, 1000, &attempts));
  rc.goal_count = static_cast<int>(goal);
  rc.min_reports = static_cast<int>(min_reports);
  rc.max_attempts = static_cast<int>(attempts);
  TERN_RETURN_IF_ERROR(fleet::ReadNumber(r, "over_selection", 1, 10, &rc.over_selection));
  TERN_RETURN_IF_ERROR(
      fleet::ReadNumber(r, "selection_timeout_s", 0.1, 86400, &rc.selection_timeout_s));
  TERN_RETURN_IF_ERROR(fleet::ReadNumber(r, "deadline_s", 0.1, 86400, &rc.deadline_s));
  TERN_RETURN_IF_ERROR(fleet::ReadNumber(r, "min_rejoin_s", 0, 86400 * 30, &rc.min_rejoin_s));
  TERN_RETURN_IF_ERROR(fleet::ReadNumber(r, "secagg_step_timeout_s", 0, 86400, &s.step_timeout_s));
  if (s.step_timeout_s <= 0) s.step_timeout_s = rc.deadline_s / 10;
  if (s.secure != TaskSpec::Secure::kNone && 3 * s.step_timeout_s >= rc.deadline_s)
    return InvalidArgument("\"secagg_step_timeout_s\" must leave most of the deadline to training");
  const Json& sv = Section(b, "server");
  TERN_RETURN_IF_ERROR(
      fleet::ReadNumber(sv, "learning_rate", 0, 1e3, &s.task.server.learning_rate));
  TERN_RETURN_IF_ERROR(fleet::ReadNumber(sv, "beta1", 0, 1, &s.task.server.beta1));
  TERN_RETURN_IF_ERROR(fleet::ReadNumber(sv, "beta2", 0, 1, &s.task.server.beta2));
  TERN_RETURN_IF_ERROR(fleet::ReadNumber(sv, "tau", 0, 1e3, &s.task.server.tau));
  int64_t max_rounds = 0;
  TERN_RETURN_IF_ERROR(fleet::ReadInt(b, "population", 1, int64_t{1} << 40, &s.task.population));
  TERN_RETURN_IF_ERROR(fleet::ReadInt(b, "max_rounds", 0, 1 << 20, &max_rounds));
  s.task.max_rounds = static_cast<int>(max_rounds);
  TERN_RETURN_IF_ERROR(fl::ValidateTask(s.task));
  return s;
}

// (round, attempt) of a device request.
Status ReadRoundAttempt(const Json& b, int64_t* round, int64_t* attempt) {
  *round = *attempt = -1;
  TERN_RETURN_IF_ERROR(fleet::ReadInt(b, "round", 1, int64_t{1} << 40, round));
  TERN_RETURN_IF_ERROR(fleet::ReadInt(b, "attempt", 1, 1 << 20, attempt));
  if (*round < 0 || *attempt < 0) return InvalidArgument("\"round\" and \"attempt\" are required");
  return Status::Ok();
}

}  // namespace

// The hub's side of one SecAgg run (one attempt of one round).
struct FlService::SecAggRound {
  enum class Step { kAdvertise, kShare, kMasked, kUnmask, kDone, kFailed };
  int64_t round = 0;
  int attempt = 0;
  std::vector<std::string> cohort;  ///< client id k+1 = cohort[k]
  std::map<std::string, fl::ClientId> ids;
  fl::SecAggConfig config;
  std::optional<fl::FixedPointCodec> codec;
  std::unique_ptr<fl::SecAggServer> server;
  Step step = Step::kAdvertise;
  double step_ends = 0;
  std::set<std::string> sent;      ///< devices whose message of the current step arrived
  std::set<std::string> expected;  ///< devices the current step waits for
  fl::Bytes key_list, unmask_request;
  std::map<fl::ClientId, fl::Bytes> shares;
  std::map<std::string, fl::ClientUpdate> reports;  ///< metadata of masked inputs (no values)
  std::string failure;
};

struct FlService::Task {
  std::mutex mu;
  TaskSpec spec;
  VariantRecord variant;    ///< the base variant (precision, provider, features)
  Json body;                ///< the task as created (saved for a restart)
  int64_t rounds_done = 0;  ///< rounds committed before the last hub restart
  bool saved_end = false;
  std::unique_ptr<fl::Coordinator> coord;
  fl::ExternalSum* external = nullptr;  ///< owned by coord; null without secure aggregation
  fl::SumShape shape;
  int64_t published = 0;  ///< the coordinator's model version last published
  std::string model_sha;  ///< blob of the coordinator's current model
  uint64_t model_size = 0;
  std::string model_version;  ///< its registry version
  Json versions = Json::array();
  std::unique_ptr<SecAggRound> sa;
  int64_t secagg_failures = 0;
};

FlService::FlService(Store* store, BlobStore* blobs, const HubKeys* keys,
                     std::function<int64_t()> unix_clock, int64_t manifest_ttl_s,
                     std::string state_dir)
    : store_(store),
      blobs_(blobs),
      keys_(keys),
      unix_clock_(std::move(unix_clock)),
      manifest_ttl_s_(manifest_ttl_s),
      state_dir_(std::move(state_dir)) {}

FlService::~FlService() = default;

double FlService::Now() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::shared_ptr<FlService::Task> FlService::Find(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tasks_.find(name);
  return it == tasks_.end() ? nullptr : it->second;
}

FlReply FlService::CreateTask(const Json& body) {
  auto t = Build(body, 0, "");
  if (!t.ok()) return FromStatus(t.status());
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = tasks_[(*t)->spec.task.name];
  if (slot && slot->coord->phase() != fl::Coordinator::Phase::kDone &&
      slot->coord->phase() != fl::Coordinator::Phase::kFailed)
    return Error(409, "task " + (*t)->spec.task.name + " is running");
  slot = *t;
  std::lock_guard<std::mutex> task_lock((*t)->mu);
  Status saved = Save(**t);
  if (!saved.ok()) std::fprintf(stderr, "tern-hub: fl: %s\n", saved.ToString().c_str());
  return {201, TaskJson(**t)};
}

Result<std::shared_ptr<FlService::Task>> FlService::Build(const Json& body, int64_t rounds_done,
                                                          const std::string& resume_version) {
  TERN_ASSIGN_OR_RETURN(TaskSpec spec, ParseTaskSpec(body));
  auto t = std::make_shared<Task>();
  t->spec = std::move(spec);
  t->body = body;
  t->rounds_done = rounds_done;
  if (rounds_done > 0 && t->spec.task.max_rounds > 0) {
    if (rounds_done >= t->spec.task.max_rounds)
      return Status(StatusCode::kFailedPrecondition, "all rounds are done");
    t->spec.task.max_rounds -= static_cast<int>(rounds_done);
  }
  // A resumed task starts from its last published round's model.
  const std::string& model = resume_version.empty() ? t->spec.model : t->spec.publish_model;
  const std::string& at = resume_version.empty() ? t->spec.version : resume_version;
  TERN_ASSIGN_OR_RETURN(auto version, store_->FindVersion(model, at));
  if (!version) return OutOfRange("version " + at + " of " + model + " not found");
  const ModelVersionRecord& v = *version;
  auto variant = std::find_if(v.variants.begin(), v.variants.end(), [&](const VariantRecord& r) {
    return t->spec.variant.empty() || r.name == t->spec.variant;
  });
  if (variant == v.variants.end()) return OutOfRange("variant " + t->spec.variant + " not found");
  if (variant->precision != "fp32")
    return Status(StatusCode::kFailedPrecondition,
                  "federated training needs an fp32 variant, not " + variant->precision);
  t->variant = *variant;
  auto onnx = fleet::ReadFile(blobs_->PathOf(variant->blob_sha256), kMaxModelBytes);
  if (!onnx.ok()) return Internal("cannot read the model blob: " + onnx.status().message());
  auto trainer = fl::LocalTrainer::Create(*onnx);
  if (!trainer.ok())
    return Status(StatusCode::kFailedPrecondition,
                  "the model cannot be trained: " + trainer.status().ToString());
  const fl::LocalTrainer& lt = **trainer;
  t->shape = {lt.params().size, lt.states().size, 0};
  std::unique_ptr<fl::UpdateSum> sum;
  if (t->spec.secure == TaskSpec::Secure::kNone) {
    TERN_ASSIGN_OR_RETURN(sum, fl::MakeUpdateSum(fl::AggregationOptions{}));
  } else {
    auto external = std::make_unique<fl::ExternalSum>();
    t->external = external.get();
    sum = std::move(external);
  }
  TERN_ASSIGN_OR_RETURN(
      t->coord,
      fl::Coordinator::Create(t->spec.task, *onnx, lt.params(), lt.states(), lt.initial_params(),
                              lt.initial_states(), std::move(sum), std::random_device{}(), Now()));
  t->model_sha = variant->blob_sha256;
  t->model_size = variant->size;
  t->model_version = v.version;
  return t;
}

Status FlService::Save(Task& t) {
  if (state_dir_.empty()) return Status::Ok();
  const fl::Coordinator::Phase phase = t.coord->phase();
  const Json state = {{"spec", t.body},
                      {"rounds_done", t.rounds_done + t.published},
                      {"current_version", t.model_version},
                      {"published", t.versions},
                      {"ended", phase == fl::Coordinator::Phase::kDone ||
                                    phase == fl::Coordinator::Phase::kFailed}};
  std::error_code ec;
  std::filesystem::create_directories(state_dir_, ec);
  return fleet::WriteFileAtomic(state_dir_ + "/" + t.spec.task.name + ".json", state.dump(1) + "\n",
                                0600);
}

void FlService::Restore() {
  if (state_dir_.empty()) return;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(state_dir_, ec)) {
    if (e.path().extension() != ".json") continue;
    auto text = fleet::ReadFile(e.path().string(), 4 << 20);
    auto state = text.ok() ? fleet::ParseJson(*text) : Result<Json>(text.status());
    if (!state.ok() || !state->is_object()) {
      std::fprintf(stderr, "tern-hub: fl: %s is unreadable\n", e.path().c_str());
      continue;
    }
    bool ended = false;
    int64_t rounds_done = 0;
    (void)fleet::ReadBool(*state, "ended", &ended);
    (void)fleet::ReadInt(*state, "rounds_done", 0, int64_t{1} << 40, &rounds_done);
    if (ended) continue;
    const Json spec = (*state)["spec"];
    auto t = Build(spec, rounds_done, rounds_done > 0 ? StringOr(*state, "current_version") : "");
    if (!t.ok()) {
      std::fprintf(stderr, "tern-hub: fl: task in %s not resumed: %s\n", e.path().c_str(),
                   t.status().ToString().c_str());
      continue;
    }
    auto published = state->find("published");
    if (published != state->end() && published->is_array()) (*t)->versions = *published;
    std::fprintf(stderr, "tern-hub: fl: task %s resumed after %lld rounds\n",
                 (*t)->spec.task.name.c_str(), static_cast<long long>(rounds_done));
    std::lock_guard<std::mutex> lock(mu_);
    tasks_[(*t)->spec.task.name] = *t;
  }
}

Json FlService::TaskJson(Task& t) {
  const fl::Coordinator& c = *t.coord;
  Json history = Json::array();
  for (const auto& h : c.history()) {
    Json rec = {{"round", h.round},
                {"attempt", h.attempt},
                {"committed", h.committed},
                {"selected", h.selected},
                {"reports", h.reports},
                {"abandoned", h.abandoned},
                {"missing", h.missing},
                {"late", h.late},
                {"examples", h.examples},
                {"mean_train_loss", h.mean_train_loss},
                {"seconds", h.closed_at - h.opened_at},
                {"model_version", h.model_version}};
    if (!h.failure.empty()) rec["failure"] = h.failure;
    history.push_back(std::move(rec));
  }
  const char* secure = t.spec.secure == TaskSpec::Secure::kNone         ? "none"
                       : t.spec.secure == TaskSpec::Secure::kSecAggPlus ? "secagg+"
                                                                        : "secagg";
  Json j = {{"name", t.spec.task.name},
            {"model", t.spec.model},
            {"base_version", t.spec.version},
            {"publish_model", t.spec.publish_model},
            {"algorithm", fl::AlgorithmName(t.spec.task.algorithm)},
            {"secure_aggregation", secure},
            {"plan", fleet::ClientPlanToJson(t.spec.task.plan)},
            {"phase", PhaseName(c.phase())},
            {"round", c.round()},
            {"attempt", c.attempt()},
            {"cohort", c.cohort().size()},
            {"current_version", t.model_version},
            {"published", t.versions},
            {"secagg_failures", t.secagg_failures},
            {"rounds_before_restart", t.rounds_done},
            {"history", history}};
  if (!c.end_reason().empty()) j["end_reason"] = c.end_reason();
  return j;
}

FlReply FlService::ListTasks() {
  std::vector<std::shared_ptr<Task>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [name, t] : tasks_) all.push_back(t);
  }
  Json out = Json::array();
  for (auto& t : all) {
    std::lock_guard<std::mutex> lock(t->mu);
    Drive(*t, Now());
    Json j = TaskJson(*t);
    j.erase("history");
    out.push_back(std::move(j));
  }
  return {200, {{"tasks", out}}};
}

FlReply FlService::GetTask(const std::string& name) {
  auto t = Find(name);
  if (!t) return Error(404, "task " + name + " not found");
  std::lock_guard<std::mutex> lock(t->mu);
  Drive(*t, Now());
  return {200, TaskJson(*t)};
}

void FlService::Tick() {
  std::vector<std::shared_ptr<Task>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [name, t] : tasks_) all.push_back(t);
  }
  for (auto& t : all) {
    std::lock_guard<std::mutex> lock(t->mu);
    Drive(*t, Now());
  }
}

FlReply FlService::CheckIn(const std::string& device, const Json& body) {
  if (!body.is_object()) return Error(400, "expected a JSON object");
  auto state = fleet::DeviceStateFromJson(Section(body, "state"));
  if (!state.ok()) return FromStatus(state.status());
  const std::string only = StringOr(body, "task");
  std::vector<std::shared_ptr<Task>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [name, t] : tasks_)
      if (only.empty() || name == only) all.push_back(t);
  }
  double retry_after = -1;
  std::string reason = all.empty() ? "no federated task" : "";
  for (auto& t : all) {
    std::lock_guard<std::mutex> lock(t->mu);
    const double now = Now();
    Drive(*t, now);
    fl::CheckInResult r = t->coord->CheckIn(device, *state, now);
    Drive(*t, now);
    if (r.outcome == fl::CheckInResult::Outcome::kTaskDone) continue;
    if (r.outcome != fl::CheckInResult::Outcome::kAccepted) {
      if (retry_after < 0 || r.retry_after_s < retry_after) {
        retry_after = r.retry_after_s;
        reason = r.reason;
      }
      continue;
    }
    const fl::Assignment& a = r.assignment;
    Json j = {{"selected", true},
              {"task", t->spec.task.name},
              {"round", a.round},
              {"attempt", a.attempt},
              {"algorithm", fl::AlgorithmName(a.algorithm)},
              {"plan", fleet::ClientPlanToJson(a.plan)},
              {"secure_aggregation", t->spec.secure != TaskSpec::Secure::kNone},
              {"model",
               {{"sha256", t->model_sha},
                {"size", t->model_size},
                {"version", t->model_version},
                {"url", "/v1/blobs/" + t->model_sha}}},
              {"deadline_in_s", std::max(0.0, a.deadline - now)},
              {"eligibility",
               {{"require_idle", t->spec.task.eligibility.require_idle},
                {"require_charging", t->spec.task.eligibility.require_charging},
                {"require_unmetered", t->spec.task.eligibility.require_unmetered}}}};
    return {200, j};
  }
  if (retry_after < 0) {
    // Nothing to do now (no task, or every task ended): come back much later.
    retry_after = 300;
    if (reason.empty()) reason = "no running federated task";
  }
  return {200, {{"selected", false}, {"reason", reason}, {"retry_after_s", retry_after}}};
}

void FlService::Drive(Task& t, double now) {
  fl::Coordinator& c = *t.coord;
  (void)c.Advance(now);
  if (t.external) {
    const bool current = t.sa && t.sa->round == c.round() && t.sa->attempt == c.attempt();
    if (c.phase() == fl::Coordinator::Phase::kReporting && !current) StartSecAgg(t, now);
    if (!current && c.phase() != fl::Coordinator::Phase::kReporting) t.sa.reset();
    if (t.sa) StepSecAgg(t, now);
  }
  const bool ended =
      c.phase() == fl::Coordinator::Phase::kDone || c.phase() == fl::Coordinator::Phase::kFailed;
  if (ended && !t.saved_end && c.model()->version <= t.published) {
    t.saved_end = true;
    Status st = Save(t);
    if (!st.ok()) std::fprintf(stderr, "tern-hub: fl: %s\n", st.ToString().c_str());
  }
  if (c.model()->version > t.published) {
    Status st = Publish(t);
    if (!st.ok())
      std::fprintf(stderr, "tern-hub: fl task %s: publishing round %lld failed: %s\n",
                   t.spec.task.name.c_str(), static_cast<long long>(c.model()->version),
                   st.ToString().c_str());
  }
}

void FlService::StartSecAgg(Task& t, double now) {
  fl::Coordinator& c = *t.coord;
  t.sa = std::make_unique<SecAggRound>();
  SecAggRound& s = *t.sa;
  s.round = c.round();
  s.attempt = c.attempt();
  s.cohort = c.cohort();
  for (size_t k = 0; k < s.cohort.size(); ++k)
    s.ids[s.cohort[k]] = static_cast<fl::ClientId>(k + 1);
  // Every attempt gets its own round id: keys and masks are never reused across attempts.
  const int64_t round_id = s.round * 1024 + s.attempt;
  const uint32_t n = static_cast<uint32_t>(s.cohort.size());
  auto config =
      fl::SecureSumConfig(round_id, n, t.shape, t.spec.secure == TaskSpec::Secure::kSecAggPlus);
  if (!config.ok()) return FailSecAgg(t, config.status().message(), now);
  s.config = *config;
  auto codec = fl::SecureSumCodec(n);
  if (!codec.ok()) return FailSecAgg(t, codec.status().message(), now);
  s.codec = *codec;
  auto server = fl::SecAggServer::Create(s.config);
  if (!server.ok()) return FailSecAgg(t, server.status().message(), now);
  s.server = std::make_unique<fl::SecAggServer>(std::move(*server));
  s.step = SecAggRound::Step::kAdvertise;
  s.expected = std::set<std::string>(s.cohort.begin(), s.cohort.end());
  s.step_ends = now + t.spec.step_timeout_s;
}

void FlService::FailSecAgg(Task& t, const std::string& why, double now) {
  SecAggRound& s = *t.sa;
  s.step = SecAggRound::Step::kFailed;
  s.failure = why;
  ++t.secagg_failures;
  std::fprintf(stderr, "tern-hub: fl task %s round %lld attempt %d: secure aggregation: %s\n",
               t.spec.task.name.c_str(), static_cast<long long>(s.round), s.attempt, why.c_str());
  // Nothing can be counted: every member gave up, so the coordinator fails the attempt and
  // opens the next one.
  for (const auto& device : s.cohort) t.coord->Abandon(device, s.round, s.attempt, now);
}

void FlService::StepSecAgg(Task& t, double now) {
  using Step = SecAggRound::Step;
  SecAggRound& s = *t.sa;
  const fl::RoundConfig& rc = t.spec.task.round;
  auto names = [&](const std::vector<fl::ClientId>& ids) {
    std::set<std::string> out;
    for (fl::ClientId id : ids) out.insert(s.cohort[id - 1]);
    return out;
  };
  for (;;) {
    const bool all_in = s.sent.size() >= s.expected.size();
    switch (s.step) {
      case Step::kAdvertise: {
        if (!all_in && now < s.step_ends) return;
        auto keys = s.server->FinishAdvertiseKeys();
        if (!keys.ok()) return FailSecAgg(t, keys.status().message(), now);
        s.key_list = std::move(*keys);
        s.expected = s.sent;
        s.sent.clear();
        s.step = Step::kShare;
        s.step_ends = now + t.spec.step_timeout_s;
        break;
      }
      case Step::kShare: {
        if (!all_in && now < s.step_ends) return;
        auto shares = s.server->FinishShareKeys();
        if (!shares.ok()) return FailSecAgg(t, shares.status().message(), now);
        s.shares = std::move(*shares);
        s.expected.clear();
        for (const auto& [id, m] : s.shares) s.expected.insert(s.cohort[id - 1]);
        s.sent.clear();
        s.step = Step::kMasked;
        // Unmasking needs one step timeout before the round's deadline.
        s.step_ends = t.coord->deadline() - t.spec.step_timeout_s;
        break;
      }
      case Step::kMasked: {
        if (!all_in && static_cast<int>(s.sent.size()) < rc.goal_count && now < s.step_ends) return;
        auto request = s.server->FinishMaskedInput();
        if (!request.ok()) return FailSecAgg(t, request.status().message(), now);
        s.unmask_request = std::move(*request);
        s.expected = names(s.server->survivors());
        s.sent.clear();
        s.step = Step::kUnmask;
        s.step_ends = now + t.spec.step_timeout_s;
        break;
      }
      case Step::kUnmask: {
        if (!all_in && now < s.step_ends) return;
        auto sum = s.server->FinishUnmask();
        if (!sum.ok()) return FailSecAgg(t, sum.status().message(), now);
        const std::set<std::string> survivors = names(s.server->survivors());
        auto totals = fl::DecodeContributions(*s.codec, *sum,
                                              static_cast<uint32_t>(survivors.size()), t.shape);
        if (!totals.ok()) return FailSecAgg(t, totals.status().message(), now);
        s.step = Step::kDone;
        t.external->SetTotals(survivors, std::move(*totals));
        // The coordinator sees each survivor's report without its values (they are only in
        // the sum), then learns that the others dropped; that closes the round.
        const int64_t round = s.round;
        const int attempt = s.attempt;
        const std::vector<std::string> cohort = s.cohort;
        std::map<std::string, fl::ClientUpdate> reports = std::move(s.reports);
        for (const auto& device : survivors) {
          fl::ClientUpdate u = reports[device];
          u.delta.assign(t.shape.delta, 0.0f);
          u.states.assign(t.shape.states, 0.0f);
          u.control_delta.assign(t.shape.control, 0.0f);
          fl::ReportResult r = t.coord->Report(device, round, attempt, u, now);
          if (!r.accepted)
            std::fprintf(stderr, "tern-hub: fl task %s: report of %s refused: %s\n",
                         t.spec.task.name.c_str(), device.c_str(), r.reason.c_str());
        }
        for (const auto& device : cohort)
          if (!survivors.count(device)) t.coord->Abandon(device, round, attempt, now);
        return;
      }
      case Step::kDone:
      case Step::kFailed:
        return;
    }
  }
}

Status FlService::Publish(Task& t) {
  const fl::Coordinator& c = *t.coord;
  std::shared_ptr<const fl::GlobalModel> model = c.model();
  const std::string tmp = blobs_->NewTempPath();
  TERN_RETURN_IF_ERROR(fleet::WriteFileAtomic(tmp, model->onnx));
  uint64_t size = 0;
  TERN_ASSIGN_OR_RETURN(std::string sha, blobs_->Commit(tmp, "", &size));
  const int64_t now = unix_clock_();
  TERN_RETURN_IF_ERROR(store_->PutBlob(sha, size, now));
  // The round that produced this model: the last committed record.
  const fl::RoundRecord* rec = nullptr;
  for (const auto& h : c.history())
    if (h.committed && h.model_version == model->version) rec = &h;
  ModelVersionRecord v;
  v.model = t.spec.publish_model;
  const int64_t round = t.rounds_done + model->version;  // counting rounds before a restart
  v.version = t.spec.version + "+" + t.spec.task.name + ".r" + std::to_string(round);
  Json meta = {{"fl",
                {{"task", t.spec.task.name},
                 {"round", round},
                 {"base_version", t.spec.version},
                 {"algorithm", fl::AlgorithmName(t.spec.task.algorithm)},
                 {"reports", rec ? rec->reports : 0},
                 {"examples", rec ? rec->examples : 0},
                 {"mean_train_loss", rec ? rec->mean_train_loss : 0.0}}}};
  v.metadata_json = meta.dump();
  v.created_at = now;
  VariantRecord variant = t.variant;
  variant.blob_sha256 = sha;
  variant.size = size;
  v.variants.push_back(variant);
  TERN_ASSIGN_OR_RETURN(auto stored,
                        InsertSignedVersion(store_, *keys_, v, {}, now + manifest_ttl_s_));
  if (!stored) return Status(StatusCode::kFailedPrecondition, "version " + v.version + " exists");
  t.published = model->version;
  t.model_sha = sha;
  t.model_size = size;
  t.model_version = v.version;
  t.versions.push_back({{"round", round}, {"version", v.version}, {"sha256", sha}});
  return Save(t);
}

FlReply FlService::SecAggGet(const std::string& task, const std::string& device,
                             const std::map<std::string, std::string>& query) {
  auto t = Find(task);
  if (!t) return Error(404, "task " + task + " not found");
  auto num = [&](const char* key) -> int64_t {
    auto it = query.find(key);
    if (it == query.end() || it->second.empty() || it->second.size() > 12 ||
        it->second.find_first_not_of("0123456789") != std::string::npos)
      return -1;
    return std::stoll(it->second);
  };
  const int64_t round = num("round"), attempt = num("attempt");
  auto step_it = query.find("step");
  const std::string step = step_it == query.end() ? "" : step_it->second;
  if (round < 0 || attempt < 0) return Error(400, "?round= and ?attempt= are required");
  std::lock_guard<std::mutex> lock(t->mu);
  const double now = Now();
  Drive(*t, now);
  fl::Coordinator& c = *t->coord;
  const Json not_yet = {{"ready", false}, {"retry_after_ms", kRetryMs}};
  if (round == c.round() && attempt == c.attempt() &&
      c.phase() == fl::Coordinator::Phase::kSelecting)
    return {200, not_yet};
  SecAggRound* s = t->sa.get();
  if (!s || s->round != round || s->attempt != attempt || s->step == SecAggRound::Step::kFailed)
    return Error(410, "round " + std::to_string(round) + " attempt " + std::to_string(attempt) +
                          " is closed");
  auto id = s->ids.find(device);
  if (id == s->ids.end()) return Error(410, "not selected for this round");
  using Step = SecAggRound::Step;
  auto message = [](const fl::Bytes& m) -> FlReply {
    return {200, {{"ready", true}, {"message", fleet::Base64Encode(m.data(), m.size())}}};
  };
  if (step == "config") {
    return {200,
            {{"ready", true},
             {"id", id->second},
             {"config", fleet::SecAggConfigToJson(s->config)},
             {"codec", {{"clip", fl::kSecureClip}, {"weight_cap", fl::kSecureWeightCap}}},
             {"step_timeout_s", t->spec.step_timeout_s},
             // The round's real deadline is known now (selection closed): the masked input
             // must arrive one step timeout before it.
             {"deadline_in_s", std::max(0.0, c.deadline() - now)},
             {"masked_input_in_s", std::max(0.0, c.deadline() - t->spec.step_timeout_s - now)}}};
  }
  if (step == "keys") {
    if (s->step == Step::kAdvertise) return {200, not_yet};
    return message(s->key_list);
  }
  if (step == "shares") {
    if (s->step <= Step::kShare) return {200, not_yet};
    auto m = s->shares.find(id->second);
    if (m == s->shares.end()) return Error(410, "no shares for this device: it dropped");
    return message(m->second);
  }
  if (step == "unmask") {
    if (s->step <= Step::kMasked) return {200, not_yet};
    return message(s->unmask_request);
  }
  return Error(400, "?step= is config, keys, shares or unmask");
}

FlReply FlService::SecAggPost(const std::string& task, const std::string& device,
                              const Json& body) {
  auto t = Find(task);
  if (!t) return Error(404, "task " + task + " not found");
  int64_t round = 0, attempt = 0;
  Status st = ReadRoundAttempt(body, &round, &attempt);
  if (!st.ok()) return FromStatus(st);
  const std::string step = StringOr(body, "step");
  auto bytes = fleet::Base64Decode(StringOr(body, "message"));
  if (!bytes.ok()) return Error(400, "\"message\" must be base64");
  fl::ClientUpdate meta;
  st = fleet::ReadInt(body, "examples", 0, int64_t{1} << 40, &meta.examples);
  if (st.ok()) st = fleet::ReadInt(body, "steps", 0, int64_t{1} << 40, &meta.steps);
  if (st.ok()) st = fleet::ReadNumber(body, "train_loss", -1e30, 1e30, &meta.train_loss);
  if (!st.ok()) return FromStatus(st);
  std::lock_guard<std::mutex> lock(t->mu);
  const double now = Now();
  Drive(*t, now);
  SecAggRound* s = t->sa.get();
  if (!s || s->round != round || s->attempt != attempt)
    return Error(410, "round " + std::to_string(round) + " attempt " + std::to_string(attempt) +
                          " is closed");
  auto id = s->ids.find(device);
  if (id == s->ids.end()) return Error(410, "not selected for this round");
  using Step = SecAggRound::Step;
  const std::map<std::string, Step> steps = {{"advertise", Step::kAdvertise},
                                             {"share", Step::kShare},
                                             {"masked", Step::kMasked},
                                             {"unmask", Step::kUnmask}};
  auto want = steps.find(step);
  if (want == steps.end()) return Error(400, "\"step\" is advertise, share, masked or unmask");
  if (want->second != s->step)
    return Error(409, "secure aggregation is not at step " + step + " (it closed, or not yet)");
  if (!s->expected.count(device)) return Error(410, "dropped from this round at an earlier step");
  if (s->sent.count(device)) return {200, {{"accepted", true}}};  // a retry
  Status received;
  switch (s->step) {
    case Step::kAdvertise:
      received = s->server->ReceiveAdvertiseKeys(id->second, *bytes);
      break;
    case Step::kShare:
      received = s->server->ReceiveShareKeys(id->second, *bytes);
      break;
    case Step::kMasked:
      if (static_cast<int>(s->sent.size()) >= t->spec.task.round.goal_count)
        return Error(410, "the round has its reports");
      received = s->server->ReceiveMaskedInput(id->second, *bytes);
      if (received.ok()) s->reports[device] = meta;
      break;
    case Step::kUnmask:
      received = s->server->ReceiveUnmask(id->second, *bytes);
      break;
    default:
      return Error(409, "secure aggregation ended");
  }
  if (!received.ok()) return Error(400, received.message());
  s->sent.insert(device);
  Drive(*t, now);
  return {200, {{"accepted", true}}};
}

FlReply FlService::Report(const std::string& task, const std::string& device, const Json& body) {
  auto t = Find(task);
  if (!t) return Error(404, "task " + task + " not found");
  int64_t round = 0, attempt = 0;
  Status st = ReadRoundAttempt(body, &round, &attempt);
  if (!st.ok()) return FromStatus(st);
  std::lock_guard<std::mutex> lock(t->mu);
  if (t->external) return Error(409, "this task reports through secure aggregation");
  fl::ClientUpdate u;
  st = fleet::ReadInt(body, "examples", 1, int64_t{1} << 40, &u.examples);
  if (st.ok()) st = fleet::ReadInt(body, "steps", 0, int64_t{1} << 40, &u.steps);
  if (st.ok()) st = fleet::ReadNumber(body, "train_loss", -1e30, 1e30, &u.train_loss);
  if (!st.ok()) return FromStatus(st);
  auto delta = fleet::FloatsFromBase64(StringOr(body, "delta"), t->shape.delta);
  auto states = fleet::FloatsFromBase64(StringOr(body, "states"), t->shape.states);
  if (!delta.ok() || !states.ok()) return Error(400, "\"delta\" and \"states\" are base64 float32");
  u.delta = std::move(*delta);
  u.states = std::move(*states);
  const double now = Now();
  fl::ReportResult r = t->coord->Report(device, round, static_cast<int>(attempt), u, now);
  Drive(*t, now);
  Json j = {{"accepted", r.accepted}, {"retry_after_s", r.retry_after_s}};
  if (!r.accepted) j["reason"] = r.reason;
  return {r.accepted ? 200 : 409, j};
}

FlReply FlService::Abandon(const std::string& task, const std::string& device, const Json& body) {
  auto t = Find(task);
  if (!t) return Error(404, "task " + task + " not found");
  int64_t round = 0, attempt = 0;
  Status st = ReadRoundAttempt(body, &round, &attempt);
  if (!st.ok()) return FromStatus(st);
  std::lock_guard<std::mutex> lock(t->mu);
  const double now = Now();
  // A device whose masked input is in the secure sum counts whatever it says now.
  const bool in_sum =
      t->sa && t->sa->round == round && t->sa->attempt == attempt && t->sa->reports.count(device);
  if (!in_sum) t->coord->Abandon(device, round, static_cast<int>(attempt), now);
  Drive(*t, now);
  return {200, {{"abandoned", true}}};
}

}  // namespace tern::hub
