// Conditions beyond equals / in (ConfigSpace's NotEqualsCondition, GreaterThanCondition, LessThanCondition,
// AndConjunction, OrConjunction), in code and in space files.
#include <gtest/gtest.h>

#include <fstream>

#include "core/errors.hpp"
#include "space/catalog.hpp"
#include "space/space.hpp"
#include "test_util.hpp"

namespace fhist::space {
namespace {

using nlohmann::json;
using Op = Condition::Op;

// An optimizer space as Optuna / ConfigSpace users write it: momentum only for sgd at small learning rates (AND of
// two parents), warmup for adam or at large learning rates (OR), beta2 unless the optimizer is sgd (not equals),
// dropout only for a network deeper than one layer (an integer compared).
const char* kOptimizerSpace = R"({"name": "optim", "params": [
  {"name": "opt", "type": "categorical", "choices": ["sgd", "adam", "rmsprop"]},
  {"name": "lr", "type": "float", "low": 0.001, "high": 1, "log": true},
  {"name": "momentum", "type": "float", "low": 0.5, "high": 0.99,
   "condition": [{"param": "opt", "equals": "sgd"}, {"param": "lr", "less_than": 0.1}]},
  {"name": "warmup", "type": "int", "low": 0, "high": 5,
   "condition": {"any": [{"param": "opt", "equals": "adam"}, {"param": "lr", "greater_than": 0.5}]}},
  {"name": "beta2", "type": "float", "low": 0.9, "high": 0.999, "condition": {"param": "opt", "not_equals": "sgd"}},
  {"name": "layers", "type": "int", "low": 1, "high": 4},
  {"name": "dropout", "type": "float", "low": 0, "high": 0.5, "condition": {"param": "layers", "greater_than": 1}}]})";

TEST(Condition, ComparisonsAndConjunctionsDecideWhatIsDrawn) {
  const SearchSpace s = SearchSpace::from_json(json::parse(kOptimizerSpace), "optim.json");
  Rng rng(17);
  int momentum = 0, warmup = 0, beta2 = 0, dropout = 0;
  const int n = 3000;
  for (int i = 0; i < n; ++i) {
    const Config c = s.sample(rng);
    ASSERT_NO_THROW(s.validate(c)) << c.to_string();
    const std::string opt = c.get_string("opt");
    const double lr = c.get_double("lr");
    ASSERT_EQ(c.has("momentum"), opt == "sgd" && lr < 0.1) << c.to_string();
    ASSERT_EQ(c.has("warmup"), opt == "adam" || lr > 0.5) << c.to_string();
    ASSERT_EQ(c.has("beta2"), opt != "sgd") << c.to_string();
    ASSERT_EQ(c.has("dropout"), c.get_int("layers") > 1) << c.to_string();
    momentum += c.has("momentum");
    warmup += c.has("warmup");
    beta2 += c.has("beta2");
    dropout += c.has("dropout");
  }
  // lr is log-uniform on [0.001, 1]: P(lr < 0.1) = 2/3, P(lr > 0.5) = 0.100; opt is uniform over three.
  EXPECT_NEAR(momentum / double(n), 1.0 / 3 * 2.0 / 3, 0.03);
  EXPECT_NEAR(warmup / double(n), 1.0 / 3 + 2.0 / 3 * 0.1003, 0.03);
  EXPECT_NEAR(beta2 / double(n), 2.0 / 3, 0.03);
  EXPECT_NEAR(dropout / double(n), 0.75, 0.03);
}

TEST(Condition, ValidateSaysWhichClausesFailed) {
  const SearchSpace s = SearchSpace::from_json(json::parse(kOptimizerSpace), "optim.json");
  const Config ok({{"opt", "sgd"}, {"lr", 0.05}, {"momentum", 0.9}, {"layers", 1}});
  EXPECT_NO_THROW(s.validate(ok));
  Config big = ok;
  big.set("lr", 0.2);
  FHIST_EXPECT_INPUT_ERROR(
      s.validate(big),
      "'momentum' is set, but it applies only when 'opt' is \"sgd\" and 'lr' < 0.1 ('opt' is \"sgd\", 'lr' is 0.2)");
  // lr 0.7 turns warmup on, which is then missing.
  Config warm({{"opt", "sgd"}, {"lr", 0.7}, {"layers", 1}});
  FHIST_EXPECT_INPUT_ERROR(s.validate(warm), "'warmup' is missing");
  warm.set("warmup", 2);
  EXPECT_NO_THROW(s.validate(warm));
  Config sgd_warm({{"opt", "sgd"}, {"lr", 0.05}, {"momentum", 0.9}, {"layers", 1}, {"warmup", 1}});
  FHIST_EXPECT_INPUT_ERROR(s.validate(sgd_warm), "only when 'opt' is \"adam\" or 'lr' > 0.5");
  Config adam({{"opt", "adam"}, {"lr", 0.05}, {"layers", 2}, {"dropout", 0.1}, {"warmup", 0}});
  FHIST_EXPECT_INPUT_ERROR(s.validate(adam), "'beta2' is missing");
  adam.set("beta2", 0.95);
  EXPECT_NO_THROW(s.validate(adam));
  adam.set("layers", 1);
  FHIST_EXPECT_INPUT_ERROR(s.validate(adam), "'dropout' is set, but it applies only when 'layers' > 1 ('layers' is 1)");
}

TEST(Condition, RoundTripsThroughJsonFilesAndEncoding) {
  const SearchSpace s = SearchSpace::from_json(json::parse(kOptimizerSpace), "optim.json");
  const auto& m = s.param("momentum");
  ASSERT_EQ(m.conditions.size(), 2u);
  EXPECT_FALSE(m.any_condition);
  EXPECT_EQ(m.conditions[1].op, Op::kLess);
  EXPECT_EQ(m.conditions[1].bound, 0.1);
  EXPECT_TRUE(s.param("warmup").any_condition);
  EXPECT_EQ(s.param("beta2").conditions[0].op, Op::kNotIn);

  const json j = s.to_json();
  EXPECT_EQ(j["params"][2]["condition"].size(), 2u);
  EXPECT_TRUE(j["params"][3]["condition"].contains("any"));
  EXPECT_EQ(j["params"][4]["condition"]["not_in"], json::array({"sgd"}));
  EXPECT_EQ(j["params"][6]["condition"]["greater_than"], 1.0);
  const SearchSpace back = SearchSpace::from_json(j);
  EXPECT_EQ(back.to_json(), j);

  testing::TempDir dir;
  std::ofstream(dir.str("optim.json")) << j.dump(1);
  const SearchSpace f = SearchSpace::from_file(dir.str("optim.json"));
  Rng a(3), b(3);
  for (int i = 0; i < 200; ++i) {
    const Config c = s.sample(a);
    ASSERT_EQ(f.sample(b), c);
    // The model-based samplers' encoding: an inactive parameter is NaN and decode leaves it out.
    ASSERT_EQ(s.decode(s.encode(c)).values().size(), c.values().size()) << c.to_string();
  }
}

TEST(Condition, ANetworksOwnParameterFollowsTheModelThroughEveryClause) {
  const Param model = Param::categorical("model", {"cnn", "mlp", "resnet18"});
  Param depth = Param::integer("depth", 1, 4);
  depth.conditions = {Condition{"model", {"cnn", "resnet18"}, Op::kNotIn}};
  EXPECT_NO_THROW(check_space_params(SearchSpace("s", {model, depth})));
  depth.conditions = {Condition{"model", {"cnn"}, Op::kNotIn}};
  FHIST_EXPECT_INPUT_ERROR(check_space_params(SearchSpace("s", {model, depth})), "when model is \"resnet18\"");
  // AND: the mlp, and only above some learning rate; OR: the mlp, or a large learning rate (any model).
  Param lr = Param::real("lr", 0.01, 1.0, true);
  depth.conditions = {Condition{"model", {"mlp"}}, Condition{"lr", {}, Op::kGreater, 0.1}};
  EXPECT_NO_THROW(check_space_params(SearchSpace("s", {model, lr, depth})));
  depth.any_condition = true;
  FHIST_EXPECT_INPUT_ERROR(check_space_params(SearchSpace("s", {model, lr, depth})), "'depth' belongs to the mlp");
  // Nested: the mlp, or (the cnn and a large learning rate) lets a cnn row draw depth; the mlp and (a small or a large
  // learning rate) does not.
  depth.any_condition = false;
  depth.conditions = {
      Condition::any_of({Condition{"model", {"mlp"}},
                         Condition::all_of({Condition{"model", {"cnn"}}, Condition{"lr", {}, Op::kGreater, 0.1}})})};
  FHIST_EXPECT_INPUT_ERROR(check_space_params(SearchSpace("s", {model, lr, depth})), "when model is \"cnn\"");
  depth.conditions = {Condition::all_of(
      {Condition{"model", {"mlp"}},
       Condition::any_of({Condition{"lr", {}, Op::kGreater, 0.5}, Condition{"lr", {}, Op::kLess, 0.05}})})};
  EXPECT_NO_THROW(check_space_params(SearchSpace("s", {model, lr, depth})));
  // Through a chain: dropout when depth > 1, depth only for the mlp.
  depth.conditions = {Condition{"model", {"mlp"}}};
  depth.any_condition = false;
  Param dropout = Param::real("dropout", 0.0, 0.5);
  dropout.conditions = {Condition{"depth", {}, Op::kGreater, 1}};
  EXPECT_NO_THROW(check_space_params(SearchSpace("s", {model, depth, dropout})));
}

TEST(Condition, BadClausesNameTheirField) {
  const std::string head = R"({"params": [{"name": "m", "type": "categorical", "choices": ["x", "y"]},
    {"name": "n", "type": "int", "low": 1, "high": 4}, {"name": "f", "type": "float", "low": 0, "high": 1},
    {"name": "b", "type": "float", "low": 0, "high": 1, "condition": )";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"param": "m", "greater_than": 1})", "params[3].condition.param: 'm' has a choice that is not a number"},
      {R"({"param": "n", "greater_than": "2"})", "params[3].condition.greater_than: expected a number"},
      {R"({"param": "n", "greater_than": 4})", "params[3].condition.greater_than: never holds: 'n' is at most 4"},
      {R"({"param": "f", "less_than": 0})", "params[3].condition.less_than: never holds: 'f' is at least 0"},
      {R"({"param": "f", "not_in": [0.5]})", "params[3].condition.param: 'f' is a float"},
      {R"({"param": "m", "not_in": ["x", "y"]})", "params[3].condition.not_in: never holds"},
      {R"({"param": "n", "not_in": [1, 2, 3, 4.0, 4]})", "params[3].condition.not_in: never holds"},
      {R"({"param": "m", "not_equals": "z"})", "params[3].condition.not_in[0]: \"z\" is not a value of 'm'"},
      {R"({"param": "n", "greater_than": 1, "less_than": 3})", "params[3].condition: expected exactly one"},
      {R"({"param": "n"})", "params[3].condition: expected one of equals, in"},
      {R"([])", "params[3].condition: expected a non-empty list of clauses"},
      {R"([{"param": "n", "greater_than": 1}, {"param": "q", "equals": 1}])",
       "params[3].condition[1].param: unknown parameter 'q'"},
      {R"({"any": [{"param": "n", "greater_than": 1}, {"param": "m", "in": ["x", 3]}]})",
       "params[3].condition.any[1].in[1]: 3 is not a value of 'm'"},
      {R"({"any": [{"param": "n", "gt": 1}]})", "params[3].condition.any[0].gt: unknown field"},
      {R"({"any": [], "param": "m"})", "params[3].condition: an object with \"any\" takes nothing else"},
      {R"({"any": {"param": "n", "greater_than": 1}})", "params[3].condition.any: expected a non-empty list"},
      // groups nested in a list: {"all": [...]} / {"any": [...]} as a clause
      {R"({"any": [{"param": "n", "greater_than": 1}, {"all": [{"param": "m", "equals": "x"}, {"param": "q", "equals": 1}]}]})",
       "params[3].condition.any[1].all[1].param: unknown parameter 'q'"},
      {R"({"all": [{"param": "n", "less_than": 3}, {"any": []}]})",
       "params[3].condition.all[1].any: expected a non-empty list of clauses"},
      {R"([{"all": [{"param": "n", "greater_than": 1}], "param": "m"}])",
       "params[3].condition[0]: an object with \"all\" takes nothing else"},
      {R"({"all": [{"any": [{"param": "n", "greater_than": 4}]}]})",
       "params[3].condition.all[0].any[0].greater_than: never holds: 'n' is at most 4"},
  };
  for (const auto& [condition, expected] : cases) {
    const std::string text = head + condition + "}]}";
    FHIST_EXPECT_INPUT_ERROR(SearchSpace::from_json(json::parse(text), "s.json"), "s.json: " + expected);
  }
  // 4 and 4.0 are one value: n can still be 1..3.
  EXPECT_NO_THROW(SearchSpace::from_json(json::parse(head + R"({"param": "n", "not_in": [4, 4.0, 3, 2]})" + "}]}")));
  // A forbidden combination built in code takes equals / in clauses only.
  FHIST_EXPECT_INPUT_ERROR(
      SearchSpace("s", {Param::integer("n", 1, 4)}, {}, {Forbidden{{Condition{"n", {}, Op::kGreater, 2}}}}),
      "forbidden[0].n: a forbidden combination takes equals / in clauses only");
}

}  // namespace
}  // namespace fhist::space
