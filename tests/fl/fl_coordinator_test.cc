// The coordinator's round protocol on a virtual clock: selection with over-selection and
// eligibility, pace steering, closing at the goal count or the deadline, drop-outs, failed and
// retried rounds, stragglers, and the published model version.
#include <gtest/gtest.h>

#include "fl/coordinator.h"
#include "fl/local_trainer.h"
#include "onnx/initializer_update.h"

namespace tern::fl {
namespace {

// "c<i>". (Built with append: GCC 12 at -O3 warns falsely (-Wrestrict) on "c" + to_string.)
std::string ClientId(size_t i) {
  std::string id = "c";
  id.append(std::to_string(i));
  return id;
}

class FlCoordinator : public ::testing::Test {
 protected:
  void SetUp() override {
    onnx_ = onnx::BuildImageMlp(5, 2, 0, 2);  // softmax regression on 2x2 images: 10 values
    trainer_ = LocalTrainer::Create(onnx_).value();
    task_.round.goal_count = 4;
    task_.round.over_selection = 1.5;  // selects 6
    task_.round.min_reports = 2;
    task_.round.selection_timeout_s = 10;
    task_.round.deadline_s = 100;
    task_.round.max_attempts = 2;
    task_.population = 20;
  }

  std::unique_ptr<Coordinator> Make(double now = 0) {
    auto c = Coordinator::Create(task_, onnx_, trainer_->params(), trainer_->states(),
                                 trainer_->initial_params(), trainer_->initial_states(),
                                 std::make_unique<PlainSum>(), 7, now);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return std::move(c).value();
  }

  static DeviceState Ready(int64_t examples = 10) {
    DeviceState s;
    s.examples = examples;
    return s;
  }

  ClientUpdate Upd(float value, int64_t examples) const {
    ClientUpdate u;
    u.delta.assign(trainer_->params().size, value);
    u.examples = examples;
    return u;
  }

  // Checks in clients c0..c{n-1} at `now`; returns how many were accepted.
  static int CheckInMany(Coordinator& c, int n, double now, int first = 0) {
    int accepted = 0;
    for (int i = first; i < first + n; ++i)
      if (c.CheckIn(ClientId(i), Ready(), now).outcome == CheckInResult::Outcome::kAccepted)
        ++accepted;
    return accepted;
  }

  std::string onnx_;
  std::unique_ptr<LocalTrainer> trainer_;
  FlTask task_;
};

TEST_F(FlCoordinator, SelectsGoalTimesOverSelectionThenRejectsWithRetryTime) {
  auto c = Make();
  EXPECT_EQ(CheckInMany(*c, 6, 1.0), 6);
  EXPECT_EQ(c->phase(), Coordinator::Phase::kReporting);
  EXPECT_DOUBLE_EQ(c->deadline(), 101.0);
  CheckInResult late = c->CheckIn("c6", Ready(), 2.0);
  EXPECT_EQ(late.outcome, CheckInResult::Outcome::kRejected);
  EXPECT_EQ(late.reason, "round in progress");
  // Pace steering: come back when the next selection opens (at the latest the deadline), plus
  // a spread over the first half of the selection window.
  EXPECT_GT(late.retry_after_s, 0);
  EXPECT_LE(late.retry_after_s, 101.0 - 2.0 + 5.0);
}

TEST_F(FlCoordinator, EligibilityComesFromDeviceState) {
  auto c = Make();
  DeviceState s = Ready();
  s.charging = false;
  CheckInResult r = c->CheckIn("a", s, 0);
  EXPECT_EQ(r.outcome, CheckInResult::Outcome::kIneligible);
  EXPECT_EQ(r.reason, "not charging");
  EXPECT_GT(r.retry_after_s, 0);
  s = Ready();
  s.unmetered = false;
  EXPECT_EQ(c->CheckIn("a", s, 0).reason, "on a metered network");
  EXPECT_EQ(c->CheckIn("a", Ready(0), 0).outcome, CheckInResult::Outcome::kIneligible);
  task_.eligibility.require_charging = false;
  auto relaxed = Make();
  s = Ready();
  s.charging = false;
  EXPECT_EQ(relaxed->CheckIn("a", s, 0).outcome, CheckInResult::Outcome::kAccepted);
  EXPECT_EQ(relaxed->CheckIn("a", s, 0).reason, "already selected for this round");
}

TEST_F(FlCoordinator, ClosesAtGoalCountWithWeightedMeanAndRefusesStragglers) {
  auto c = Make();
  ASSERT_EQ(CheckInMany(*c, 6, 0), 6);
  const std::vector<float> before = c->model()->params;
  // Four reports reach the goal: +1 with 10 examples (x3) and -1 with 30 examples.
  EXPECT_TRUE(c->Report("c0", 1, 1, Upd(1, 10), 5).accepted);
  EXPECT_TRUE(c->Report("c1", 1, 1, Upd(1, 10), 6).accepted);
  EXPECT_TRUE(c->Report("c2", 1, 1, Upd(1, 10), 7).accepted);
  EXPECT_EQ(c->phase(), Coordinator::Phase::kReporting);
  EXPECT_TRUE(c->Report("c3", 1, 1, Upd(-1, 30), 8).accepted);
  // Closed early (goal count), well before the deadline; the next round is selecting.
  EXPECT_EQ(c->phase(), Coordinator::Phase::kSelecting);
  EXPECT_EQ(c->round(), 2);
  ASSERT_EQ(c->history().size(), 1u);
  const RoundRecord& rec = c->history()[0];
  EXPECT_TRUE(rec.committed);
  EXPECT_EQ(rec.reports, 4);
  EXPECT_EQ(rec.missing, 2);
  EXPECT_EQ(rec.examples, 60);
  EXPECT_EQ(c->model()->version, 1);
  const float mean = (3 * 10 * 1.0f + 30 * -1.0f) / 60;  // = 0
  for (size_t i = 0; i < before.size(); ++i)
    EXPECT_FLOAT_EQ(c->model()->params[i], before[i] + mean);
  // A fifth report for the closed round is refused and counted as late.
  ReportResult late = c->Report("c4", 1, 1, Upd(5, 10), 9);
  EXPECT_FALSE(late.accepted);
  EXPECT_EQ(c->history()[0].late, 1);
  EXPECT_EQ(c->model()->version, 1);
}

TEST_F(FlCoordinator, DeadlineCommitsWithMinimumReportsAndCountsDropouts) {
  auto c = Make();
  ASSERT_EQ(CheckInMany(*c, 6, 0), 6);
  EXPECT_TRUE(c->Report("c0", 1, 1, Upd(2, 10), 5).accepted);
  EXPECT_TRUE(c->Report("c1", 1, 1, Upd(4, 10), 6).accepted);
  EXPECT_TRUE(c->Report("c2", 1, 1, Upd(6, 20), 7).accepted);
  ASSERT_TRUE(c->Advance(99.9).ok());
  EXPECT_EQ(c->phase(), Coordinator::Phase::kReporting);  // waits for the deadline
  ASSERT_TRUE(c->Advance(100.0).ok());
  ASSERT_EQ(c->history().size(), 1u);
  EXPECT_TRUE(c->history()[0].committed);
  EXPECT_EQ(c->history()[0].missing, 3);  // three clients vanished
  const float mean = (2 * 10 + 4 * 10 + 6 * 20) / 40.0f;
  EXPECT_FLOAT_EQ(c->model()->params[0], trainer_->initial_params()[0] + mean);
}

TEST_F(FlCoordinator, TooFewReportsFailTheAttemptAndTheRoundIsRetried) {
  auto c = Make();
  ASSERT_EQ(CheckInMany(*c, 6, 0), 6);
  EXPECT_TRUE(c->Report("c0", 1, 1, Upd(1, 10), 5).accepted);
  ASSERT_TRUE(c->Advance(100.0).ok());
  ASSERT_EQ(c->history().size(), 1u);
  EXPECT_FALSE(c->history()[0].committed);
  EXPECT_NE(c->history()[0].failure.find("fewer than the minimum"), std::string::npos);
  EXPECT_EQ(c->model()->version, 0);  // nothing from the failed attempt leaks into the model
  EXPECT_EQ(c->round(), 1);
  EXPECT_EQ(c->attempt(), 2);
  EXPECT_EQ(c->phase(), Coordinator::Phase::kSelecting);
  // A report for the failed attempt is refused.
  EXPECT_FALSE(c->Report("c1", 1, 1, Upd(1, 10), 101).accepted);
  // The second attempt fails too: max_attempts = 2 ends the task.
  ASSERT_EQ(CheckInMany(*c, 6, 101), 6);
  ASSERT_TRUE(c->Advance(300).ok());
  EXPECT_EQ(c->phase(), Coordinator::Phase::kFailed);
  EXPECT_NE(c->end_reason().find("failed 2 times"), std::string::npos);
  EXPECT_EQ(c->CheckIn("c9", Ready(), 301).outcome, CheckInResult::Outcome::kTaskDone);
}

TEST_F(FlCoordinator, SelectionTimeoutWithTooFewDevicesRetries) {
  auto c = Make();
  EXPECT_EQ(CheckInMany(*c, 1, 0), 1);
  ASSERT_TRUE(c->Advance(10.0).ok());
  ASSERT_EQ(c->history().size(), 1u);
  EXPECT_EQ(c->history()[0].failure, "only 1 devices selected");
  EXPECT_EQ(c->attempt(), 2);
  // Enough devices by the timeout: the round proceeds with fewer than the target.
  EXPECT_EQ(CheckInMany(*c, 3, 11), 3);
  ASSERT_TRUE(c->Advance(21.0).ok());
  EXPECT_EQ(c->phase(), Coordinator::Phase::kReporting);
  EXPECT_EQ(c->cohort().size(), 3u);
}

TEST_F(FlCoordinator, ClosesWhenEveryClientReportedOrGaveUp) {
  auto c = Make();
  ASSERT_EQ(CheckInMany(*c, 6, 0), 6);
  EXPECT_TRUE(c->Report("c0", 1, 1, Upd(1, 10), 5).accepted);
  EXPECT_TRUE(c->Report("c1", 1, 1, Upd(1, 10), 5).accepted);
  EXPECT_TRUE(c->Report("c2", 1, 1, Upd(1, 10), 5).accepted);
  for (const char* id : {"c3", "c4"}) c->Abandon(id, 1, 1, 6);
  EXPECT_EQ(c->phase(), Coordinator::Phase::kReporting);
  c->Abandon("c5", 1, 1, 7);
  EXPECT_EQ(c->phase(), Coordinator::Phase::kSelecting);  // no need to wait for the deadline
  EXPECT_EQ(c->history()[0].abandoned, 3);
  EXPECT_DOUBLE_EQ(c->history()[0].closed_at, 7);
}

TEST_F(FlCoordinator, RefusesReportsFromOutsideTheCohortAndDuplicates) {
  auto c = Make();
  ASSERT_EQ(CheckInMany(*c, 6, 0), 6);
  EXPECT_FALSE(c->Report("stranger", 1, 1, Upd(1, 10), 5).accepted);
  EXPECT_FALSE(c->Report("c0", 1, 2, Upd(1, 10), 5).accepted);  // wrong attempt
  EXPECT_TRUE(c->Report("c0", 1, 1, Upd(1, 10), 5).accepted);
  EXPECT_EQ(c->Report("c0", 1, 1, Upd(1, 10), 5).reason, "already reported");
  ClientUpdate wrong = Upd(1, 10);
  wrong.delta.pop_back();
  ReportResult r = c->Report("c1", 1, 1, wrong, 5);
  EXPECT_FALSE(r.accepted);
  EXPECT_NE(r.reason.find("update refused"), std::string::npos);
}

TEST_F(FlCoordinator, ReportsDuringSelectionWaitForTheCohort) {
  auto c = Make();
  ASSERT_EQ(CheckInMany(*c, 3, 0), 3);
  EXPECT_TRUE(c->Report("c0", 1, 1, Upd(3, 10), 2).accepted);
  EXPECT_EQ(c->phase(), Coordinator::Phase::kSelecting);
  ASSERT_TRUE(c->Advance(10).ok());  // selection ends with 3; c0's report is summed then
  EXPECT_TRUE(c->Report("c1", 1, 1, Upd(1, 10), 12).accepted);
  c->Abandon("c2", 1, 1, 13);
  ASSERT_EQ(c->history().size(), 1u);
  EXPECT_TRUE(c->history()[0].committed);
  EXPECT_FLOAT_EQ(c->model()->params[0], trainer_->initial_params()[0] + 2.0f);
}

TEST_F(FlCoordinator, PaceSteeringKeepsRecentParticipantsAway) {
  task_.round.min_rejoin_s = 500;
  auto c = Make();
  ASSERT_EQ(CheckInMany(*c, 6, 0), 6);
  ReportResult r = c->Report("c0", 1, 1, Upd(1, 10), 5);
  ASSERT_TRUE(r.accepted);
  EXPECT_GE(r.retry_after_s, 500);
  for (int i = 1; i < 4; ++i) ASSERT_TRUE(c->Report(ClientId(i), 1, 1, Upd(1, 10), 6).accepted);
  ASSERT_EQ(c->round(), 2);
  CheckInResult again = c->CheckIn("c0", Ready(), 7);
  EXPECT_EQ(again.outcome, CheckInResult::Outcome::kRejected);
  EXPECT_EQ(again.reason, "took part recently");
  EXPECT_DOUBLE_EQ(again.retry_after_s, 498);
  EXPECT_EQ(c->CheckIn("c5", Ready(), 7).outcome, CheckInResult::Outcome::kAccepted);
}

TEST_F(FlCoordinator, EachCommittedRoundPublishesAnOnnxVersion) {
  task_.max_rounds = 2;
  auto c = Make();
  for (int round = 1; round <= 2; ++round) {
    const double t = round * 2.0;  // inside the selection window of each round
    ASSERT_EQ(CheckInMany(*c, 6, t), 6);
    Assignment a = c->CheckIn("zz", Ready(), t).assignment;  // rejected: no assignment
    EXPECT_EQ(a.model, nullptr);
    for (int i = 0; i < 4; ++i)
      ASSERT_TRUE(c->Report(ClientId(i), round, 1, Upd(0.25f * round, 10), t + 1).accepted);
  }
  EXPECT_EQ(c->phase(), Coordinator::Phase::kDone);
  EXPECT_EQ(c->model()->version, 2);
  // The published bytes are a model whose initializers hold the new global parameters.
  auto reloaded = LocalTrainer::Create(c->model()->onnx);
  ASSERT_TRUE(reloaded.ok()) << reloaded.status().ToString();
  EXPECT_EQ(reloaded.value()->initial_params(), c->model()->params);
  EXPECT_FLOAT_EQ(c->model()->params[3], trainer_->initial_params()[3] + 0.75f);
  EXPECT_EQ(c->CheckIn("c0", Ready(), 1000).outcome, CheckInResult::Outcome::kTaskDone);
}

TEST_F(FlCoordinator, RejectsInvalidTasks) {
  task_.round.min_reports = 5;  // above the goal count
  auto c = Coordinator::Create(task_, onnx_, trainer_->params(), trainer_->states(),
                               trainer_->initial_params(), trainer_->initial_states(),
                               std::make_unique<PlainSum>(), 7, 0);
  EXPECT_FALSE(c.ok());
  task_.round.min_reports = 2;
  task_.algorithm = Algorithm::kScaffold;
  task_.plan.momentum = 0.9f;
  EXPECT_FALSE(ValidateTask(task_).ok());
}

}  // namespace
}  // namespace tern::fl
