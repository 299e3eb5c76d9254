// The federated-learning wire schema (src/fleet/fl_wire.h): round trips, and malformed bodies
// that must come back as errors (never exceptions).
#include <gtest/gtest.h>

#include "fleet/fl_wire.h"

namespace tern::fleet {
namespace {

TEST(FlWire, PlanRoundTripsAndKeepsUnsetKeys) {
  fl::ClientPlan p;
  p.epochs = 3;
  p.batch = 17;
  p.learning_rate = 0.25f;
  p.prox_mu = 0.01f;
  p.clip_norm = 2.5f;
  p.max_steps = 40;
  auto back = ClientPlanFromJson(ClientPlanToJson(p));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->epochs, 3);
  EXPECT_EQ(back->batch, 17);
  EXPECT_EQ(back->learning_rate, 0.25f);
  EXPECT_EQ(back->prox_mu, 0.01f);
  EXPECT_EQ(back->clip_norm, 2.5f);
  EXPECT_EQ(back->max_steps, 40);
  auto partial = ClientPlanFromJson(Json{{"epochs", 5}}, p);
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ(partial->epochs, 5);
  EXPECT_EQ(partial->batch, 17);
}

TEST(FlWire, MalformedPlansAndStatesAreErrors) {
  for (const Json& bad :
       {Json{{"epochs", "2"}}, Json{{"epochs", 0}}, Json{{"batch", 1.5}},
        Json{{"learning_rate", -1}}, Json{{"momentum", 1.0}}, Json::array(), Json("plan")}) {
    EXPECT_FALSE(ClientPlanFromJson(bad).ok()) << bad.dump();
  }
  EXPECT_FALSE(DeviceStateFromJson(Json{{"idle", 1}}).ok());
  EXPECT_FALSE(DeviceStateFromJson(Json{{"examples", -3}}).ok());
  // What a device does not say is not met.
  auto quiet = DeviceStateFromJson(Json::object());
  ASSERT_TRUE(quiet.ok());
  EXPECT_FALSE(quiet->idle || quiet->charging || quiet->unmetered);
  auto said = DeviceStateFromJson(DeviceStateToJson(fl::DeviceState{true, true, true, 12}));
  ASSERT_TRUE(said.ok());
  EXPECT_TRUE(said->idle && said->charging && said->unmetered);
  EXPECT_EQ(said->examples, 12);
}

TEST(FlWire, SecAggConfigRoundTrips) {
  fl::SecAggConfig c;
  c.num_clients = 11;
  c.threshold = 6;
  c.vector_length = 25451;
  c.modulus_bits = 32;
  c.neighbors = 8;
  c.round_id = 1025;
  for (size_t i = 0; i < c.graph_seed.size(); ++i) c.graph_seed[i] = static_cast<uint8_t>(i * 7);
  auto back = SecAggConfigFromJson(SecAggConfigToJson(c));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->num_clients, 11u);
  EXPECT_EQ(back->threshold, 6u);
  EXPECT_EQ(back->vector_length, 25451u);
  EXPECT_EQ(back->neighbors, 8u);
  EXPECT_EQ(back->round_id, 1025u);
  EXPECT_EQ(back->graph_seed, c.graph_seed);
  Json short_seed = SecAggConfigToJson(c);
  short_seed["graph_seed"] = "AAAA";
  EXPECT_FALSE(SecAggConfigFromJson(short_seed).ok());
  Json too_wide = SecAggConfigToJson(c);
  too_wide["modulus_bits"] = 64;
  EXPECT_FALSE(SecAggConfigFromJson(too_wide).ok());
}

TEST(FlWire, FloatsRoundTripAndLimits) {
  const std::vector<float> v = {0.0f, -1.5f, 3.25e-7f, 1e30f};
  auto back = FloatsFromBase64(FloatsToBase64(v), 4);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, v);
  EXPECT_FALSE(FloatsFromBase64(FloatsToBase64(v), 1).ok());  // more than allowed
  EXPECT_FALSE(FloatsFromBase64("AAE=", 4).ok());             // 2 bytes: not a float
  EXPECT_FALSE(FloatsFromBase64("***", 4).ok());
}

TEST(FlWire, TrainingSeedDependsOnEveryPart) {
  const uint64_t s = FlTrainingSeed("t", 1, 1, "dev_a");
  EXPECT_EQ(s, FlTrainingSeed("t", 1, 1, "dev_a"));
  EXPECT_NE(s, FlTrainingSeed("t", 2, 1, "dev_a"));
  EXPECT_NE(s, FlTrainingSeed("t", 1, 2, "dev_a"));
  EXPECT_NE(s, FlTrainingSeed("t", 1, 1, "dev_b"));
  EXPECT_NE(s, FlTrainingSeed("u", 1, 1, "dev_a"));
}

}  // namespace
}  // namespace tern::fleet
