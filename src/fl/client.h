// The federated client: trains on its local data when the coordinator assigns it a round, and
// returns only its update (the change of the trainable parameters, clipped), its example count
// and, for SCAFFOLD, the change of its control variate. Transport-independent: the agent (or the
// simulation) carries assignments and updates.
//
// An interrupted round (the step guard says stop: deadline passed, device no longer idle, app
// cancelled) returns an error and leaves nothing behind: the client's persistent state (the
// SCAFFOLD control variate) changes only when the coordinator has accepted the report and the
// caller commits it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fl/local_trainer.h"
#include "fl/task.h"
#include "fl/update_sum.h"
#include "train/dataset.h"

namespace tern::fl {

/// A client's local examples: rows `indices` of a (possibly shared) data set.
struct ExampleSet {
  std::shared_ptr<const train::Dataset> data;
  std::vector<int64_t> indices;
};

/// Where a client's examples come from.
class DataSource {
 public:
  virtual ~DataSource() = default;
  virtual Result<ExampleSet> Open() = 0;
  /// Number of examples, for eligibility (may read the data).
  virtual Result<int64_t> Count() = 0;
};

/// A folder of examples in the backend-test layout (train/dataset.h: test_data_set_*/input_0.pb
/// with labels in input_1.pb); read on first use.
class FolderDataSource final : public DataSource {
 public:
  explicit FolderDataSource(std::string dir) : dir_(std::move(dir)) {}
  Result<ExampleSet> Open() override;
  Result<int64_t> Count() override;

 private:
  std::string dir_;
  std::shared_ptr<const train::Dataset> cached_;
};

/// Examples handed over by the host application.
class CallbackDataSource final : public DataSource {
 public:
  explicit CallbackDataSource(std::function<Result<train::Dataset>()> fetch)
      : fetch_(std::move(fetch)) {}
  Result<ExampleSet> Open() override;
  Result<int64_t> Count() override;

 private:
  std::function<Result<train::Dataset>()> fetch_;
};

/// Some rows of a shared data set (the simulation's non-IID shards).
class SubsetDataSource final : public DataSource {
 public:
  SubsetDataSource(std::shared_ptr<const train::Dataset> data, std::vector<int64_t> indices)
      : set_{std::move(data), std::move(indices)} {}
  Result<ExampleSet> Open() override { return set_; }
  Result<int64_t> Count() override { return static_cast<int64_t>(set_.indices.size()); }

 private:
  ExampleSet set_;
};

/// The global model a round starts from, as the coordinator publishes it.
struct GlobalModel {
  int64_t version = 0;
  std::string onnx;           ///< serialized ModelProto of this version
  std::vector<float> params;  ///< trainable values in the task's layout order
  std::vector<float> states;  ///< running statistics
};

/// What a selected client receives.
struct Assignment {
  std::string task;
  int64_t round = 0;
  int attempt = 1;
  Algorithm algorithm = Algorithm::kFedAvg;
  ClientPlan plan;
  std::shared_ptr<const GlobalModel> model;
  /// SCAFFOLD's server control variate c (null otherwise).
  std::shared_ptr<const std::vector<float>> server_control;
  double deadline = 0;  ///< absolute time after which the report is refused
};

/// Called before every optimizer step with the steps done so far; a non-ok status stops the
/// round (deadline, lost eligibility, cancellation) and is returned by Train.
using StepGuard = std::function<Status(int64_t steps_done)>;

/// The guard a device uses: stops once `clock()` has passed `deadline` or the device no longer
/// meets `rules` (the user picked the phone up, the charger or Wi-Fi went away).
StepGuard DeviceGuard(double deadline, std::function<double()> clock,
                      std::function<DeviceState()> state, EligibilityRules rules);

class FlClient {
 public:
  FlClient(std::string id, std::unique_ptr<DataSource> data)
      : id_(std::move(id)), data_(std::move(data)) {}
  const std::string& id() const { return id_; }
  DataSource& data() { return *data_; }

  /// Trains one round with `trainer` (built for the assignment's model architecture) and returns
  /// the update. `seed` shuffles the local data.
  Result<ClientUpdate> Train(const Assignment& a, LocalTrainer& trainer, const StepGuard& guard,
                             uint64_t seed);
  /// The coordinator accepted the report of (round, attempt): keep the staged control variate.
  void Commit(int64_t round, int attempt);
  /// Drops anything staged by Train (report refused or never sent).
  void Discard() { staged_.reset(); }
  /// SCAFFOLD's client control variate c_i (empty until the first committed round).
  const std::vector<float>& control() const { return control_; }

 private:
  struct Staged {
    int64_t round;
    int attempt;
    std::vector<float> control;
  };
  std::string id_;
  std::unique_ptr<DataSource> data_;
  std::vector<float> control_;
  std::unique_ptr<Staged> staged_;
};

/// FedProx's proximal term: grad += mu (w - w_global), over tensors laid out as `global` is.
Status AddProximalTerm(const std::vector<Tensor>& params, const std::vector<float>& global,
                       float mu, std::vector<Tensor>& grads);
/// SCAFFOLD's drift correction: grad += c - c_i (`correction` = c - c_i, flat).
Status AddCorrection(const std::vector<float>& correction, std::vector<Tensor>& grads);

}  // namespace tern::fl
